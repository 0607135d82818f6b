import { createLogger, loadEnvOrExit, onShutdown } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, natsReadiness } from '@datalinx/messaging';
import { envSchema } from './env';
import { monitoringDataSource } from './data-source';
import { createMonitoringServer } from './app';
import { natsRunCanceler } from './managers/run-canceler';
import { RunRecorder } from './managers/run-recorder';
import { RunEventsConsumer } from './jobs/run-events.consumer';
import { AuditRecorder } from './managers/audit-recorder';
import { AuditEventsConsumer } from './jobs/audit-events.consumer';
import { ConsumedEventPruner } from './managers/consumed-event-pruner';

async function main() {
  const env = loadEnvOrExit('monitoring', envSchema);
  const log = createLogger('monitoring', env.LOG_LEVEL);
  const ds = await monitoringDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'monitoring', log);
  await ensureStreams(nats.jsm);
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const server = await createMonitoringServer({ ds, verifier, log, natsReady: natsReadiness(nats.nc), canceler: natsRunCanceler(nats.nc) });
  await server.listen(env.MONITORING_PORT);
  log.info({ port: env.MONITORING_PORT }, 'monitoring subgraph listening');
  const consumer = new RunEventsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    recorder: new RunRecorder(ds),
    log,
    durable: env.RUNS_CONSUMER_DURABLE,
    concurrency: env.RUNS_CONSUMER_CONCURRENCY,
    ackWaitMs: env.RUNS_CONSUMER_ACK_WAIT_MS,
    maxDeliver: env.RUNS_CONSUMER_MAX_DELIVER,
  });
  await consumer.start();
  const audit = new AuditEventsConsumer({
    js: nats.js,
    jsm: nats.jsm,
    recorder: new AuditRecorder(ds),
    log,
    durable: env.AUDIT_CONSUMER_DURABLE,
    concurrency: env.AUDIT_CONSUMER_CONCURRENCY,
    ackWaitMs: env.AUDIT_CONSUMER_ACK_WAIT_MS,
    maxDeliver: env.AUDIT_CONSUMER_MAX_DELIVER,
  });
  await audit.start();
  const pruner = new ConsumedEventPruner({ ds, log, retentionMs: env.CONSUMED_EVENT_RETENTION_DAYS * 86_400_000 }).start();
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'run-events', close: () => consumer.stop() },
    { name: 'audit-events', close: () => audit.stop() },
    { name: 'consumed-event pruner', close: () => pruner.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`monitoring failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
