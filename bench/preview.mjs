#!/usr/bin/env node
// Mapping preview latency (ARCHITECTURE.md §10: 50 columns over 1M rows, p95 ≤ 300 ms and ≤ 1.5× the
// same SELECT by hand).
// ours:     requestPreview (core NATS request) → the worker's preview responder → PostgreSQL as
//           the workspace role, read only, statement timeout, the statement checked by the parser.
// baseline: the same SELECT, written by hand, sent with `pg` on an open connection.
// Both run in this process against the same table, interleaved. Needs `npm run build`,
// DATABASE_URL (admin URL; a throwaway database is created) and NATS_URL.
// PREVIEW_BENCH_ROWS (default 1,000,000), BENCH_ITERATIONS (default 200).
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
const ROWS = Number(process.env.PREVIEW_BENCH_ROWS ?? 1_000_000);
const N = Number(process.env.BENCH_ITERATIONS ?? 200);
const { Client } = require('pg');
const { createLogger } = require('@datalinx/common');
const { createTestDatabase } = require('@datalinx/db');
const { connectNats, requestPreview } = require('@datalinx/messaging');
const { previewSubject, BUILT_IN_CANONICAL_TYPES, applySql } = require('@datalinx/contracts');
const { startPreviewResponder } = require(path.join(root, 'workers/dist/preview/responder.js'));

const hex = randomUUID().replace(/-/g, '').slice(0, 12);
const schema = `ws_${hex}`;
const role = `dlx_ws_${hex}`;
const workspaceId = randomUUID();
const db = await createTestDatabase();
const admin = new Client({ connectionString: db.url });
await admin.connect();
const t0 = Date.now();
// A raw table as a sync leaves it: 20 text columns of mixed content, the run columns.
const cols = Array.from({ length: 20 }, (_, i) => `c${i}`);
await admin.query(`CREATE ROLE ${role} NOLOGIN; CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
await admin.query(
  `CREATE UNLOGGED TABLE ${schema}.raw_public__customers AS
     SELECT g::text AS id, ' User' || g || '@Example.COM ' AS email, '+1 (415) 555-' || lpad((g % 10000)::text, 4, '0') AS phone,
            (g % 97)::text AS age, (g * 1.25)::text AS amount, '2024-0' || (1 + g % 9) || '-1' || (g % 9) AS day,
            ${cols.map((c, i) => `md5((g + ${i})::text) AS ${c}`).join(', ')},
            gen_random_uuid() AS _dlx_run_id, now() AS _dlx_synced_at
       FROM generate_series(1, ${ROWS}) g`,
);
await admin.query(`ALTER TABLE ${schema}.raw_public__customers OWNER TO ${role}; ANALYZE ${schema}.raw_public__customers`);
console.log(`bench:preview table of ${ROWS} rows ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// 50 target fields: DIRECT (a column cast to the target type), EXPRESSION, DECORATED (trim, lower, canonicalize, hash, mask).
const email = BUILT_IN_CANONICAL_TYPES.find((t) => t.name === 'email');
const phone = BUILT_IN_CANONICAL_TYPES.find((t) => t.name === 'phone_e164');
const fields = [
  { column: 'id', sql: `("c"."id")::bigint` },
  { column: 'email', sql: `(${applySql(email.sqlNormalizer, '"c"."email"')})::text` },
  { column: 'phone', sql: `(${applySql(phone.sqlNormalizer, '"c"."phone"')})::text` },
  { column: 'age_next_year', sql: `((("c"."age")::integer + 1))::integer` },
  { column: 'amount', sql: `(round(("c"."amount")::numeric, 2))::numeric(12,2)` },
  { column: 'day', sql: `(to_date("c"."day", 'YYYY-MM-DD'))::date` },
  ...cols.map((c) => ({ column: `direct_${c}`, sql: `("c"."${c}")::text` })),
  ...cols.slice(0, 12).map((c) => ({ column: `upper_${c}`, sql: `(upper(btrim("c"."${c}")))::text` })),
  ...cols
    .slice(12, 20)
    .map((c, i) =>
      i % 2
        ? { column: `hash_${c}`, sql: `(encode(sha256(convert_to("c"."${c}", 'UTF8')), 'hex'))::text` }
        : { column: `mask_${c}`, sql: `(repeat('*', greatest(length("c"."${c}") - 4, 0)) || right("c"."${c}", 4))::text` },
    ),
  { column: 'email_domain', sql: `(split_part(lower("c"."email"), '@', 2))::text` },
  { column: 'source', sql: `('crm')::text` },
  { column: 'loaded_at', sql: `("c"."_dlx_synced_at")::timestamptz` },
  { column: 'is_adult', sql: `((("c"."age")::integer >= 18))::boolean` },
];
if (fields.length !== 50) throw new Error(`expected 50 fields, got ${fields.length}`);
const from = `"${schema}"."raw_public__customers" AS "c"`;
const request = { orgId: randomUUID(), workspaceId, destination: { schema, role }, with: null, from, fields, limit: 50, statementTimeoutMs: 10_000 };
const byHand = `SELECT ${fields.map((f) => `${f.sql} AS "${f.column}"`).join(', ')} FROM ${from} LIMIT 50`;

const log = createLogger('bench', 'silent');
const nats = await connectNats(process.env.NATS_URL, 'bench-preview');
const responder = startPreviewResponder({ nc: nats.nc, log, warehouseAdminUrl: db.url, subject: previewSubject(workspaceId) });

async function ours() {
  const t = process.hrtime.bigint();
  const reply = await requestPreview(nats.nc, request);
  if (!reply.ok || reply.rows.length !== 50 || reply.fieldErrors.length) throw new Error(`preview failed: ${JSON.stringify(reply).slice(0, 500)}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
async function baseline() {
  const t = process.hrtime.bigint();
  const { rows } = await admin.query(byHand);
  if (rows.length !== 50) throw new Error('baseline returned a wrong row count');
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

try {
  // Warm-up: connections, plans, caches.
  for (let i = 0; i < 20; i++) {
    await ours();
    await baseline();
  }
  const a = [];
  const b = [];
  for (let i = 0; i < N; i++) {
    if (i % 2) {
      a.push(await ours());
      b.push(await baseline());
    } else {
      b.push(await baseline());
      a.push(await ours());
    }
  }
  const [p50, p95, bp50, bp95] = [pct(a, 50), pct(a, 95), pct(b, 50), pct(b, 95)];
  console.log(
    `bench:preview ${N} previews of 50 fields over ${ROWS} rows; baseline p50_ms=${bp50.toFixed(2)}; ratio_p95=${(p95 / bp95).toFixed(2)} (budget: p95 ≤ 300 ms and ≤ 1.5× baseline)`,
  );
  console.log(`bench:preview p50_ms=${p50.toFixed(2)} p95_ms=${p95.toFixed(2)} baseline_p95_ms=${bp95.toFixed(2)}`);
} finally {
  await responder.stop();
  await nats.close();
  await admin.end();
  await db.drop();
  const c = new Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${role}`);
  await c.end();
}
