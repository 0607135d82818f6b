import { createLogger, loadEnvOrExit, onShutdown, parseKey } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, natsReadiness, OutboxRelay } from '@datalinx/messaging';
import { envSchema } from './env';
import { workspaceDataSource } from './data-source';
import { createWorkspaceServer } from './app';
import { ConnectionDao } from './daos/connection.dao';
import { startConnectionTestResultsConsumer } from './jobs/connection-test-results.consumer';
import { ActiveRunDao } from './daos/active-run.dao';
import { WarehouseDao } from './daos/warehouse.dao';
import { warehouseSettingsFromUrl } from './managers/warehouse.manager';
import {
  KvApiLimitPublisher,
  KvApiUsage,
  PostgresSchemaStorageUsage,
  STORAGE_NOT_MEASURED,
  openQuotaBuckets,
  platformSchemaOf,
  type QuotaDeps,
} from './managers/quota.manager';
import { createDataSource } from '@datalinx/db';
import { promotionCompletedSubject } from '@datalinx/contracts';
import { PipelineScheduler } from './scheduler/scheduler';
import { ConnectionRetestLoop } from './jobs/connection-retest.loop';
import { jobDispatchSettings } from './jobs/job-dispatch-settings';
import { PromotionDao } from './daos/promotion.dao';
import { startPromotionResultsConsumer } from './jobs/promotion-results.consumer';
import { quotaPolicy } from './managers/quota.manager';
import { CanonicalTypeRefDao } from './daos/canonical-type-ref.dao';
import { startCanonicalTypeReplica } from './jobs/canonical-type-replica.consumer';
import { SourceSnapshotRefDao } from './daos/source-snapshot-ref.dao';
import { startSourceSnapshotReplica } from './jobs/source-snapshot-replica.consumer';
import { DbtProjectRefDao } from './daos/dbt-project-ref.dao';
import { startDbtProjectReplica } from './jobs/dbt-project-replica.consumer';

async function main() {
  const env = loadEnvOrExit('workspace', envSchema);
  const log = createLogger('workspace', env.LOG_LEVEL);
  const masterKey = parseKey(env.DLX_MASTER_KEY);
  const previousMasterKeys = env.DLX_MASTER_KEY_PREVIOUS ? [parseKey(env.DLX_MASTER_KEY_PREVIOUS)] : [];
  const connectionSettings = { masterKey, previousMasterKeys, testTimeoutMs: env.CONNECTION_TEST_TIMEOUT_MS };
  const ds = await workspaceDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'workspace', log);
  await ensureStreams(nats.jsm);
  // Before the relay: it publishes API limits to the dlx-quotas bucket's subject.
  const quotaKv = await openQuotaBuckets(nats.nc);
  const relay = new OutboxRelay(ds, nats.js, log.child({ component: 'outbox-relay' })).start();
  // Merges the mapping service's part of each promotion into its report.
  const promotionResults = await startPromotionResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    ds,
    dao: new PromotionDao(ds),
    log,
    durable: env.PROMOTION_RESULTS_DURABLE,
  });
  // The schema service's answers (target schemas) come on their own subject: a second durable.
  const schemaPromotionResults = await startPromotionResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    ds,
    dao: new PromotionDao(ds),
    log,
    durable: `${env.PROMOTION_RESULTS_DURABLE}-schema`,
    filterSubject: promotionCompletedSubject('schema'),
  });
  const results = await startConnectionTestResultsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new ConnectionDao(ds),
    activeRuns: new ActiveRunDao(ds),
    warehouses: new WarehouseDao(ds),
    log,
    durable: env.CONNECTION_RESULTS_DURABLE,
    onOutboxCommit: () => relay.kick(),
  });
  // The schema service's custom canonical types, which canonicalizeColumn resolves by name.
  const canonicalTypes = await startCanonicalTypeReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: new CanonicalTypeRefDao(ds),
    log,
    durable: env.CANONICAL_TYPE_REPLICA_DURABLE,
  });
  // The connections' latest source snapshots (schema service), which syncConnection checks requests against.
  const sourceSnapshots = await startSourceSnapshotReplica({ js: nats.js, jsm: nats.jsm, dao: new SourceSnapshotRefDao(ds), log });
  // The workspaces' latest published dbt projects (mapping service), which pipeline runs build.
  const dbtProjects = await startDbtProjectReplica({ js: nats.js, jsm: nats.jsm, dao: new DbtProjectRefDao(ds), log });
  const warehouseDb = env.WAREHOUSE_ADMIN_URL
    ? await createDataSource({ url: env.WAREHOUSE_ADMIN_URL, schema: 'public', entities: [], poolMax: 2 }).initialize()
    : null;
  const quotaDeps: QuotaDeps = {
    defaults: {
      storageBytes: env.QUOTA_DEFAULT_STORAGE_BYTES,
      concurrentRuns: env.QUOTA_DEFAULT_CONCURRENT_RUNS,
      rowsPerRun: env.QUOTA_DEFAULT_ROWS_PER_RUN,
      apiRequestsPerMinute: env.QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE,
    },
    // Storage = the size of the workspace's schema in the platform warehouse, measured from that
    // database's catalog (only sizes are read); without WAREHOUSE_ADMIN_URL it is not measured.
    storage: warehouseDb ? new PostgresSchemaStorageUsage(warehouseDb, platformSchemaOf(new WarehouseDao(ds))) : STORAGE_NOT_MEASURED,
    api: new KvApiUsage(quotaKv.counts),
    publisher: new KvApiLimitPublisher(quotaKv.limits, log),
  };
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const server = await createWorkspaceServer({
    ds,
    verifier,
    log,
    settings: connectionSettings,
    files: { dir: env.DLX_FILE_STORAGE_DIR, maxBytes: env.FILE_MAX_BYTES },
    onOutboxCommit: () => relay.kick(),
    natsReady: natsReadiness(nats.nc),
    // Host, port and database only; unset: database datalinx_warehouse on DATABASE_URL's server.
    warehouse: env.WAREHOUSE_ADMIN_URL ? warehouseSettingsFromUrl(env.WAREHOUSE_ADMIN_URL) : undefined,
    quotas: quotaDeps,
  });
  await server.listen(env.WORKSPACE_PORT);
  // Every instance runs one: row locks and the run ledger make each due slot fire once in total.
  const scheduler = new PipelineScheduler({
    ds,
    log: log.child({ component: 'scheduler' }),
    intervalMs: env.SCHEDULER_INTERVAL_MS,
    onOutboxCommit: () => relay.kick(),
    quotas: quotaPolicy(ds, quotaDeps),
    settings: jobDispatchSettings(connectionSettings),
  }).start();
  // Every instance runs one too: each due connection is locked (SKIP LOCKED) and re-checked before dispatch.
  const retests = new ConnectionRetestLoop({
    ds,
    dao: new ConnectionDao(ds),
    settings: jobDispatchSettings(connectionSettings),
    quotas: quotaPolicy(ds, quotaDeps),
    log: log.child({ component: 'connection-retest' }),
    intervalS: env.CONNECTION_RETEST_INTERVAL_S,
    onOutboxCommit: () => relay.kick(),
  }).start();
  log.info({ port: env.WORKSPACE_PORT }, 'workspace subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'scheduler', close: () => scheduler.stop() },
    { name: 'promotion results consumer', close: () => promotionResults.stop() },
    { name: 'promotion results consumer (schema)', close: () => schemaPromotionResults.stop() },
    { name: 'connection-retest', close: () => retests.stop() },
    { name: 'results-consumer', close: () => results.stop() },
    { name: 'canonical type replica', close: () => canonicalTypes.stop() },
    { name: 'dbt project replica', close: () => dbtProjects.stop() },
    { name: 'source snapshot replica', close: () => sourceSnapshots.stop() },
    { name: 'outbox-relay', close: () => relay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
    ...(warehouseDb ? [{ name: 'warehouse database', close: () => warehouseDb.destroy() }] : []),
  ]);
}

main().catch((err) => {
  process.stderr.write(`workspace failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
