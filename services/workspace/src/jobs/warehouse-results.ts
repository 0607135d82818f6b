import type { RunEvent } from '@datalinx/contracts';
import type { WarehouseDao, WarehouseStatusValue } from '../daos/warehouse.dao';

/**
 * A warehouse job's terminal run event → the warehouse's status: provision SUCCESS → READY,
 * purge SUCCESS → PURGED, any FAILURE (or CANCELED) → FAILED with the reason. Only the
 * warehouse's latest run counts (WarehouseDao.recordRunResult), inside the event's org.
 * Returns undefined for events that are not warehouse results (the caller handles those).
 */
export async function applyWarehouseRunResult(
  dao: WarehouseDao,
  ev: RunEvent,
): Promise<{ runId: string; status: WarehouseStatusValue; updated: number } | undefined> {
  if (ev.type !== 'run.state' || (ev.kind !== 'warehouse.provision' && ev.kind !== 'warehouse.purge')) return undefined;
  if (ev.state !== 'SUCCESS' && ev.state !== 'FAILURE' && ev.state !== 'CANCELED') return undefined;
  const ok = ev.state === 'SUCCESS';
  const status: WarehouseStatusValue = ok ? (ev.kind === 'warehouse.purge' ? 'PURGED' : 'READY') : 'FAILED';
  const what = ev.kind === 'warehouse.purge' ? 'Purging the warehouse' : 'Provisioning the warehouse';
  const error = ok ? null : `${what} failed: ${ev.error?.message ?? (ev.state === 'CANCELED' ? 'the run was canceled.' : 'no reason was reported.')}`;
  const updated = await dao.recordRunResult(ev.orgId, ev.workspaceId, ev.runId, { status, error });
  return { runId: ev.runId, status, updated };
}
