import { randomUUID } from 'node:crypto';
import { jobSubject, type JobKind } from '@datalinx/contracts';
import { encodeJson, type Nats } from '@datalinx/messaging';

/** The workspace a test's jobs are for. */
export interface JobScope {
  orgId: string;
  workspaceId: string;
}

export interface JobSpec {
  kind: JobKind;
  /** The contract version of the job (1 unless the kind's test is about another one). */
  v?: number;
  jobId?: string;
  runId?: string;
  payload: object;
  /** Top-level fields besides the envelope and payload, e.g. `limits`. */
  extra?: object;
}

/**
 * A job envelope as the control plane writes it (requestedBy `test`, requestedAt now), with a new
 * jobId and runId unless given. Unpublished: for a contract check, or to publish the same run twice.
 */
export function jobEnvelope(scope: JobScope, spec: JobSpec) {
  const { kind, v = 1, jobId = randomUUID(), runId = randomUUID(), payload, extra = {} } = spec;
  return {
    v,
    kind,
    jobId,
    runId,
    orgId: scope.orgId,
    workspaceId: scope.workspaceId,
    requestedAt: new Date().toISOString(),
    requestedBy: 'test',
    payload,
    ...extra,
  };
}

/**
 * Publishes a job on JOBS (`jobs.<kind>.<workspaceId>`) as the outbox relay does: the jobId is
 * the message id, so JetStream drops a second publish of the same job.
 */
export async function publishJob(nats: Nats, job: { kind: JobKind; jobId: string; workspaceId: string }): Promise<void> {
  await nats.js.publish(jobSubject(job.kind, job.workspaceId), encodeJson(job), { msgID: job.jobId });
}
