import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { parseKey, unseal, type Logger } from '@datalinx/common';
import {
  connectionSecrets,
  isExternalDestination,
  jobMessage,
  pipelineSecretAad,
  runEvent,
  runSubject,
  STREAMS,
  TERMINAL_RUN_STATES,
  type ConnectionSecrets,
  type JobMessage,
  type PipelineLoadSource,
  type SealedSecret,
  type WarehouseDestination,
} from '@datalinx/contracts';
import { decodeJson, ensureDurableConsumer, isNotFound, PermanentJobError, PullWorker, type ConsumeContext } from '@datalinx/messaging';
import { ConnectionFailure } from './connectors/failures';
import { RunReporter } from './run-reporter';
import { testConnectionV1, testConnectionV2 } from './jobs/connection-test';
import type { FileStorage } from './connectors/file';
import { provisionWarehouse, purgeWarehouse } from './jobs/warehouse';
import { canonicalizeColumn } from './jobs/canonicalize';
import { runSync } from './sync/run-sync';
import { discoverSource, jetStreamPublisher } from './discovery/discover';
import { runPipelineLoad } from './jobs/pipeline-run';

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

const subjectIdOf = (job: JobMessage) => ('connectionId' in job.payload ? job.payload.connectionId : 'pipelineId' in job.payload ? job.payload.pipelineId : job.workspaceId);

/**
 * The data-plane job loop over JOBS. Handlers are idempotent, keyed by job id: before running, the
 * run's last event on RUNS is read; if the run already finished (the worker died after reporting
 * but before acking), the job is acked without running again, so its result is recorded once.
 */
export class JobRunner {
  private readonly key: Buffer;
  private pull?: PullWorker;
  private advisories?: Subscription;

  constructor(private readonly o: JobRunnerOptions) {
    this.key = parseKey(o.masterKey);
  }

  /** Secrets are sealed to the job (AAD `job:<jobId>`): a sealed value replayed into another job does not open. */
  private unsealForJob(jobId: string, sealed: SealedSecret): string {
    return this.unsealWithAad(`job:${jobId}`, sealed, 'the job secret cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s)');
  }

  /** `unreadable`: the run's message when the value does not open (wrong key or wrong AAD). */
  private unsealWithAad(aad: string, sealed: SealedSecret, unreadable: string): string {
    try {
      return unseal(this.key, sealed, aad);
    } catch {
      throw new PermanentJobError(unreadable, 'SECRET_UNREADABLE');
    }
  }

  private unsealSecrets(jobId: string, sealed: SealedSecret | null): ConnectionSecrets {
    return this.openConnectionSecrets(`job:${jobId}`, sealed, 'the job secrets', 'the job secret cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s)');
  }

  /**
   * A pipeline run's source secrets are sealed per connection (AAD `pipelineSecretAad(jobId,
   * connectionId)`): one source's sealed value moved onto another source, or into another job, does
   * not open. The error names the source (never a value).
   */
  private unsealPipelineSecrets(jobId: string, source: PipelineLoadSource): ConnectionSecrets {
    return this.openConnectionSecrets(
      pipelineSecretAad(jobId, source.connectionId),
      source.secrets,
      `the secrets of source ${source.name}`,
      `the secrets of source ${source.name} cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s, or they were sealed for another job or connection); run the pipeline again, and check the workers' DLX_MASTER_KEY if it persists`,
    );
  }

  /**
   * An EXTERNAL warehouse destination's secrets (the destination connection's password), sealed
   * with `aad` — the job's own (`job:<jobId>`; a pipeline run: `pipelineSecretAad(jobId,
   * <destination connectionId>)`). Undefined for a PLATFORM destination (WAREHOUSE_ADMIN_URL).
   */
  private unsealDestinationSecrets(d: WarehouseDestination, aad: string): ConnectionSecrets | undefined {
    if (!isExternalDestination(d)) return undefined;
    return this.openConnectionSecrets(
      aad,
      d.external.secrets,
      `the secrets of the warehouse's destination connection ${d.external.connectionId}`,
      `the secrets of the workspace's external warehouse (destination connection ${d.external.connectionId}) cannot be opened with this worker’s key (DLX_MASTER_KEY differs from the control plane’s, or they were sealed for another job); run it again, and check the workers' DLX_MASTER_KEY if it persists`,
    );
  }

  /**
   * A PLATFORM destination needs WAREHOUSE_ADMIN_URL; a worker without it throws a plain Error (not
   * permanent: another worker of this consumer may have it). An EXTERNAL destination does not.
   */
  private requireWarehouseFor(d: WarehouseDestination, kind: string): void {
    if (!isExternalDestination(d) && !this.o.warehouseAdminUrl) throw new Error(`this worker has no WAREHOUSE_ADMIN_URL: it cannot run ${kind} jobs into the platform warehouse`);
  }

  /** Opens `connectionSecrets` JSON sealed with `aad`; anything that does not open or parse is SECRET_UNREADABLE (a permanent failure). */
  private openConnectionSecrets(aad: string, sealed: SealedSecret | null, what: string, unreadable: string): ConnectionSecrets {
    if (!sealed) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.unsealWithAad(aad, sealed, unreadable));
    } catch (err) {
      if (err instanceof PermanentJobError) throw err;
      throw new PermanentJobError(`${what} opened but are not JSON (the control plane sealed something else)`, 'SECRET_UNREADABLE');
    }
    const secrets = connectionSecrets.safeParse(parsed);
    // The issues name fields only, never values: nothing secret reaches the run or the logs.
    if (!secrets.success) throw new PermanentJobError(`${what} do not match the contract (${secrets.error.issues.map((i) => i.path.join('.') || i.code).join(', ')})`, 'SECRET_UNREADABLE');
    return secrets.data;
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
        const result =
          job.v === 1
            ? await testConnectionV1(job, this.unsealForJob(job.jobId, job.payload.connectionString), report)
            : await testConnectionV2(job, this.unsealSecrets(job.jobId, job.payload.secrets), this.o.fileStorage, report);
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code, type: job.v === 1 ? 'POSTGRES' : job.payload.config.type }, 'job finished');
        return;
      }
      case 'source.discover': {
        const result = await discoverSource(job, this.unsealSecrets(job.jobId, job.payload.secrets), report, jetStreamPublisher(this.o.js), this.o.fileStorage);
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code, type: job.payload.config.type }, 'job finished');
        return;
      }
      case 'source.sync': {
        this.requireWarehouseFor(job.payload.destination, 'source.sync');
        const secrets = this.unsealSecrets(job.jobId, job.payload.secrets);
        const destinationSecrets = this.unsealDestinationSecrets(job.payload.destination, `job:${job.jobId}`);
        const type = job.payload.config.type;
        const result = await runSync(
          job,
          { warehouseAdminUrl: this.o.warehouseAdminUrl, destinationSecrets, secrets, batchDelayMs: this.o.syncBatchDelayMs, fileStorage: this.o.fileStorage },
          report,
        );
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code, rows: result.rows, type }, 'job finished');
        return;
      }
      case 'column.canonicalize': {
        // ./column-runner.ts starts this consumer only with WAREHOUSE_ADMIN_URL, though an EXTERNAL destination does not need it.
        this.requireWarehouseFor(job.payload.destination, 'column.canonicalize');
        const destinationSecrets = this.unsealDestinationSecrets(job.payload.destination, `job:${job.jobId}`);
        const result = await canonicalizeColumn(job, this.o.warehouseAdminUrl, report, destinationSecrets);
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code, checked: result.checked, normalized: result.normalized, quarantined: result.quarantined }, 'job finished');
        return;
      }
      case 'pipeline.run': {
        if (job.v === 1) {
          // v1 carried only the definition: the worker would have to fetch the sources' settings, which the data plane never does.
          const error = { code: 'PIPELINE_RUN_OUTDATED', message: 'This run was queued by an earlier version that did not pass the sources; run the pipeline again.' };
          await report.state('FAILURE', { summary: 'outdated job: nothing loaded', error });
          log.info({ ok: false, code: error.code }, 'job finished');
          return;
        }
        // ./pipeline-runner.ts starts this consumer only with WAREHOUSE_ADMIN_URL, though an EXTERNAL destination does not need it.
        const destination = job.payload.load.destination;
        this.requireWarehouseFor(destination, 'pipeline.run');
        const destinationSecrets = isExternalDestination(destination) ? this.unsealDestinationSecrets(destination, pipelineSecretAad(job.jobId, destination.external.connectionId)) : undefined;
        const result = await runPipelineLoad(
          job,
          {
            warehouseAdminUrl: this.o.warehouseAdminUrl,
            destinationSecrets,
            fileStorage: this.o.fileStorage,
            batchDelayMs: this.o.syncBatchDelayMs,
            openSecrets: (source) => this.unsealPipelineSecrets(job.jobId, source),
          },
          report,
        );
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code, rows: result.rows, sources: job.payload.load.sources.length }, 'job finished');
        return;
      }
      case 'warehouse.provision':
      case 'warehouse.purge': {
        if (!this.o.warehouseAdminUrl) throw new PermanentJobError('this worker has no WAREHOUSE_ADMIN_URL: it cannot run warehouse jobs', 'WAREHOUSE_NOT_CONFIGURED');
        const result = job.kind === 'warehouse.provision' ? await provisionWarehouse(job, this.o.warehouseAdminUrl, this.key, report) : await purgeWarehouse(job, this.o.warehouseAdminUrl, report);
        await report.state(result.ok ? 'SUCCESS' : 'FAILURE', { summary: result.summary, error: result.error });
        log.info({ ok: result.ok, code: result.error?.code }, 'job finished');
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
    // A connection that kept failing (nothing listening, no answer) keeps connection.test's code for the same cause.
    const code = err instanceof PermanentJobError || err instanceof ConnectionFailure ? err.code : 'MAX_DELIVERIES';
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
          const parsed = jobMessage.safeParse(stored.json());
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
