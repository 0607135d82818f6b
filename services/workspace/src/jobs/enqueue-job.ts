import type { EntityManager } from 'typeorm';
import { enqueueOutbox } from '@datalinx/messaging';
import { jobSubject, runSubject, type JobMessage, type RunStateChangedV1 } from '@datalinx/contracts';

/** The first event of a dispatched job's run: QUEUED, on `runs.<workspaceId>.<runId>`. */
export function queuedRunEvent(
  run: { runId: string; jobId: string; orgId: string; workspaceId: string; kind: string },
  subjectId: string,
  at: string,
  summary?: string,
): RunStateChangedV1 {
  return {
    v: 1,
    type: 'run.state',
    eventId: `${run.runId}:queued`,
    runId: run.runId,
    jobId: run.jobId,
    orgId: run.orgId,
    workspaceId: run.workspaceId,
    kind: run.kind,
    subjectId,
    at,
    state: 'QUEUED',
    attempt: 1,
    ...(summary ? { summary } : {}),
  };
}

/**
 * Every dispatch of the workspace service ends here, inside the caller's tenant transaction: the
 * run's QUEUED event and the job (outbox msgID = job id, so a republish is deduplicated) go to
 * the outbox together with the caller's change; the relay publishes them after the commit.
 */
export async function enqueueJob(em: EntityManager, job: JobMessage, subjectId: string, summary?: string): Promise<void> {
  await enqueueOutbox(em, runSubject(job.workspaceId, job.runId), queuedRunEvent(job, subjectId, job.requestedAt, summary));
  await enqueueOutbox(em, jobSubject(job.kind, job.workspaceId), job, job.jobId);
}
