import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { seal, type Sealed } from '@datalinx/common';
import type { JobLimits, SourceDiscoverJobV1, SourceSyncJobV1 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { Connection } from '../entities/connection.entity';
import type { WorkspaceSealed } from '../secrets/keyring';
import type { JobDispatchSettings } from './job-dispatch-settings';
import { enqueueJob } from './enqueue-job';

/** The source jobs (`source.discover`, `source.sync`): a connection's config and secrets go with them. */
export type SourceJob = SourceDiscoverJobV1 | SourceSyncJobV1;
export type SourceJobKind = SourceJob['kind'];
/** The kind and how to build its payload around the re-sealed secrets. */
export type SourceJobPayload =
  | { kind: 'source.discover'; payload: (secrets: Sealed | null) => SourceDiscoverJobV1['payload'] }
  | { kind: 'source.sync'; payload: (secrets: Sealed | null) => SourceSyncJobV1['payload'] };

/**
 * A locked connection's secrets as a job carries them: unsealed with the workspace's keyring and
 * re-sealed for the data plane with the master key and `aad` — the job's own AAD, so a sealed
 * value cannot be replayed inside another job. Null when the connection has no secrets. Shared by
 * the source jobs (AAD `job:<jobId>`) and `pipeline.run` (AAD `pipelineSecretAad(jobId, connectionId)`).
 */
export async function resealForDataPlane(
  em: EntityManager,
  dao: ConnectionDao,
  s: JobDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | null },
  aad: string,
): Promise<Sealed | null> {
  const secrets = await s.box.open(em, conn.orgId, conn.workspaceId, conn.id, conn.secretSealed);
  return Object.keys(secrets).length ? seal(s.masterKey, JSON.stringify(secrets), aad) : null;
}

/**
 * Writes one source job into the caller's tenant transaction, where `conn` is already locked:
 * the connection's secrets are re-sealed for the data plane with AAD `job:<jobId>`
 * (`resealForDataPlane`; null when the connection has none); the job (outbox msgID = job id) and the run's
 * QUEUED event go to the outbox, which the relay publishes after commit. The run id is the
 * caller's (it admitted the run through QuotaPolicy first); `payload` builds the kind's payload
 * around the re-sealed secrets.
 */
export async function dispatchSourceJob(
  em: EntityManager,
  dao: ConnectionDao,
  s: JobDispatchSettings,
  conn: Connection & { secretSealed: WorkspaceSealed | null },
  o: {
    runId: string;
    requestedBy: string;
    limits?: JobLimits;
    /** The job id when the caller sealed something else for it already (an external warehouse's secrets, AAD `job:<jobId>`). */ jobId?: string;
  } & SourceJobPayload,
): Promise<{ jobId: string; runId: string }> {
  const jobId = o.jobId ?? randomUUID();
  const { runId } = o;
  const now = new Date().toISOString();
  const sealed = await resealForDataPlane(em, dao, s, conn, `job:${jobId}`);
  const base = {
    v: 1 as const,
    jobId,
    runId,
    orgId: conn.orgId,
    workspaceId: conn.workspaceId,
    requestedAt: now,
    requestedBy: o.requestedBy,
    ...(o.limits ? { limits: o.limits } : {}),
  };
  const job: SourceJob =
    o.kind === 'source.discover' ? { ...base, kind: o.kind, payload: o.payload(sealed) } : { ...base, kind: o.kind, payload: o.payload(sealed) };
  await enqueueJob(em, job, conn.id);
  return { jobId, runId };
}
