import type { DataSource } from 'typeorm';
import { DomainError } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import type { RunEvent } from '@datalinx/contracts';
import { ConsumedEventDao } from '../daos/consumed-event.dao';
import { RunDao } from '../daos/run.dao';
import { RunStepDao } from '../daos/run-step.dao';
import { factsPatch, stateEventPatch } from './run-state';

/** An event that can never be applied (it contradicts what is recorded): not worth a retry. */
export class RunEventRejectedError extends DomainError {
  constructor(code: 'RUN_TENANT_MISMATCH', message: string, details: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** duplicate: the event id was applied before; applied: the run or a step changed; unchanged: nothing to change. */
export type RecordOutcome = 'duplicate' | 'applied' | 'unchanged';

/**
 * Records RUNS events: the write side of the system of record for runs. Each event is applied in
 * ONE transaction together with its id in `consumed_event`, so however often an event (or a
 * whole job, with new event ids) is redelivered, the run and its steps are recorded once:
 * - a known event id changes nothing;
 * - the run row is created by whichever event arrives first and locked while the event applies
 *   (concurrent events of one run serialize on it);
 * - state changes follow the order-independent rules in run-state.ts;
 * - a step is one row per (run, seq), the newest attempt's report winning.
 * The tenant comes from the event: the transaction is `withTenant(event.orgId)`, so row-level
 * security confines it to that org; a run id already recorded for another org or workspace is
 * rejected rather than touched.
 */
export class RunRecorder {
  constructor(private readonly ds: DataSource) {}

  record(ev: RunEvent): Promise<RecordOutcome> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      if (!(await new ConsumedEventDao(em).markConsumed(ev.eventId))) return 'duplicate';
      const runs = new RunDao(em);
      const at = new Date(ev.at);
      await runs.insertIfMissing(ev.orgId, {
        id: ev.runId,
        workspaceId: ev.workspaceId,
        jobId: ev.jobId,
        kind: ev.kind,
        subjectId: ev.subjectId,
        createdAt: at,
      });
      const run = await runs.lockById(ev.orgId, ev.runId);
      if (!run || run.workspaceId !== ev.workspaceId) {
        throw new RunEventRejectedError('RUN_TENANT_MISMATCH', `Run ${ev.runId} is recorded for another organization or workspace.`, {
          runId: ev.runId,
          eventId: ev.eventId,
        });
      }
      // Progress is informational (the steps and the final state are the record).
      if (ev.type === 'run.progress') return 'unchanged';
      if (ev.type === 'run.state') {
        const patch = stateEventPatch(run, { state: ev.state, attempt: ev.attempt, at, error: ev.error, summary: ev.summary });
        // Which Dagster run executed it is a fact, recorded whatever the event's place in the state order.
        if (ev.dagster && ev.dagster.runId !== run.dagsterRunId) Object.assign(patch, { dagsterRunId: ev.dagster.runId, dagsterRunUrl: ev.dagster.url });
        if (!Object.keys(patch).length) return 'unchanged';
        await runs.update(ev.orgId, ev.runId, patch);
        return 'applied';
      }
      const patch = factsPatch(run, ev.attempt, at);
      if (Object.keys(patch).length) await runs.update(ev.orgId, ev.runId, patch);
      const written = await new RunStepDao(em).upsertNewestAttempt(ev.orgId, {
        runId: ev.runId,
        seq: ev.seq,
        name: ev.step,
        status: ev.status,
        message: ev.message,
        durationMs: Math.round(ev.durationMs),
        attempt: ev.attempt,
        at,
      });
      return written || Object.keys(patch).length ? 'applied' : 'unchanged';
    });
  }
}
