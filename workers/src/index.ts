import { createLogger, loadEnvOrExit, natsEndpoints, NetworkPolicy, onShutdown } from '@datalinx/common';
import { connectNats, ensureStreams } from '@datalinx/messaging';
import { envSchema, fileStorageDir } from './env';
import { JobRunner } from './job-runner';
import { startWarehouseRunner } from './warehouse-runner';
import { defaultColumnFilter, startColumnRunner } from './column-runner';
import { sourceFilterFor, startSourceRunner } from './source-runner';
import { defaultPipelineFilter, startPipelineRunner } from './pipeline-runner';
import { setNetworkPolicy } from './connectors/net';
import { startPreviewResponder } from './preview/responder';
import { DagsterClient } from './dagster/client';
import { startCancelResponder } from './dagster/cancel';

/** The data-plane worker: pulls jobs from JetStream, runs them, reports on RUNS. */
async function main() {
  const env = loadEnvOrExit('worker', envSchema);
  const log = createLogger('worker', env.LOG_LEVEL);
  const policy = new NetworkPolicy({
    allowedNetworks: env.CONNECTION_ALLOWED_NETWORKS,
    platformEndpoints: [...natsEndpoints(env.NATS_URL), ...env.DLX_PLATFORM_ENDPOINTS],
  });
  setNetworkPolicy(policy);
  log.info(policy.describe(), 'outbound network policy: platform endpoints refused, special-purpose addresses refused unless in allowedNetworks');
  const nats = await connectNats(env.NATS_URL, 'worker', log);
  await ensureStreams(nats.jsm);
  const options = {
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
    fileStorage: { root: fileStorageDir(env), maxBytes: env.FILE_MAX_BYTES },
    ...(env.DAGSTER_URL ? { dagster: new DagsterClient(env.DAGSTER_URL) } : {}),
  };
  const runner = new JobRunner(options);
  await runner.start();
  const warehouse = env.WAREHOUSE_ADMIN_URL
    ? await startWarehouseRunner({ ...options, filterSubject: env.WAREHOUSE_FILTER_SUBJECT, warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL })
    : null;
  const sources = await startSourceRunner({
    ...options,
    filterSubject: env.SOURCE_FILTER_SUBJECT ?? sourceFilterFor(env.WORKER_FILTER_SUBJECT),
    mainFilterSubject: env.WORKER_FILTER_SUBJECT,
    warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL,
    syncBatchDelayMs: env.SYNC_BATCH_DELAY_MS,
  });
  const columns = env.WAREHOUSE_ADMIN_URL
    ? await startColumnRunner({
        ...options,
        filterSubject: env.COLUMN_FILTER_SUBJECT ?? defaultColumnFilter(env.WORKER_FILTER_SUBJECT),
        mainFilterSubject: env.WORKER_FILTER_SUBJECT,
        warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL,
      })
    : null;
  const pipelines = env.WAREHOUSE_ADMIN_URL
    ? await startPipelineRunner({
        ...options,
        filterSubject: env.PIPELINE_FILTER_SUBJECT ?? defaultPipelineFilter(env.WORKER_FILTER_SUBJECT),
        mainFilterSubject: env.WORKER_FILTER_SUBJECT,
        warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL,
        syncBatchDelayMs: env.SYNC_BATCH_DELAY_MS,
      })
    : null;
  const previews = env.WAREHOUSE_ADMIN_URL
    ? startPreviewResponder({ nc: nats.nc, log, warehouseAdminUrl: env.WAREHOUSE_ADMIN_URL, subject: env.PREVIEW_FILTER_SUBJECT })
    : null;
  const cancels = options.dagster ? startCancelResponder({ nc: nats.nc, log, client: options.dagster }) : null;
  if (!warehouse) log.warn('WAREHOUSE_ADMIN_URL is not set: this worker leaves warehouse, column and pipeline jobs and previews to others');
  log.info(
    {
      concurrency: env.WORKER_CONCURRENCY,
      durable: env.WORKER_DURABLE,
      warehouse: Boolean(warehouse),
      sourceConsumer: Boolean(sources),
      pipelineConsumer: Boolean(pipelines),
    },
    'worker pulling jobs',
  );
  onShutdown(
    log,
    [
      { name: 'jobs (drain in-flight)', close: () => runner.stop() },
      { name: 'warehouse jobs (drain in-flight)', close: async () => warehouse?.stop() },
      { name: 'column jobs (drain in-flight)', close: async () => columns?.stop() },
      { name: 'source jobs (drain in-flight)', close: async () => sources?.stop() },
      { name: 'pipeline jobs (drain in-flight)', close: async () => pipelines?.stop() },
      { name: 'previews (answer in-flight)', close: async () => previews?.stop() },
      { name: 'run cancel requests', close: async () => cancels?.stop() },
      { name: 'nats', close: () => nats.close() },
    ],
    Math.max(10000, env.JOB_ACK_WAIT_MS),
  );
}

main().catch((err) => {
  process.stderr.write(`worker failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
