import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { seal } from '@datalinx/common';
import type { ConnectionTestJobV2, JobLimits } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection } from '../entities/connection.entity';
import { configOf } from '../managers/connection-config';
import type { WorkspaceSealed } from '../secrets/keyring';
import type { JobDispatchSettings } from './job-dispatch-settings';
import { enqueueJob } from './enqueue-job';

/**
 * Writes one connection test into the caller's tenant transaction, where `conn` is already
 * locked (FOR UPDATE): the connection becomes TESTING (remembering its previous status), and the
 * `connection.test` v2 job — its config and its secrets re-sealed for the data plane with the
 * job id as additional data — and the run's QUEUED event go to the outbox; the relay publishes
 * them after commit.
 * Quotas are the caller's: it admits the run first (QuotaPolicy) and passes the job's limits.
 */
export async function dispatchConnectionTest(
  em: EntityManager,
  dao: ConnectionDao,
  s: JobDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | null },
  requestedBy: string,
  /** The workspace's quotas for the data plane (QuotaPolicy.assertCanDispatch), sent as the job's `limits`. */
  limits?: JobLimits,
): Promise<{ jobId: string; runId: string }> {
  const jobId = randomUUID();
  const runId = randomUUID();
  const now = new Date().toISOString();
  const secrets = await s.box.open(em, conn.orgId, conn.workspaceId, conn.id, conn.secretSealed);
  const hasSecrets = Object.keys(secrets).length > 0;
  const job: ConnectionTestJobV2 = {
    v: 2,
    kind: 'connection.test',
    jobId,
    runId,
    orgId: conn.orgId,
    workspaceId: conn.workspaceId,
    requestedAt: now,
    requestedBy,
    payload: {
      connectionId: conn.id,
      config: configOf(conn.type, conn.config),
      secrets: hasSecrets ? seal(s.masterKey, JSON.stringify(secrets), `job:${jobId}`) : null,
      timeoutMs: s.testTimeoutMs,
    },
  };
  await dao.markTesting(em, conn.orgId, conn.id, runId, conn.status);
  await enqueueJob(em, limits ? { ...job, limits } : job, conn.id);
  return { jobId, runId };
}
