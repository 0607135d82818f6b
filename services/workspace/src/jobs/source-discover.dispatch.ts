import type { EntityManager } from 'typeorm';
import type { Sealed } from '@datalinx/common';
import { DEFAULT_EXACT_COUNT_MAX_BYTES, type DiscoveryScope, type JobLimits } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection } from '../entities/connection.entity';
import { configOf } from '../managers/connection-config';
import type { WorkspaceSealed } from '../secrets/keyring';
import type { JobDispatchSettings } from './job-dispatch-settings';
import { dispatchSourceJob } from './source-job.dispatch';

/** Rows sampled per table for the column profiles unless the caller says otherwise. */
export const DEFAULT_PROFILE_SAMPLE_ROWS = 10_000;

/**
 * Writes one `source.discover` job into the caller's tenant transaction, where `conn` (a
 * connection) is already locked: the connection's config and its secrets,
 * re-sealed for the data plane with the job id as additional data, and the run's QUEUED event go
 * to the outbox (`dispatchSourceJob`, shared with source.sync). The run id is the caller's (it
 * admitted the run through QuotaPolicy first).
 */
export async function dispatchSourceDiscovery(
  em: EntityManager,
  dao: ConnectionDao,
  s: JobDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | Sealed | null },
  o: { runId: string; requestedBy: string; scope: DiscoveryScope; limits?: JobLimits; profileSampleRows?: number },
): Promise<{ jobId: string; runId: string }> {
  const config = configOf(conn.type, conn.config);
  return dispatchSourceJob(em, dao, s, conn, {
    kind: 'source.discover',
    runId: o.runId,
    requestedBy: o.requestedBy,
    ...(o.limits ? { limits: o.limits } : {}),
    payload: (secrets) => ({
      connectionId: conn.id,
      config,
      secrets,
      scope: o.scope,
      profileSampleRows: o.profileSampleRows ?? DEFAULT_PROFILE_SAMPLE_ROWS,
      timeoutMs: 60_000,
      exactCountMaxBytes: DEFAULT_EXACT_COUNT_MAX_BYTES,
    }),
  });
}
