import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { seal, type Sealed } from '@datalinx/common';
import { enqueueOutbox } from '@datalinx/messaging';
import { jobSubject, runSubject, type DiscoveryScope, type JobLimits, type RunStateChangedV1, type SourceDiscoverJobV1 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection } from '../entities/connection.entity';
import { configOf } from '../managers/connection-config';
import type { WorkspaceSealed } from '../secrets/keyring';
import type { TestDispatchSettings } from './connection-test.dispatch';

/** Rows sampled per table for the column profiles unless the caller says otherwise. */
export const DEFAULT_PROFILE_SAMPLE_ROWS = 10_000;

/**
 * Writes one `source.discover` job into the caller's tenant transaction, where `conn` (a
 * POSTGRES or MYSQL connection) is already locked: the connection's config and its secrets,
 * re-sealed for the data plane with the job id as additional data (the same re-sealing as
 * connection.test), and the run's QUEUED event go to the outbox; the relay publishes them after
 * commit. The run id is the caller's (it admitted the run through QuotaPolicy first).
 */
export async function dispatchSourceDiscovery(
  em: EntityManager,
  dao: ConnectionDao,
  s: TestDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | Sealed | null },
  o: { runId: string; requestedBy: string; scope: DiscoveryScope; limits?: JobLimits; profileSampleRows?: number },
): Promise<{ jobId: string; runId: string }> {
  const config = configOf(conn.type, conn.config);
  if (config.type !== 'POSTGRES' && config.type !== 'MYSQL') throw new Error(`connection ${conn.id} is ${config.type}: discovery reads POSTGRES and MYSQL sources`);
  const jobId = randomUUID();
  const { runId } = o;
  const now = new Date().toISOString();
  const { secrets, legacy } = await s.box.open(em, conn.orgId, conn.workspaceId, conn.id, conn.secretSealed);
  if (legacy) {
    const resealed = await s.box.seal(em, conn.orgId, conn.workspaceId, conn.id, secrets);
    if (resealed) await dao.replaceSealing(em, conn.orgId, conn.id, resealed);
  }
  const job: SourceDiscoverJobV1 = {
    v: 1,
    kind: 'source.discover',
    jobId,
    runId,
    orgId: conn.orgId,
    workspaceId: conn.workspaceId,
    requestedAt: now,
    requestedBy: o.requestedBy,
    ...(o.limits ? { limits: o.limits } : {}),
    payload: {
      connectionId: conn.id,
      config,
      secrets: Object.keys(secrets).length ? seal(s.masterKey, JSON.stringify(secrets), `job:${jobId}`) : null,
      scope: o.scope,
      profileSampleRows: o.profileSampleRows ?? DEFAULT_PROFILE_SAMPLE_ROWS,
      timeoutMs: 60_000,
    },
  };
  const queued: RunStateChangedV1 = {
    v: 1,
    type: 'run.state',
    eventId: `${runId}:queued`,
    runId,
    jobId,
    orgId: conn.orgId,
    workspaceId: conn.workspaceId,
    kind: 'source.discover',
    subjectId: conn.id,
    at: now,
    state: 'QUEUED',
    attempt: 1,
  };
  await enqueueOutbox(em, runSubject(conn.workspaceId, runId), queued);
  await enqueueOutbox(em, jobSubject('source.discover', conn.workspaceId), job, jobId);
  return { jobId, runId };
}
