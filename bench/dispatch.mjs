#!/usr/bin/env node
// Job dispatch latency (ARCHITECTURE.md §10: enqueue → worker start p99 ≤ 50 ms).
// ours:     a transaction writes the job into the outbox, commits, kicks the relay; the relay
//           publishes to JOBS; a PullWorker (the workers' consumer loop) starts the handler.
// baseline: the same PullWorker, with the job published straight to JetStream (no outbox).
// Both run in this process on the same NATS and consumer, interleaved. Needs `npm run build`,
// DATABASE_URL (admin URL; a throwaway database is created) and NATS_URL.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
for (const v of ['DATABASE_URL', 'NATS_URL']) {
  if (!process.env[v]) {
    console.error(`bench: set ${v} (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres NATS_URL=nats://127.0.0.1:4222)`);
    process.exit(2);
  }
}
const N = Number(process.env.BENCH_ITERATIONS ?? 500);
const { createLogger } = require('@datalinx/common');
const { createTestDatabase } = require('@datalinx/db');
const { connectNats, ensureStreams, ensureDurableConsumer, PullWorker, OutboxRelay, enqueueOutbox, encodeJson } = require('@datalinx/messaging');
const { workspaceDataSource } = require(path.join(root, 'services/workspace/dist/data-source.js'));
const { migrate } = require(path.join(root, 'services/workspace/dist/migrate.js'));

const log = createLogger('bench', 'silent');
const db = await createTestDatabase();
await migrate(db.url);
const ds = await workspaceDataSource(db.url, 4).initialize();
const nats = await connectNats(process.env.NATS_URL, 'bench-dispatch');
await ensureStreams(nats.jsm);
const ws = randomUUID();
const subject = `jobs.bench.dispatch.${ws}`;
const consumer = { stream: 'JOBS', durable: `bench-${ws.slice(0, 8)}`, filterSubject: `jobs.*.*.${ws}`, ackWaitMs: 30000, maxDeliver: 3 };
await ensureDurableConsumer(nats.jsm, consumer);
const relay = new OutboxRelay(ds, nats.js, log).start();

const waiting = new Map();
const worker = new PullWorker({
  js: nats.js,
  consumer,
  concurrency: 4,
  log,
  handle: async (m) => {
    const { id } = JSON.parse(new TextDecoder().decode(m.data));
    waiting.get(id)?.(process.hrtime.bigint());
  },
});
await worker.start();

const started = (id) => new Promise((resolve) => waiting.set(id, resolve));
async function viaOutbox() {
  const id = randomUUID();
  const done = started(id);
  const t0 = process.hrtime.bigint();
  await ds.transaction((em) => enqueueOutbox(em, subject, { id }, id));
  relay.kick();
  return Number((await done) - t0) / 1e6;
}
async function direct() {
  const id = randomUUID();
  const done = started(id);
  const t0 = process.hrtime.bigint();
  await nats.js.publish(subject, encodeJson({ id }), { msgID: id });
  return Number((await done) - t0) / 1e6;
}
for (let i = 0; i < 50; i++) {
  await viaOutbox();
  await direct();
}
const ours = [];
const base = [];
for (let i = 0; i < N; i++) {
  ours.push(await viaOutbox());
  base.push(await direct());
}
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) * p)];
console.log(`direct publish → handler  p50=${pct(base, 0.5).toFixed(2)}ms p99=${pct(base, 0.99).toFixed(2)}ms`);
console.log(`outbox commit → handler   p50=${pct(ours, 0.5).toFixed(2)}ms p99=${pct(ours, 0.99).toFixed(2)}ms`);
await worker.stop();
await relay.stop();
await nats.jsm.consumers.delete('JOBS', consumer.durable).catch(() => undefined);
await nats.close();
await ds.destroy();
await db.drop();
console.log(`bench:dispatch ratio=${(pct(ours, 0.99) / pct(base, 0.99)).toFixed(2)} p99_ms=${pct(ours, 0.99).toFixed(2)} budget_p99_ms=50 n=${N}`);
