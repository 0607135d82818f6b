import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { PipelineRunJobV1 } from '@datalinx/contracts';
import type { PipelineDao } from '../daos/pipeline.dao';
import type { Pipeline } from '../entities/pipeline.entity';
import type { QuotaPolicy } from '../managers/quota.manager';
import { enqueueJob } from '../jobs/enqueue-job';

export type DispatchTrigger = { trigger: 'SCHEDULE'; scheduledFor: Date } | { trigger: 'MANUAL' };

/**
 * Dispatches one run of a pipeline inside the caller's tenant transaction: the ledger row
 * (`pipeline_run`), the `pipeline.run` job and the run's QUEUED event (both in the outbox, the
 * job with msgID = job id) commit together or not at all. Returns null when the scheduled slot
 * was already dispatched (the ledger's unique constraint): nothing is enqueued then. With
 * `quotas`, the run is admitted first (concurrent runs, storage; it throws QuotaExceededError,
 * rolling the dispatch back) and the job carries the workspace's rows-per-run limit.
 */
export async function dispatchPipelineRun(
  em: EntityManager,
  dao: PipelineDao,
  p: Pipeline,
  t: DispatchTrigger,
  requestedBy: string,
  at: Date,
  quotas: QuotaPolicy | null,
): Promise<{ runId: string; jobId: string } | null> {
  const jobId = randomUUID();
  const runId = randomUUID();
  const scheduledFor = t.trigger === 'SCHEDULE' ? t.scheduledFor : null;
  const inserted = await dao.insertRun(em, { orgId: p.orgId, workspaceId: p.workspaceId, pipelineId: p.id, trigger: t.trigger, scheduledFor, runId, jobId, requestedBy });
  if (!inserted) return null;
  const admitted = quotas ? await quotas.admitRun(em, p.orgId, { runId, workspaceId: p.workspaceId, kind: 'pipeline.run', writesData: true }) : null;
  const now = at.toISOString();
  const job: PipelineRunJobV1 = {
    v: 1,
    kind: 'pipeline.run',
    jobId,
    runId,
    orgId: p.orgId,
    workspaceId: p.workspaceId,
    requestedAt: now,
    requestedBy,
    ...(admitted ? { limits: admitted.limits } : {}),
    payload:
      t.trigger === 'SCHEDULE'
        ? { trigger: 'SCHEDULE', pipelineId: p.id, scheduledFor: t.scheduledFor.toISOString(), definition: p.definition }
        : { trigger: 'MANUAL', pipelineId: p.id, definition: p.definition },
  };
  await enqueueJob(em, job, p.id, t.trigger === 'SCHEDULE' ? `scheduled for ${t.scheduledFor.toISOString()}` : 'manual run');
  return { runId, jobId };
}
