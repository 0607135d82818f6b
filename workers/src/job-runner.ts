import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { parseKey, unseal, type Logger } from '@datalinx/common';
import { jobMessage, runEvent, runSubject, STREAMS, TERMINAL_RUN_STATES, type JobMessage } from '@datalinx/contracts';
import { decodeJson, ensureDurableConsumer, isNotFound, PermanentJobError, PullWorker, type ConsumeContext } from '@datalinx/messaging';
import { RunReporter } from './run-reporter';
import { testPostgresConnection } from './jobs/connection-test';

export interface JobRunnerOptions {
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
}

function parseJob(msg: JsMsg): JobMessage {
  let raw: unknown;
  try {
    raw = decodeJson(msg.data);
  } catch {
    throw new PermanentJobError('job message is not JSON');
  }
  const parsed = jobMessage.safeParse(raw);
  if (!parsed.success) throw new PermanentJobError(`job message does not match a known contract: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

const subjectIdOf = (job: JobMessage) => job.payload.connectionId;

/**
 * The data-plane job loop over JOBS. Handlers are idempotent, keyed by job id: before running, the
 * run's last event on RUNS is read; if the run already finished (the worker died after reporting
 * but before acking), the job is acked without running again, so its result is recorded once.
 */
export class JobRunner {
  private readonly key: Buffer;
  private pull?: PullWorker;

  constructor(private readonly o: JobRunnerOptions) {
    this.key = parseKey(o.masterKey);
  }

  private async alreadyFinished(job: JobMessage): Promise<boolean> {
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
    const log = ctx.log.child({ jobId: job.jobId, runId: job.runId, kind: job.kind });
    if (await this.alreadyFinished(job)) {
      log.info('run already finished; acknowledging the redelivered job without running it again');
      return;
    }
    const report = new RunReporter(this.o.js, job, subjectIdOf(job), ctx.attempt);
    await report.state('STARTING');
    await report.state('STARTED');
    log.info('job started');
    switch (job.kind) {
      case 'connection.test': {
        let connectionString: string;
        try {
          connectionString = unseal(this.key, job.payload.connectionString, `job:${job.jobId}`);
        } catch {
          throw new PermanentJobError('the job secret cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s)', 'SECRET_UNREADABLE');
        }
        const result = await testPostgresConnection(job, connectionString, report);
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok }, 'job finished');
        return;
      }
    }
  }

  /** The last delivery failed or the message is invalid: the run is reported FAILED with the reason. */
  private async giveUp(msg: JsMsg, err: Error, ctx: ConsumeContext): Promise<void> {
    let job: JobMessage;
    try {
      job = parseJob(msg);
    } catch {
      ctx.log.error({ err: err.message }, 'dropping an invalid job message (no run to report it on)');
      return;
    }
    const report = new RunReporter(this.o.js, job, subjectIdOf(job), ctx.attempt);
    const code = err instanceof PermanentJobError ? err.code : 'MAX_DELIVERIES';
    const message =
      err instanceof PermanentJobError ? err.message : `The job failed on all ${ctx.attempt} attempts; last error: ${err.message}`;
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
  }

  async stop(): Promise<void> {
    await this.pull?.stop();
  }
}
