import type { JetStreamClient } from '@nats-io/jetstream';
import { runSubject, type PipelineRunJobV2, type RunEvent } from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';
import type { DagsterClient, DagsterEvent, DagsterRun } from './client';
import { DAGSTER_TERMINAL } from './client';

/** Tags every pipeline run carries in Dagster: the workspace (tag concurrency limit of the run queue), our run and job. */
export const WORKSPACE_TAG = 'datalinx/workspace';
export const RUN_TAG = 'datalinx/run';
export const JOB_TAG = 'datalinx/job';
export const PIPELINE_JOB = 'pipeline_run';

type StepStatus = 'SUCCESS' | 'FAILURE' | 'SKIPPED';

/** What one Dagster event becomes on RUNS (before ids and sequence numbers are assigned). */
export type Mapped =
  | { type: 'step'; step: string; status: StepStatus; message: string; durationMs: number }
  | { type: 'progress'; step: string; rows: number }
  | { type: 'state'; state: 'CANCELING' };

interface LoadStepRecord {
  step: string;
  status: StepStatus;
  message: string;
  durationMs: number;
}

interface ModelResult {
  node: string;
  kind: string;
  name: string;
  status: string;
  rows: number | null;
  seconds: number;
  failures: number | null;
  message: string | null;
}

/** The end of a Dagster run, as the mapper saw it. */
export interface DagsterOutcome {
  status: 'SUCCESS' | 'FAILURE' | 'CANCELED';
  rows: number;
  /** The first failed step's code and message (FAILURE). */
  error?: { code: string; message: string };
  loaded: string[];
  models: { built: number; failed: number; tests: number };
}

const DBT_STATUS: Record<string, StepStatus> = { success: 'SUCCESS', pass: 'SUCCESS', warn: 'SUCCESS', error: 'FAILURE', fail: 'FAILURE', skipped: 'SKIPPED' };

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * Maps the event log of a Dagster `pipeline_run` (in order, as `logsForRun` returns it) to our
 * steps: a `load` step's own steps (tables selected, loaded, checkpoints … as the sync reported
 * them through Pipes, in the step's output or failure metadata) and then `<source>: load` with its
 * rows and timing; `dbt_build` as one step per dbt node (`models: <model>`, `tests: <test>`, with
 * status, rows affected and time from run_results.json) then `models`. The fan-out step
 * `sources` is Dagster's own and not reported. Deterministic: the same log gives the same list.
 */
export class DagsterEventMapper {
  private readonly started = new Map<string, number>();
  private readonly outputs = new Map<string, Record<string, unknown>>();
  private rows = 0;
  private readonly loaded: string[] = [];
  private readonly models = { built: 0, failed: 0, tests: 0 };
  private error?: { code: string; message: string };
  private end?: DagsterOutcome['status'];

  get outcome(): DagsterOutcome | undefined {
    return this.end ? { status: this.end, rows: this.rows, error: this.error, loaded: [...this.loaded], models: { ...this.models } } : undefined;
  }

  map(ev: DagsterEvent): Mapped[] {
    const key = ev.stepKey;
    switch (ev.type) {
      case 'ExecutionStepStartEvent':
        if (key) this.started.set(key, ev.timestamp);
        return [];
      case 'ExecutionStepOutputEvent':
        if (key && ev.metadata) this.outputs.set(key, ev.metadata);
        return [];
      case 'ExecutionStepSuccessEvent':
        return key ? this.stepEnded(key, 'SUCCESS', ev) : [];
      case 'ExecutionStepFailureEvent':
        return key ? this.stepEnded(key, 'FAILURE', ev) : [];
      case 'ExecutionStepSkippedEvent':
        return key ? this.stepEnded(key, 'SKIPPED', ev) : [];
      case 'RunSuccessEvent':
        this.end = 'SUCCESS';
        return [];
      case 'RunFailureEvent':
        this.end = 'FAILURE';
        this.error ??= { code: 'DAGSTER_RUN_FAILED', message: ev.error ?? ev.message };
        return [];
      case 'RunCancelingEvent':
        return [{ type: 'state', state: 'CANCELING' }];
      case 'RunCanceledEvent':
        this.end = 'CANCELED';
        this.error = { code: 'CANCELED', message: `The run was canceled: ${ev.message}` };
        return [];
      default:
        return [];
    }
  }

  private stepEnded(key: string, status: StepStatus, ev: DagsterEvent): Mapped[] {
    const t0 = this.started.get(key);
    const durationMs = t0 === undefined ? 0 : Math.max(0, ev.timestamp - t0);
    const meta = status === 'FAILURE' ? (ev.metadata ?? {}) : (this.outputs.get(key) ?? {});
    const op = key.replace(/\[.*$/, '');
    if (op === 'load') return this.loadEnded(key, status, ev, meta, durationMs);
    if (op === 'dbt_build') return this.dbtEnded(status, ev, meta, durationMs);
    if (status === 'FAILURE') this.error ??= { code: 'DAGSTER_STEP_FAILED', message: `${key}: ${ev.error ?? ev.message}` };
    return [];
  }

  private loadEnded(key: string, status: StepStatus, ev: DagsterEvent, meta: Record<string, unknown>, durationMs: number): Mapped[] {
    const source = typeof meta.source === 'string' ? meta.source : key.replace(/^load\[|\]$/g, '');
    const rows = typeof meta.rows === 'number' ? meta.rows : 0;
    const inner = Array.isArray(meta.steps) ? (meta.steps as LoadStepRecord[]) : [];
    const out: Mapped[] = inner.map((s) => ({ type: 'step', step: s.step, status: s.status, message: s.message, durationMs: s.durationMs }));
    this.rows += rows;
    if (status === 'SUCCESS') {
      this.loaded.push(`${source} (${plural(rows, 'row')})`);
      out.push({ type: 'progress', step: `${source}: load`, rows });
    }
    const message =
      status === 'FAILURE'
        ? String(meta.message ?? ev.error ?? ev.message)
        : status === 'SKIPPED'
          ? 'not run: a step before it failed'
          : String(meta.summary ?? `${plural(rows, 'row')} loaded`);
    if (status === 'FAILURE') this.error ??= { code: String(meta.code ?? 'LOAD_FAILED'), message };
    out.push({ type: 'step', step: `${source}: load`, status, message, durationMs });
    return out;
  }

  private dbtEnded(status: StepStatus, ev: DagsterEvent, meta: Record<string, unknown>, durationMs: number): Mapped[] {
    const results = Array.isArray(meta.models) ? (meta.models as ModelResult[]) : [];
    const out: Mapped[] = [];
    for (const r of results) {
      const st = DBT_STATUS[r.status] ?? 'FAILURE';
      const isModel = r.kind === 'model';
      if (isModel && st === 'SUCCESS') this.models.built++;
      if (st === 'FAILURE') this.models.failed++;
      if (r.kind === 'test') this.models.tests++;
      const parts = [
        r.status,
        r.rows !== null && r.rows !== undefined && r.rows >= 0 ? `${plural(r.rows, 'row')} affected` : '',
        r.failures ? plural(r.failures, 'failing row') : '',
        st !== 'SUCCESS' && r.message ? r.message : '',
      ].filter(Boolean);
      out.push({
        type: 'step',
        step: `${isModel ? 'models' : `${r.kind}s`}: ${r.name}`,
        status: st,
        message: parts.join('; '),
        durationMs: Math.round(r.seconds * 1000),
      });
    }
    let message: string;
    if (status === 'FAILURE') {
      message = String(meta.message ?? ev.error ?? ev.message);
      this.error ??= { code: String(meta.code ?? 'DBT_BUILD_FAILED'), message };
    } else if (status === 'SKIPPED') message = 'not run: a step before it failed';
    else if (meta.skipped === true) {
      return [{ type: 'step', step: 'models', status: 'SKIPPED', message: 'no dbt project in this pipeline', durationMs: 0 }];
    } else message = `dbt build: ${plural(this.models.built, 'model')} built, ${plural(this.models.tests, 'test')} run`;
    out.push({ type: 'step', step: 'models', status, message, durationMs });
    return out;
  }
}

/**
 * Publishes the mapped events of one Dagster run on RUNS. Event ids are the Dagster run id and the
 * event's position in the mapped sequence (`<runId>:dagster:<dagsterRunId>:s<seq>`), so a worker
 * that follows the same Dagster run again (a redelivered job) publishes the same ids: JetStream's
 * duplicate window and monitoring's consumed-event table record each once, in order.
 */
export class DagsterRunPublisher {
  private seq = 0;
  private progressSeq = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly job: PipelineRunJobV2,
    private readonly dagsterRunId: string,
    private readonly attempt: number,
  ) {}

  private base() {
    return {
      v: 1 as const,
      runId: this.job.runId,
      jobId: this.job.jobId,
      orgId: this.job.orgId,
      workspaceId: this.job.workspaceId,
      kind: this.job.kind,
      subjectId: this.job.payload.pipelineId,
      at: new Date().toISOString(),
      attempt: this.attempt,
    };
  }

  private async publish(ev: RunEvent): Promise<void> {
    await this.js.publish(runSubject(this.job.workspaceId, this.job.runId), encodeJson(ev), { msgID: ev.eventId, timeout: 5000 });
  }

  async emit(m: Mapped): Promise<void> {
    const id = `${this.job.runId}:dagster:${this.dagsterRunId}`;
    if (m.type === 'state') {
      await this.publish({ ...this.base(), type: 'run.state', eventId: `${id}:${m.state}`, state: m.state });
      return;
    }
    if (m.type === 'progress') {
      const seq = this.progressSeq++;
      await this.publish({ ...this.base(), type: 'run.progress', eventId: `${id}:p${seq}`, step: m.step, rows: m.rows, bytes: 0 });
      return;
    }
    const seq = this.seq++;
    await this.publish({
      ...this.base(),
      type: 'run.step',
      eventId: `${id}:s${seq}`,
      seq,
      step: m.step,
      status: m.status,
      message: m.message,
      durationMs: m.durationMs,
    });
  }

  /** A step of ours after the Dagster run's own (checks, exports), numbered after them. */
  step(step: string, status: StepStatus, message: string): Promise<void> {
    return this.emit({ type: 'step', step, status, message, durationMs: 0 });
  }

  /** STARTED with the Dagster run's id and its page in the Dagster UI, once per Dagster run. */
  launched(run: DagsterRun, url: string): Promise<void> {
    return this.publish({
      ...this.base(),
      type: 'run.state',
      eventId: `${this.job.runId}:dagster:${run.runId}:launched`,
      state: 'STARTED',
      dagster: { runId: run.runId, url },
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows a Dagster run to its end: `logsForRun` from the start of its log with a cursor, every
 * event through the mapper and published in order, polling every `pollMs` while the run is not
 * finished (`runOrError` tells when it ended without a terminal event, e.g. a run worker killed).
 */
export async function followDagsterRun(
  client: DagsterClient,
  run: DagsterRun,
  mapper: DagsterEventMapper,
  publisher: DagsterRunPublisher,
  o: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<DagsterOutcome> {
  const pollMs = o.pollMs ?? 500;
  let cursor: string | null = null;
  let checked = 0;
  for (;;) {
    const page = await client.logsForRun(run.runId, cursor);
    for (const ev of page.events) for (const m of mapper.map(ev)) await publisher.emit(m);
    cursor = page.cursor;
    if (page.hasMore) continue;
    if (mapper.outcome) return mapper.outcome;
    if (Date.now() - checked > 10 * pollMs) {
      checked = Date.now();
      const now = await client.run(run.runId);
      if (now && DAGSTER_TERMINAL.includes(now.status)) {
        // The terminal event may have landed after this page: read once more before concluding.
        const last = await client.logsForRun(run.runId, cursor);
        for (const ev of last.events) for (const m of mapper.map(ev)) await publisher.emit(m);
        cursor = last.cursor;
        if (last.hasMore) continue;
        if (mapper.outcome) return mapper.outcome;
        return {
          status: now.status as DagsterOutcome['status'],
          rows: 0,
          loaded: [],
          models: { built: 0, failed: 0, tests: 0 },
          error:
            now.status === 'FAILURE'
              ? { code: 'DAGSTER_RUN_FAILED', message: `Dagster run ${run.runId} ended ${now.status} without a failure event` }
              : undefined,
        };
      }
    }
    if (o.signal?.aborted) throw new Error('following the Dagster run was stopped');
    await sleep(pollMs);
  }
}
