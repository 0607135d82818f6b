import { createLogger, loadEnvOrExit, onShutdown } from '@datalinx/common';
import { connectNats, ensureStreams } from '@datalinx/messaging';
import { envSchema } from './env';
import { JobRunner } from './job-runner';

/** The data-plane worker: pulls jobs from JetStream, runs them, reports on RUNS. */
async function main() {
  const env = loadEnvOrExit('worker', envSchema);
  const log = createLogger('worker', env.LOG_LEVEL);
  const nats = await connectNats(env.NATS_URL, 'worker', log);
  await ensureStreams(nats.jsm);
  const runner = new JobRunner({
    nc: nats.nc,
    js: nats.js,
    jsm: nats.jsm,
    log,
    masterKey: env.DLX_MASTER_KEY,
    concurrency: env.WORKER_CONCURRENCY,
    durable: env.WORKER_DURABLE,
    filterSubject: env.WORKER_FILTER_SUBJECT,
    ackWaitMs: env.JOB_ACK_WAIT_MS,
    maxDeliver: env.JOB_MAX_DELIVER,
    backoffBaseMs: env.JOB_BACKOFF_BASE_MS,
  });
  await runner.start();
  log.info({ concurrency: env.WORKER_CONCURRENCY, durable: env.WORKER_DURABLE }, 'worker pulling jobs');
  onShutdown(log, [
    { name: 'jobs (drain in-flight)', close: () => runner.stop() },
    { name: 'nats', close: () => nats.close() },
  ], Math.max(10000, env.JOB_ACK_WAIT_MS));
}

main().catch((err) => {
  process.stderr.write(`worker failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
