import { createLogger, loadEnvOrExit, onShutdown } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { OutboxRelay, connectNats, ensureStreams, natsReadiness, requestPreview } from '@datalinx/messaging';
import { envSchema } from './env';
import { mappingDataSource } from './data-source';
import { createMappingServer } from './app';
import { WorkspaceRefDao } from './daos/workspace-ref.dao';
import { startWorkspaceEventsConsumer } from './jobs/workspace-events.consumer';
import { PromotionDao } from './daos/promotion.dao';
import { startPromotionConsumer } from './jobs/promotion.consumer';
import { CatalogDao } from './daos/catalog.dao';
import { MappingDao } from './daos/mapping.dao';
import { DriftRecorder } from './jobs/drift';
import { startSourceSnapshotReplica, startTargetSchemaReplica } from './jobs/catalog-replica.consumer';

async function main() {
  const env = loadEnvOrExit('mapping', envSchema);
  const log = createLogger('mapping', env.LOG_LEVEL);
  const ds = await mappingDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'mapping', log);
  await ensureStreams(nats.jsm);
  // Publishes mapping.* events written to the outbox; kicked after each commit, polled as a backstop.
  const relay = new OutboxRelay(ds, nats.js, log.child({ component: 'OutboxRelay' }), { pollIntervalMs: env.OUTBOX_POLL_INTERVAL_MS }).start();
  // Replicates which org owns each workspace (workspace.workspace.created.v1 → mapping.workspace_ref); createMapping checks it.
  const workspaces = await startWorkspaceEventsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new WorkspaceRefDao(ds),
    log,
    durable: env.WORKSPACE_EVENTS_DURABLE,
  });
  // Its part of workspace promotions (workspace.promotion.requested.v1 → mapping.promotion.completed.v1).
  const promotions = await startPromotionConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new PromotionDao(ds),
    log,
    durable: env.MAPPING_PROMOTION_DURABLE,
    afterCommit: () => relay.kick(),
  });
  // The replicas mappings compile against: target schemas and the latest source snapshots (which also detect drift).
  const catalogs = new CatalogDao(ds);
  const targetSchemas = await startTargetSchemaReplica({ js: nats.js, jsm: nats.jsm, dao: catalogs, log, durable: env.MAPPING_TARGET_SCHEMA_DURABLE });
  const snapshots = await startSourceSnapshotReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: catalogs,
    drift: new DriftRecorder(new MappingDao(ds), catalogs, log.child({ component: 'DriftRecorder' })),
    log,
    durable: env.MAPPING_SOURCE_SNAPSHOT_DURABLE,
    afterCommit: () => relay.kick(),
  });
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const server = await createMappingServer({
    ds,
    verifier,
    log,
    natsReady: natsReadiness(nats.nc),
    afterCommit: () => relay.kick(),
    preview: (request) => requestPreview(nats.nc, request),
  });
  await server.listen(env.MAPPING_PORT);
  log.info({ port: env.MAPPING_PORT }, 'mapping subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'workspace-events consumer', close: () => workspaces.stop() },
    { name: 'promotion consumer', close: () => promotions.stop() },
    { name: 'target schema replica', close: () => targetSchemas.stop() },
    { name: 'source snapshot replica', close: () => snapshots.stop() },
    { name: 'outbox relay', close: () => relay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`mapping failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
