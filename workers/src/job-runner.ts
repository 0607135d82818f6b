import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from '@datalinx/common';
import {
  isExternalDestination,
  jobHeader,
  jobMessage,
  runEvent,
  runSubject,
  STREAMS,
  TERMINAL_RUN_STATES,
  type JobHeader,
  type JobKind,
  type JobMessage,
  type WarehouseDestination,
} from '@datalinx/contracts';
import { decodeJson, ensureDurableConsumer, isNotFound, PermanentJobError, PullWorker, type ConsumeContext } from '@datalinx/messaging';
import { ConnectionFailure } from './connectors/failures';
import { RunReporter } from './run-reporter';
import { JobSecrets } from './job-secrets';
import { testConnection } from './jobs/connection-test';
import type { FileStorage } from './connectors/file';
import { provisionWarehouse, purgeWarehouse } from './jobs/warehouse';
import { canonicalizeColumn } from './jobs/canonicalize';
import { runSync } from './sync/run-sync';
import { discoverSource, jetStreamPublisher } from './discovery/discover';
import { runPipelineInDagster, runPipelineLoad } from './jobs/pipeline-run';
import type { DagsterClient } from './dagster/client';

export interface JobRunnerOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  masterKey: string;
  concurrency: number;
  durable: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
  backoffBaseMs: number;
  /** Where uploaded files are read from (shared with the workspace service), and their size limit. */
  fileStorage: FileStorage;
  /**
   * WAREHOUSE_ADMIN_URL: needed by the warehouse.* jobs (./warehouse-runner.ts runs them on their own
   * consumer) and by the data-plane jobs into the PLATFORM warehouse. Jobs into an EXTERNAL warehouse
   * connect with the destination connection's own credentials instead.
   */
  warehouseAdminUrl?: string;
  /** SYNC_BATCH_DELAY_MS (tests only): pause after every committed incremental sync batch. */
  syncBatchDelayMs?: number;
  /** DAGSTER_URL: pipeline runs execute as Dagster runs (./jobs/pipeline-run.ts runPipelineInDagster); without it, the load runs in this process. */
  dagster?: DagsterClient;
}

type JobOf<K extends JobKind> = Extract<JobMessage, { kind: K }>;

/** What a handler reports: the run's terminal state (with summary and error), and fields for the `job finished` log line. */
interface JobResult {
  ok: boolean;
  /** The run was canceled (its Dagster run terminated): CANCELED instead of FAILURE. */
  canceled?: boolean;
  summary?: string;
  error?: { code: string; message: string };
  log?: Record<string, unknown>;
}
type Handler<K extends JobKind> = (job: JobOf<K>, report: RunReporter) => Promise<JobResult>;
/** One handler per job kind: a kind added to the contracts without one fails to compile. */
type Handlers = { [K in JobKind]: Handler<K> };

function decode(msg: JsMsg): unknown {
  try {
    return decodeJson(msg.data);
  } catch {
    throw new PermanentJobError('job message is not JSON');
  }
}

/** The job, or PermanentJobError INVALID_MESSAGE when it matches no contract (an unknown kind or version). */
function parseJob(msg: JsMsg): JobMessage {
  const raw = decode(msg);
  const parsed = jobMessage.safeParse(raw);
  if (parsed.success) return parsed.data;
  const header = jobHeader.safeParse(raw);
  // A known kind: the issues against that kind's contract (a union's own issue only says "Invalid input").
  const contract = header.success ? jobMessage.options.find((o) => o.shape.kind.value === header.data.kind) : undefined;
  const issues = (contract?.safeParse(raw).error ?? parsed.error).issues;
  const what = !header.success
    ? 'does not match a known contract'
    : contract
      ? `${header.data.kind} v${header.data.v} does not match its contract`
      : `has an unknown kind ${header.data.kind} (v${header.data.v})`;
  throw new PermanentJobError(
    `job message ${what}: ${issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
      .join('; ')}`,
  );
}

/** The envelope of a message, even one that matches no contract (to report its run), or null when it has none. */
function parseHeader(msg: JsMsg): JobHeader | null {
  try {
    const header = jobHeader.safeParse(decode(msg));
    return header.success ? header.data : null;
  } catch {
    return null;
  }
}

const subjectIdOf = (job: JobHeader | JobMessage) => {
  const p = job.payload as { connectionId?: string; pipelineId?: string } | undefined;
  return p?.connectionId ?? p?.pipelineId ?? job.workspaceId;
};

/**
 * The data-plane job loop over JOBS. Handlers are idempotent, keyed by job id: before running, the
 * run's last event on RUNS is read; if the run already finished (the worker died after reporting
 * but before acking), the job is acked without running again, so its result is recorded once.
 * A message that matches no job contract (an unknown kind or version) is refused: termed, and its
 * run reported FAILED (INVALID_MESSAGE) without being started.
 */
export class JobRunner {
  private readonly secrets: JobSecrets;
  private readonly handlers: Handlers;
  private pull?: PullWorker;
  private advisories?: Subscription;

  constructor(private readonly o: JobRunnerOptions) {
    this.secrets = new JobSecrets(o.masterKey);
    this.handlers = this.jobHandlers();
  }

  /**
   * A PLATFORM destination needs WAREHOUSE_ADMIN_URL; a worker without it throws a plain Error (not
   * permanent: another worker of this consumer may have it). An EXTERNAL destination does not.
   */
  private requireWarehouseFor(d: WarehouseDestination, kind: string): void {
    if (!isExternalDestination(d) && !this.o.warehouseAdminUrl)
      throw new Error(`this worker has no WAREHOUSE_ADMIN_URL: it cannot run ${kind} jobs into the platform warehouse`);
  }

  private requireWarehouseAdmin(): string {
    if (!this.o.warehouseAdminUrl)
      throw new PermanentJobError('this worker has no WAREHOUSE_ADMIN_URL: it cannot run warehouse jobs', 'WAREHOUSE_NOT_CONFIGURED');
    return this.o.warehouseAdminUrl;
  }

  private jobHandlers(): Handlers {
    const o = this.o;
    const secrets = this.secrets;
    const outcome = (
      r: { ok: boolean; summary: string; error?: { code: string; message: string }; canceled?: boolean },
      log: Record<string, unknown> = {},
    ): JobResult => ({
      ok: r.ok,
      canceled: r.canceled,
      summary: r.summary,
      error: r.error,
      log: { code: r.error?.code, ...log },
    });
    return {
      'connection.test': async (job, report) =>
        outcome(await testConnection(job, secrets.connection(job.jobId, job.payload.secrets), o.fileStorage, report), { type: job.payload.config.type }),
      'source.discover': async (job, report) =>
        outcome(await discoverSource(job, secrets.connection(job.jobId, job.payload.secrets), report, jetStreamPublisher(o.js), o.fileStorage), {
          type: job.payload.config.type,
        }),
      'source.sync': async (job, report) => {
        this.requireWarehouseFor(job.payload.destination, 'source.sync');
        const sourceSecrets = secrets.connection(job.jobId, job.payload.secrets);
        const destinationSecrets = secrets.destination(job.jobId, job.payload.destination);
        const result = await runSync(
          job,
          { warehouseAdminUrl: o.warehouseAdminUrl, destinationSecrets, secrets: sourceSecrets, batchDelayMs: o.syncBatchDelayMs, fileStorage: o.fileStorage },
          report,
        );
        return outcome(result, { rows: result.rows, type: job.payload.config.type });
      },
      'column.canonicalize': async (job, report) => {
        // ./column-runner.ts starts this consumer only with WAREHOUSE_ADMIN_URL, though an EXTERNAL destination does not need it.
        this.requireWarehouseFor(job.payload.destination, 'column.canonicalize');
        const result = await canonicalizeColumn(job, o.warehouseAdminUrl, report, secrets.destination(job.jobId, job.payload.destination));
        return outcome(result, { checked: result.checked, normalized: result.normalized, quarantined: result.quarantined });
      },
      'pipeline.run': async (job, report) => {
        // ./pipeline-runner.ts starts this consumer only with WAREHOUSE_ADMIN_URL, though an EXTERNAL destination does not need it.
        const destination = job.payload.load.destination;
        this.requireWarehouseFor(destination, 'pipeline.run');
        if (o.dagster) {
          const run = await runPipelineInDagster(job, {
            client: o.dagster,
            js: o.js,
            attempt: report.attempt,
            plan: { fileStorage: o.fileStorage, openSecrets: (source) => secrets.pipelineSource(job.jobId, source) },
            report,
          });
          return outcome(run, { rows: run.rows, sources: job.payload.load.sources.length, dagsterRunId: run.dagsterRunId });
        }
        const result = await runPipelineLoad(
          job,
          {
            warehouseAdminUrl: o.warehouseAdminUrl,
            destinationSecrets: secrets.destination(job.jobId, destination, { pipeline: true }),
            fileStorage: o.fileStorage,
            batchDelayMs: o.syncBatchDelayMs,
            openSecrets: (source) => secrets.pipelineSource(job.jobId, source),
          },
          report,
        );
        return outcome(result, { rows: result.rows, sources: job.payload.load.sources.length });
      },
      'warehouse.provision': async (job, report) =>
        outcome(await provisionWarehouse(job, this.requireWarehouseAdmin(), () => secrets.value(job.jobId, job.payload.password), report)),
      'warehouse.purge': async (job, report) => outcome(await purgeWarehouse(job, this.requireWarehouseAdmin(), report)),
    };
  }

  private async alreadyFinished(job: JobHeader | JobMessage): Promise<boolean> {
    try {
      const last = await this.o.jsm.streams.getMessage(STREAMS.RUNS.name, { last_by_subj: runSubject(job.workspaceId, job.runId) });
      if (!last) return false;
      const ev = runEvent.safeParse(last.json());
      return ev.success && ev.data.type === 'run.state' && TERMINAL_RUN_STATES.includes(ev.data.state);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private async handle(msg: JsMsg, ctx: ConsumeContext): Promise<void> {
    const job = parseJob(msg);
    const handler = this.handlers[job.kind] as Handler<JobKind> | undefined;
    if (!handler) throw new PermanentJobError(`no handler for job kind ${job.kind}`);
    const log = ctx.log.child({ jobId: job.jobId, runId: job.runId, kind: job.kind });
    if (await this.alreadyFinished(job)) {
      log.info('run already finished; acknowledging the redelivered job without running it again');
      return;
    }
    const report = new RunReporter(this.o.js, job, subjectIdOf(job), ctx.attempt);
    await report.state('STARTING');
    await report.state('STARTED');
    log.info('job started');
    const result = await handler(job as JobOf<JobKind>, report);
    // The one finish step of every job: the run's terminal state, then the log line.
    await report.state(result.canceled ? 'CANCELED' : result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
    log.info({ ok: result.ok, ...result.log }, 'job finished');
  }

  /** The last delivery failed or the message is invalid: the run is reported FAILED with the reason. */
  private async giveUp(msg: JsMsg, err: Error, ctx: ConsumeContext): Promise<void> {
    const job = parseHeader(msg);
    if (!job) {
      ctx.log.error({ err: err.message }, 'dropping an invalid job message (no run to report it on)');
      return;
    }
    const report = new RunReporter(this.o.js, job, subjectIdOf(job), ctx.attempt);
    // A connection that kept failing (nothing listening, no answer) keeps connection.test's code for the same cause.
    const code = err instanceof PermanentJobError || err instanceof ConnectionFailure ? err.code : 'MAX_DELIVERIES';
    const message = err instanceof PermanentJobError ? err.message : `The job failed on all ${ctx.attempt} attempts; last error: ${err.message}`;
    await report.state('FAILURE', { error: { code, message }, summary: 'gave up' });
  }

  async start(): Promise<void> {
    const consumer = {
      stream: STREAMS.JOBS.name,
      durable: this.o.durable,
      filterSubject: this.o.filterSubject,
      ackWaitMs: this.o.ackWaitMs,
      maxDeliver: this.o.maxDeliver,
    };
    await ensureDurableConsumer(this.o.jsm, consumer);
    this.pull = new PullWorker({
      js: this.o.js,
      consumer,
      concurrency: this.o.concurrency,
      log: this.o.log,
      backoffBaseMs: this.o.backoffBaseMs,
      handle: (m, ctx) => this.handle(m, ctx),
      onGiveUp: (m, err, ctx) => this.giveUp(m, err, ctx),
    });
    await this.pull.start();
    this.watchExhaustedJobs();
  }

  /**
   * A worker that dies (SIGKILL, OOM) on a job's last delivery never gets to report it. JetStream
   * then announces MAX_DELIVERIES; one worker of the queue group reads the job back from the
   * stream by sequence, reports its run FAILED with the reason, and removes it from the queue.
   */
  private watchExhaustedJobs(): void {
    const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${STREAMS.JOBS.name}.${this.o.durable}`;
    this.advisories = this.o.nc.subscribe(subject, { queue: `${this.o.durable}-exhausted` });
    void (async () => {
      for await (const m of this.advisories!) {
        try {
          const adv = m.json<{ stream_seq: number; deliveries: number }>();
          const stored = await this.o.jsm.streams.getMessage(STREAMS.JOBS.name, { seq: adv.stream_seq }).catch((err) => {
            if (isNotFound(err)) return null;
            throw err;
          });
          if (!stored) continue;
          const parsed = jobHeader.safeParse(stored.json());
          if (parsed.success && !(await this.alreadyFinished(parsed.data))) {
            const job = parsed.data;
            await new RunReporter(this.o.js, job, subjectIdOf(job), adv.deliveries).state('FAILURE', {
              summary: 'gave up',
              error: {
                code: 'MAX_DELIVERIES',
                message: `The job was delivered ${adv.deliveries} time(s) and never finished (the worker stopped or timed out each time). Check the worker logs, then run it again.`,
              },
            });
            this.o.log.error({ jobId: job.jobId, runId: job.runId, deliveries: adv.deliveries }, 'job exhausted its deliveries; run reported FAILED');
          }
          await this.o.jsm.streams.deleteMessage(STREAMS.JOBS.name, adv.stream_seq).catch(() => undefined);
        } catch (err) {
          this.o.log.error({ err: (err as Error).message }, 'handling a max-deliveries advisory failed');
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.advisories?.unsubscribe();
    await this.pull?.stop();
  }
}
