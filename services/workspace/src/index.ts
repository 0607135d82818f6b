import { createLogger, loadEnvOrExit, onShutdown, parseKey } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, natsReadiness, OutboxRelay } from '@datalinx/messaging';
import { envSchema } from './env';
import { workspaceDataSource } from './data-source';
import { createWorkspaceServer } from './app';
import { ConnectionDao } from './daos/connection.dao';
import { startConnectionTestResultsConsumer } from './jobs/connection-test-results.consumer';

async function main() {
  const env = loadEnvOrExit('workspace', envSchema);
  const log = createLogger('workspace', env.LOG_LEVEL);
  const masterKey = parseKey(env.DLX_MASTER_KEY);
  const ds = await workspaceDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'workspace', log);
  await ensureStreams(nats.jsm);
  const relay = new OutboxRelay(ds, nats.js, log.child({ component: 'outbox-relay' })).start();
  const results = await startConnectionTestResultsConsumer({ js: nats.js, jsm: nats.jsm, dao: new ConnectionDao(ds), log, durable: env.CONNECTION_RESULTS_DURABLE });
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const server = await createWorkspaceServer({
    ds,
    verifier,
    log,
    settings: { masterKey, testTimeoutMs: env.CONNECTION_TEST_TIMEOUT_MS },
    onOutboxCommit: () => relay.kick(),
    natsReady: natsReadiness(nats.nc),
  });
  await server.listen(env.WORKSPACE_PORT);
  log.info({ port: env.WORKSPACE_PORT }, 'workspace subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'results-consumer', close: () => results.stop() },
    { name: 'outbox-relay', close: () => relay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`workspace failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
