import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { parseKey, seal } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { connectNats, ensureStreams, type Nats } from '@datalinx/messaging';
import { deleteWorkerConsumers } from '../../../test/support/worker-consumers';
import { jobEnvelope, publishJob, type JobSpec } from './jobs';
import { RunEvents, type FinishedOptions, type RunResult } from './run-events';
import { startWorker, stopWorker, workspaceFilters } from './worker-process';
import { fileSource } from './sources';

export interface WarehouseWorkspaceOptions {
  /** Names what this file makes: the worker's durable (`<name>-<workspace>`), the NATS client and the file storage directory. */
  name: string;
  /** A second throwaway database as a PostgreSQL source (`src`, `srcc`). */
  sourceDatabase?: boolean;
  /** A throwaway DLX_FILE_STORAGE_DIR for the worker, where `upload` puts files. */
  fileStorage?: boolean;
  /** The worker's knobs for this file (ack wait, back-off, concurrency, test-only delays), on top of what the workspace needs. */
  workerEnv: Record<string, string>;
  /** How long `finished` waits for a run, and listens after it ends. */
  runs: FinishedOptions;
}

/**
 * One workspace of the data plane, as the worker e2e tests drive it without the control plane: a
 * throwaway warehouse database (the worker's WAREHOUSE_ADMIN_URL), the workspace's schema
 * `ws_<hex>` and role `dlx_ws_<hex>` in it, a worker process whose consumers take only this
 * workspace's connection, warehouse and source jobs, and the run events of this workspace
 * collected from RUNS. Optionally a throwaway source database and a file storage directory.
 *
 * `start` sets it up (in a beforeAll) and `stop` tears down whatever was set up (in an afterAll,
 * even after a failed start): the worker and its JOBS consumers, the databases, the role (roles
 * are cluster-wide) and the files. The schema and role are not made by `start`: `provision` makes
 * them with a real warehouse.provision job; a test may plant them itself instead.
 */
export class WarehouseWorkspace {
  readonly workspaceId = randomUUID();
  readonly orgId = randomUUID();
  readonly masterKey = randomBytes(32).toString('base64');
  readonly hex = randomBytes(6).toString('hex');
  readonly schema = `ws_${this.hex}`;
  readonly role = `dlx_ws_${this.hex}`;
  readonly durable: string;
  /** DLX_FILE_STORAGE_DIR of the worker ('' without fileStorage). */
  readonly storage: string;
  wh!: TestDatabase;
  /** An admin connection to the warehouse database. */
  whc!: Client;
  src!: TestDatabase;
  /** An admin connection to the source database. */
  srcc!: Client;
  nats!: Nats;
  worker?: ChildProcess;
  private runEvents?: RunEvents;

  constructor(private readonly o: WarehouseWorkspaceOptions) {
    this.durable = `${o.name}-${this.workspaceId.slice(0, 8)}`;
    this.storage = o.fileStorage ? mkdtempSync(path.join(os.tmpdir(), `dlx-${o.name}-files-`)) : '';
  }

  /** Creates the databases, connects to them and to NATS, starts collecting run events and starts the worker. */
  async start(): Promise<void> {
    const [wh, src] = await Promise.all([createTestDatabase(), this.o.sourceDatabase ? createTestDatabase() : undefined]);
    this.wh = wh;
    this.whc = new Client({ connectionString: wh.url });
    if (src) {
      this.src = src;
      this.srcc = new Client({ connectionString: src.url });
    }
    await Promise.all([this.whc.connect(), this.srcc?.connect()]);
    this.nats = await connectNats(process.env.NATS_URL!, `${this.o.name}-test`);
    await ensureStreams(this.nats.jsm);
    this.runEvents = new RunEvents(this.nats, this.workspaceId, this.o.runs);
    this.startWorker();
  }

  /** Starts a worker (another one after `stopWorker`: the redelivered jobs go to it). */
  startWorker(): ChildProcess {
    this.worker = startWorker({
      DLX_MASTER_KEY: this.masterKey,
      WORKER_DURABLE: this.durable,
      ...workspaceFilters(this.workspaceId, ['connection', 'warehouse', 'source']),
      WAREHOUSE_ADMIN_URL: this.wh.url,
      ...(this.storage ? { DLX_FILE_STORAGE_DIR: this.storage } : {}),
      ...this.o.workerEnv,
    });
    return this.worker;
  }

  /** Stops the worker: SIGTERM drains it, SIGKILL crashes it (its unacknowledged job is redelivered). */
  async stopWorker(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.worker) await stopWorker(this.worker, signal);
  }

  /** Publishes a job of this workspace on JOBS (see jobEnvelope); returns its jobId and runId. */
  async publish(spec: JobSpec): Promise<{ jobId: string; runId: string }> {
    const job = jobEnvelope(this, spec);
    await publishJob(this.nats, job);
    return { jobId: job.jobId, runId: job.runId };
  }

  /** Waits for a run of this workspace to end (see RunEvents.finished). */
  finished(runId: string, o: Partial<FinishedOptions> = {}): Promise<RunResult> {
    return this.runEvents!.finished(runId, o);
  }

  /**
   * Makes the workspace's schema and role with a real warehouse.provision job (the password sealed
   * for the job, as the workspace service does) and returns its run; the caller checks the state.
   */
  async provision(): Promise<RunResult> {
    const jobId = randomUUID();
    const password = seal(parseKey(this.masterKey), `pw-${this.hex}`, `job:${jobId}`);
    const { runId } = await this.publish({
      kind: 'warehouse.provision',
      jobId,
      payload: { database: this.wh.name, schema: this.schema, role: this.role, password },
    });
    return this.finished(runId);
  }

  /** Puts a file into file storage as the workspace service does (a new fileId each time) and returns its FILE connection config. */
  upload(fileName: string, format: 'CSV' | 'JSON' | 'JSONL', text: string) {
    return fileSource(this.storage, this.workspaceId, fileName, format, text);
  }

  async stop(): Promise<void> {
    await this.stopWorker();
    this.runEvents?.close();
    if (this.nats) await deleteWorkerConsumers(this.nats.jsm, this.durable);
    await this.nats?.close();
    await this.srcc?.end();
    await this.whc?.end();
    await Promise.all([this.src?.drop(), this.wh?.drop()]);
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${this.role}`);
    await admin.end();
    if (this.storage) rmSync(this.storage, { recursive: true, force: true });
  }
}
