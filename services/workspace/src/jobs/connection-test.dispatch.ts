import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { seal, type Sealed } from '@datalinx/common';
import type { ConnectionTestJobV2, JobLimits } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection } from '../entities/connection.entity';
import { configOf } from '../managers/connection-config';
import { ConnectionSecretBox } from '../secrets/connection-secrets';
import { Keyring, type WorkspaceSealed } from '../secrets/keyring';
import { enqueueJob } from './enqueue-job';

export interface TestDispatchSettings {
  /** The current master key: what the workers open the job's secrets with (AAD `job:<jobId>`). */
  masterKey: Buffer;
  box: ConnectionSecretBox;
  testTimeoutMs: number;
}

/** Dispatch settings from the process's keys: a keyring that also holds the previous master key during a rotation. */
export function testDispatchSettings(s: { masterKey: Buffer; previousMasterKeys?: Buffer[]; testTimeoutMs: number }, keyring?: Keyring): TestDispatchSettings {
  const previous = s.previousMasterKeys ?? [];
  return { masterKey: s.masterKey, testTimeoutMs: s.testTimeoutMs, box: new ConnectionSecretBox(keyring ?? new Keyring(s.masterKey, previous), [s.masterKey, ...previous]) };
}

/**
 * Writes one connection test into the caller's tenant transaction, where `conn` is already
 * locked (FOR UPDATE): the connection becomes TESTING (remembering its previous status), and the
 * `connection.test` v2 job — its config and its secrets re-sealed for the data plane with the
 * job id as additional data — and the run's QUEUED event go to the outbox; the relay publishes
 * them after commit. A secret still sealed the pre-envelope way is moved under the workspace's
 * data key on the way (same secret, same `secretUpdatedAt`).
 * Quotas are the caller's: it admits the run first (QuotaPolicy) and passes the job's limits.
 */
export async function dispatchConnectionTest(
  em: EntityManager,
  dao: ConnectionDao,
  s: TestDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | Sealed | null },
  requestedBy: string,
  /** The workspace's quotas for the data plane (QuotaPolicy.assertCanDispatch), sent as the job's `limits`. */
  limits?: JobLimits,
): Promise<{ jobId: string; runId: string }> {
  const jobId = randomUUID();
  const runId = randomUUID();
  const now = new Date().toISOString();
  const { secrets, legacy } = await s.box.open(em, conn.orgId, conn.workspaceId, conn.id, conn.secretSealed);
  if (legacy) {
    const resealed = await s.box.seal(em, conn.orgId, conn.workspaceId, conn.id, secrets);
    if (resealed) await dao.replaceSealing(em, conn.orgId, conn.id, resealed);
  }
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
