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
import { startCanonicalTypeReplica, startSourceSnapshotReplica, startTargetSchemaReplica } from './jobs/catalog-replica.consumer';
import { DbtProjectDao } from './daos/dbt-project.dao';
import { DbtProjectPublisher } from './managers/dbt-publisher';
import path from 'node:path';

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
  // Each workspace's dbt project, written to file storage as a new version whenever what its mappings compile to changes.
  const catalogs = new CatalogDao(ds);
  const publisher = new DbtProjectPublisher({
    mappings: new MappingDao(ds),
    catalogs,
    projects: new DbtProjectDao(ds),
    root: path.resolve(env.DLX_DATA_DIR, 'dbt'),
    log: log.child({ component: 'DbtProjectPublisher' }),
    afterCommit: () => relay.kick(),
  });
  const workspaceChanged = (orgId: string, workspaceId: string) => publisher.schedule(orgId, workspaceId);
  // Its part of workspace promotions (workspace.promotion.requested.v1 → mapping.promotion.completed.v1).
  const promotions = await startPromotionConsumer({
    js: nats.js,
    jsm: nats.jsm,
    dao: new PromotionDao(ds),
    log,
    durable: env.MAPPING_PROMOTION_DURABLE,
    afterCommit: () => relay.kick(),
    workspaceChanged,
  });
  // The replicas mappings compile against: target schemas and the latest source snapshots (which also detect drift).
  const targetSchemas = await startTargetSchemaReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: catalogs,
    log,
    durable: env.MAPPING_TARGET_SCHEMA_DURABLE,
    workspaceChanged,
  });
  const snapshots = await startSourceSnapshotReplica({
    js: nats.js,
    jsm: nats.jsm,
    dao: catalogs,
    drift: new DriftRecorder(new MappingDao(ds), catalogs, log.child({ component: 'DriftRecorder' })),
    log,
    durable: env.MAPPING_SOURCE_SNAPSHOT_DURABLE,
    afterCommit: () => relay.kick(),
    workspaceChanged,
  });
  // The organizations' own canonical types (CANONICALIZE and format tests of columns that use them).
  const canonicalTypes = await startCanonicalTypeReplica({ js: nats.js, jsm: nats.jsm, dao: catalogs, log, durable: env.MAPPING_CANONICAL_TYPE_DURABLE });
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const server = await createMappingServer({
    ds,
    verifier,
    log,
    natsReady: natsReadiness(nats.nc),
    afterCommit: () => relay.kick(),
    preview: (request) => requestPreview(nats.nc, request),
    workspaceChanged,
  });
  await server.listen(env.MAPPING_PORT);
  log.info({ port: env.MAPPING_PORT }, 'mapping subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'workspace-events consumer', close: () => workspaces.stop() },
    { name: 'promotion consumer', close: () => promotions.stop() },
    { name: 'target schema replica', close: () => targetSchemas.stop() },
    { name: 'source snapshot replica', close: () => snapshots.stop() },
    { name: 'canonical type replica', close: () => canonicalTypes.stop() },
    { name: 'dbt project publications', close: () => publisher.idle() },
    { name: 'outbox relay', close: () => relay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`mapping failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
