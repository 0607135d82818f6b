import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { runEvent, STREAMS, TERMINAL_RUN_STATES, type RunEvent } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { ConnectionDao } from '../daos/connection.dao';
import type { ActiveRunDao } from '../daos/active-run.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import { applyWarehouseRunResult } from './warehouse-results';

function parse(_subject: string, data: Uint8Array): RunEvent {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('run event is not JSON');
  }
  const parsed = runEvent.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid run event: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Consumes the terminal run.state events from RUNS (SUCCESS, FAILURE, CANCELED), for two things:
 * - any run this service dispatched stops counting against the workspace's concurrent-runs quota
 *   (its `workspace.active_run` row is deleted; runs it never tracked delete nothing);
 * - a connection.test run sets its connection's status, but only for the connection's latest run.
 * Idempotent by construction — a redelivered event deletes nothing more and sets the same values
 * again — and every write runs inside the event's tenant.
 */
export async function startConnectionTestResultsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: ConnectionDao;
  activeRuns: ActiveRunDao;
  /** Warehouse provision/purge results (./warehouse-results.ts). */
  warehouses: WarehouseDao;
  log: Logger;
  durable: string;
  /** Kicks the outbox relay after a result wrote an event (workspace.connection.failed.v1). */
  onOutboxCommit?: () => void;
}): Promise<StreamConsumer<RunEvent>> {
  const consumer = new StreamConsumer<RunEvent>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.RUNS.name,
    durable: o.durable,
    filterSubject: 'runs.>',
    concurrency: 4,
    ackWaitMs: 30000,
    maxDeliver: 10,
    what: 'connection test results',
    parse,
    apply: async (ev) => {
      if (ev.type !== 'run.state' || !TERMINAL_RUN_STATES.includes(ev.state)) return;
      const released = await o.activeRuns.remove(ev.orgId, ev.runId);
      const warehouse = await applyWarehouseRunResult(o.warehouses, ev);
      if (warehouse) return { ...warehouse, released };
      if (ev.kind !== 'connection.test' || (ev.state !== 'SUCCESS' && ev.state !== 'FAILURE')) return { runId: ev.runId, state: ev.state, released };
      // HEALTHY → FAILING also writes workspace.connection.failed.v1 to the outbox (alerting).
      const { updated, failedEvent } = await o.dao.recordTestResult(ev.orgId, ev.runId, {
        status: ev.state === 'SUCCESS' ? 'HEALTHY' : 'FAILING',
        at: new Date(ev.at),
        error: ev.state === 'FAILURE' ? (ev.error?.message ?? 'The test failed.') : null,
      });
      if (failedEvent) o.onOutboxCommit?.();
      return { runId: ev.runId, state: ev.state, updated, released };
    },
  });
  await consumer.start();
  return consumer;
}
