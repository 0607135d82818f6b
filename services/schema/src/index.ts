import { createLogger, loadEnvOrExit, onShutdown } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, natsReadiness, OutboxRelay, startWorkspaceReplica } from '@datalinx/messaging';
import { envSchema } from './env';
import { schemaDataSource } from './data-source';
import { createSchemaServer } from './app';
import { SourceSnapshotDao } from './daos/source-snapshot.dao';
import { startDiscoveryConsumers } from './jobs/discovery.consumer';
import { startPromotionConsumer } from './jobs/promotion.consumer';
import { TargetSchemaDao } from './daos/target-schema.dao';
import { CustomCanonicalTypeDao } from './daos/custom-canonical-type.dao';
import { TargetSchemaManager } from './managers/target-schema.manager';

async function main() {
  const env = loadEnvOrExit('schema', envSchema);
  const log = createLogger('schema', env.LOG_LEVEL);
  const ds = await schemaDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'schema', log);
  await ensureStreams(nats.jsm);
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  // The schema outbox (custom canonical types' and source snapshots' events) → EVENTS.
  const relay = new OutboxRelay(ds, nats.js, log.child({ component: 'outbox-relay' })).start();
  // Discovery results from the workers (EVENTS) → versioned source snapshots (+ their events).
  const discovery = await startDiscoveryConsumers({
    js: nats.js,
    jsm: nats.jsm,
    dao: new SourceSnapshotDao(ds),
    log,
    durable: 'schema-discovery',
    onOutboxCommit: () => relay.kick(),
  });
  // The workspaces of each org (workspace.workspace.created.v1): target schema writes name one of the viewer's org.
  const targetDao = new TargetSchemaDao(ds);
  const workspaces = await startWorkspaceReplica({
    js: nats.js,
    jsm: nats.jsm,
    log,
    durable: 'schema-workspaces',
    record: (orgId, workspaceId) => targetDao.recordWorkspace(orgId, workspaceId),
  });
  // Promotion requests including TARGET_SCHEMAS → a new target schema version in the target workspace (+ the answer).
  const promotions = await startPromotionConsumer({
    js: nats.js,
    jsm: nats.jsm,
    targetSchemas: new TargetSchemaManager(targetDao, new CustomCanonicalTypeDao(ds), ds, () => relay.kick()),
    log,
    durable: 'schema-promotions',
  });
  const server = await createSchemaServer({ ds, verifier, log, natsReady: natsReadiness(nats.nc), onOutboxCommit: () => relay.kick() });
  await server.listen(env.SCHEMA_PORT);
  log.info({ port: env.SCHEMA_PORT }, 'schema subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'discovery consumers (drain)', close: () => discovery.stop() },
    { name: 'workspace replica (drain)', close: () => workspaces.stop() },
    { name: 'promotion consumer (drain)', close: () => promotions.stop() },
    { name: 'outbox-relay', close: () => relay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`schema failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
