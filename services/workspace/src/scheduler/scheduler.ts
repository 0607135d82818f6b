import type { DataSource } from 'typeorm';
import { QuotaExceededError, type Clock, type Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { PipelineDao } from '../daos/pipeline.dao';
import { ConnectionDao } from '../daos/connection.dao';
import { WarehouseDao } from '../daos/warehouse.dao';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import { cronError, latestRunAtOrBefore, nextRunAfter } from './cron';
import { randomUUID } from 'node:crypto';
import { enqueueOutbox } from '@datalinx/messaging';
import { runSubject, type RunStateChangedV1 } from '@datalinx/contracts';
import type { QuotaPolicy } from '../managers/quota.manager';
import { DbtProjectRefDao } from '../daos/dbt-project-ref.dao';
import { dispatchPipelineRun, PipelineDispatchRefused, type PipelineDispatchDeps } from './dispatch';
import { queuedRunEvent } from '../jobs/enqueue-job';

export interface PipelineSchedulerOptions {
  ds: DataSource;
  log: Logger;
  /** Tick interval (SCHEDULER_INTERVAL_MS). */
  intervalMs: number;
  /** Called after a tick committed dispatches (kicks the outbox relay). */
  onOutboxCommit: () => void;
  /** Most due pipelines taken per lookup; a tick repeats the lookup while it keeps dispatching. */
  batchSize?: number;
  /** The workspaces' quotas (concurrent runs, storage): a slot they refuse is reported FAILED, not retried. */
  quotas?: QuotaPolicy | null;
  /**
   * The data-plane master key and the connection secret box (`jobDispatchSettings`): a
   * `pipeline.run` job carries its sources' secrets re-sealed for the workers.
   */
  settings: JobDispatchSettings;
  /**
   * What "now" is for the due lookup and each slot. Omitted: the database's clock, which every
   * instance shares. Tests pass a clock they move, so no test waits for a minute boundary.
   */
  clock?: Clock;
}

export type TickOutcome = 'dispatched' | 'already-dispatched' | 'skipped';

/**
 * Fires every due pipeline schedule exactly once, however many instances run and whenever one
 * restarts:
 * - The due list comes from `workspace.due_pipelines` (SECURITY DEFINER: org, pipeline and
 *   next_run_at of due rows of every org, nothing else), by the database clock (or the injected
 *   `clock`).
 * - Each pipeline is then handled in its own tenant transaction: the row is locked FOR UPDATE
 *   SKIP LOCKED (another instance holding it is dispatching it; this one moves on), re-checked
 *   (still enabled, still due — another instance may have advanced it since the lookup), the
 *   ledger row inserted (UNIQUE pipeline_id, scheduled_for), the job and QUEUED event written to
 *   the outbox, and next_run_at advanced — one commit. A crash before the commit leaves the row
 *   due for the next tick of any instance; after it, the slot is recorded and not due any more.
 *   The relay publishes with msgID = job id, so a republish after a relay crash is dropped by
 *   JetStream's duplicate window.
 * - Missed slots (every instance down for a while, or a long tick): only the latest missed slot
 *   runs, once, then next_run_at moves to the first slot after it. A burst of catch-up runs of
 *   the same pipeline would load the same data again and again and pile onto the workers; the
 *   latest slot covers the data the missed ones would have. Skipped slots are logged.
 */
export class PipelineScheduler {
  private readonly dao: PipelineDao;
  private readonly deps: PipelineDispatchDeps;
  private readonly batchSize: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: PipelineSchedulerOptions) {
    this.dao = new PipelineDao(o.ds);
    this.deps = {
      connections: new ConnectionDao(o.ds),
      warehouses: new WarehouseDao(o.ds),
      settings: o.settings,
      quotas: o.quotas ?? null,
      dbtProjects: new DbtProjectRefDao(o.ds),
    };
    this.batchSize = o.batchSize ?? 100;
  }

  start(): this {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((err) => this.o.log.warn({ err: (err as Error).message }, 'scheduler tick failed; retrying on the next tick'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.o.intervalMs);
        });
    };
    loop();
    return this;
  }

  /** Stops ticking and waits for the tick in flight (its transactions commit or roll back as a whole). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every due pipeline. Returns how many runs it dispatched. */
  async tick(): Promise<number> {
    let dispatched = 0;
    for (;;) {
      const due = await this.dao.due(this.batchSize, this.o.clock?.now() ?? null);
      let progressed = 0;
      for (const d of due) {
        if (this.stopped) return dispatched;
        let outcome: TickOutcome;
        try {
          outcome = await this.fire(d.orgId, d.pipelineId);
        } catch (err) {
          // Its transaction rolled back whole: the pipeline stays due for the next tick, and one
          // failing pipeline does not hold up the others.
          this.o.log.error({ orgId: d.orgId, pipelineId: d.pipelineId, err: (err as Error).message }, 'pipeline dispatch failed; retrying on the next tick');
          outcome = 'skipped';
        }
        if (outcome === 'dispatched') dispatched++;
        if (outcome !== 'skipped') progressed++;
      }
      if (dispatched > 0) this.o.onOutboxCommit();
      // A full batch that moved: more may be due. Otherwise the rest is locked by another instance.
      if (due.length < this.batchSize || progressed === 0) return dispatched;
    }
  }

  /** Dispatches the pipeline's due slot if this instance gets its lock and it is still due. */
  async fire(orgId: string, pipelineId: string): Promise<TickOutcome> {
    const deps = this.deps;
    return withTenant(this.o.ds, orgId, async (em) => {
      const p = await this.dao.lockForDispatch(em, orgId, pipelineId);
      if (!p || !p.enabled || !p.schedule || !p.nextRunAt) return 'skipped';
      const now = this.o.clock?.now() ?? (await this.dao.now(em));
      if (p.nextRunAt.getTime() > now.getTime()) return 'skipped';
      const invalid = cronError(p.schedule);
      if (invalid) {
        // Written before validation was this strict: stop scheduling it rather than fail every tick.
        this.o.log.error({ orgId, pipelineId, schedule: p.schedule, err: invalid }, 'pipeline schedule no longer parses; unscheduling it');
        await this.dao.update(em, orgId, p.id, { nextRunAt: null });
        return 'skipped';
      }
      // The latest slot not after now; next_run_at itself when it is later (a hand-edited row).
      const latest = latestRunAtOrBefore(p.schedule, p.timeZone, now);
      const slot = latest.getTime() >= p.nextRunAt.getTime() ? latest : p.nextRunAt;
      if (slot.getTime() !== p.nextRunAt.getTime()) {
        this.o.log.warn(
          { orgId, pipelineId, firstMissed: p.nextRunAt.toISOString(), running: slot.toISOString() },
          'missed schedule slots: running only the latest',
        );
      }
      // A savepoint: a refusal (a quota, or a pipeline that cannot run as defined: a deleted
      // source connection, a warehouse not ready) undoes the dispatch but not the advance of
      // next_run_at, so the refused slot is reported once instead of being retried on every tick.
      // eslint-disable-next-line no-restricted-syntax -- transaction control (a savepoint of this transaction), not data access
      await em.query('SAVEPOINT dispatch');
      let run: { runId: string; jobId: string } | null;
      try {
        run = await dispatchPipelineRun(em, this.dao, p, { trigger: 'SCHEDULE', scheduledFor: slot }, 'scheduler', now, deps);
        // eslint-disable-next-line no-restricted-syntax -- transaction control (a savepoint of this transaction), not data access
        await em.query('RELEASE SAVEPOINT dispatch');
      } catch (err) {
        const refusal = refusalOf(err);
        if (!refusal) throw err;
        // eslint-disable-next-line no-restricted-syntax -- transaction control (a savepoint of this transaction), not data access
        await em.query('ROLLBACK TO SAVEPOINT dispatch');
        await this.reportRefused(em, p, slot, now, refusal);
        run = null;
      }
      await this.dao.update(em, orgId, p.id, { nextRunAt: nextRunAfter(p.schedule, p.timeZone, slot) });
      if (run)
        this.o.log.info(
          { orgId, pipelineId, workspaceId: p.workspaceId, runId: run.runId, jobId: run.jobId, scheduledFor: slot.toISOString() },
          'pipeline run dispatched',
        );
      return run ? 'dispatched' : 'already-dispatched';
    });
  }

  /**
   * A scheduled slot that was refused (a quota, or a pipeline that cannot run as defined): a run
   * that failed at once, with the refusal's code and message, so the user sees why it did not run.
   */
  private async reportRefused(
    em: Parameters<Parameters<typeof withTenant>[2]>[0],
    p: { id: string; orgId: string; workspaceId: string },
    slot: Date,
    now: Date,
    r: Refusal,
  ): Promise<void> {
    const run = { runId: randomUUID(), jobId: randomUUID(), orgId: p.orgId, workspaceId: p.workspaceId, kind: 'pipeline.run' };
    const runId = run.runId;
    const queued = queuedRunEvent(run, p.id, now.toISOString(), `scheduled for ${slot.toISOString()}`);
    const failed: RunStateChangedV1 = {
      ...queued,
      eventId: `${runId}:refused`,
      state: 'FAILURE',
      summary: r.summary,
      error: { code: r.code, message: r.message },
    };
    await enqueueOutbox(em, runSubject(p.workspaceId, runId), queued);
    await enqueueOutbox(em, runSubject(p.workspaceId, runId), failed);
    this.o.log.warn(
      { orgId: p.orgId, pipelineId: p.id, scheduledFor: slot.toISOString(), code: r.code, ...r.log },
      r.summary === QUOTA_SUMMARY ? 'scheduled pipeline run refused by a quota' : 'scheduled pipeline run refused: the pipeline cannot run as defined',
    );
  }
}

const QUOTA_SUMMARY = 'not started: quota exceeded';

interface Refusal {
  code: string;
  message: string;
  summary: string;
  log: Record<string, unknown>;
}

/** The refusals a scheduled slot reports as a FAILED run (anything else is a dispatch failure, retried on the next tick). */
function refusalOf(err: unknown): Refusal | null {
  if (err instanceof QuotaExceededError) return { code: 'QUOTA_EXCEEDED', message: err.message, summary: QUOTA_SUMMARY, log: { quota: err.quota } };
  if (err instanceof PipelineDispatchRefused) {
    return {
      code: err.code,
      message: err.message,
      summary: 'not started: the pipeline cannot run as defined',
      log: { errors: err.errors.map((e) => `${e.code}@${e.field ?? ''}`) },
    };
  }
  return null;
}
