import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The built worker (`npx tsc -b workers` makes it): e2e tests run the real process, not its modules. */
export const WORKER_ENTRY = path.resolve(__dirname, '..', '..', 'dist', 'index.js');

/**
 * CONNECTION_ALLOWED_NETWORKS of test workers: loopback, where the tests' sources (the test
 * PostgreSQL, MariaDB, REST servers on ephemeral ports) listen. A test of refusals passes its own.
 */
export const LOOPBACK_ALLOWED = '127.0.0.0/8,::1/128';

export interface StartWorkerOptions {
  /**
   * Where the worker's stdout and stderr go: inherited by default (they show in the jest output);
   * given an array, piped into it instead, so a test can quote the output in a timeout message or
   * assert on what the worker logged.
   */
  output?: string[];
}

/**
 * Spawns workers/dist/index.js with the test process's environment plus `env`. NATS_URL is passed
 * on as the tests have it, LOG_LEVEL defaults to TEST_LOG_LEVEL (else `warn`) and
 * CONNECTION_ALLOWED_NETWORKS to LOOPBACK_ALLOWED (the tests' sources are local); everything that
 * shapes the behaviour under test (WORKER_DURABLE, the *_FILTER_SUBJECTs that keep the worker to
 * one workspace on the shared JOBS stream, ack wait, back-off, concurrency, test-only delays) is
 * the caller's `env`, which also wins over those defaults. A variable given as undefined is left
 * out, even when the test process has it (e.g. a worker without WAREHOUSE_ADMIN_URL).
 */
export function startWorker(env: Record<string, string | undefined>, o: StartWorkerOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    env: {
      ...process.env,
      NATS_URL: process.env.NATS_URL!,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
      // A test worker answers no previews unless it is given a workspace (workspaceFilters): NATS is shared by every test file.
      PREVIEW_FILTER_SUBJECT: 'dlx.preview.no-workspace',
      ...env,
    },
    stdio: ['ignore', o.output ? 'pipe' : 'inherit', o.output ? 'pipe' : 'inherit'],
  });
  if (o.output) {
    const output = o.output;
    child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  }
  return child;
}

/**
 * Signals a worker and waits until it has exited; a worker that has already exited is left alone.
 * SIGTERM (the default) lets it drain its jobs; SIGKILL is a crash, for the redelivery tests.
 */
export async function stopWorker(worker: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  await new Promise((r) => {
    worker.once('exit', r);
    worker.kill(signal);
  });
}

/**
 * The *_FILTER_SUBJECT variables that give a worker's consumers only the jobs of one workspace
 * (`jobs.<domain>.*.<workspaceId>`), for the domains named: JOBS is shared by every test file, so
 * a worker that took the jobs of another file's workspace would break both. `connection` is the
 * main consumer (WORKER_FILTER_SUBJECT); a domain left out gets the worker's default filter. The
 * worker also answers that workspace's previews only (PREVIEW_FILTER_SUBJECT).
 */
export function workspaceFilters(workspaceId: string, domains: Array<'connection' | 'warehouse' | 'source' | 'column' | 'pipeline'>): Record<string, string> {
  const variable = {
    connection: 'WORKER_FILTER_SUBJECT',
    warehouse: 'WAREHOUSE_FILTER_SUBJECT',
    source: 'SOURCE_FILTER_SUBJECT',
    column: 'COLUMN_FILTER_SUBJECT',
    pipeline: 'PIPELINE_FILTER_SUBJECT',
  } as const;
  return { ...Object.fromEntries(domains.map((d) => [variable[d], `jobs.${d}.*.${workspaceId}`])), PREVIEW_FILTER_SUBJECT: `dlx.preview.${workspaceId}` };
}
