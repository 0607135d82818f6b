// bench:sync — PostgreSQL → PostgreSQL sync through the real worker code (workers/dist, run
// in-process: the RSS measured is this process's) against a `psql -c "COPY … TO STDOUT" | psql -c
// "COPY … FROM STDIN"` pipe between the same two databases, in the same run.
// Needs DATABASE_URL (a superuser), psql on PATH, and `npx tsc -b workers` first.
// SYNC_BENCH_ROWS overrides the row count (default 5 000 000). SYNC_BENCH_ROUNDS (default 1): that
// many rounds of both, which of the two goes first alternating, the median ratio reported (a shared
// machine's load moves single figures by ±20 %).
// Each measured copy starts after a CHECKPOINT, so neither pays for writing out what was loaded
// before it (the generated rows, the other's copy): the writeback of gigabytes of dirty pages
// otherwise lands on whichever copy runs next.
// Last line: bench:sync ratio=<ours/pipe rows-per-second, median of the rounds> rss_mb=<peak RSS>
// rows_per_s=<ours, median> ratios=<each round's>
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../workers/package.json', import.meta.url));
const { Client } = require('pg');
const { runSourceSync } = require('../workers/dist/sync/postgres-sync.js');
const { setNetworkPolicy } = require('../workers/dist/connectors/net.js');
const { NetworkPolicy } = require('@datalinx/common');

// The worker's outbound network policy refuses loopback unless allowed; the bench's databases are
// local, so it allows loopback as the tests' workers do (CONNECTION_ALLOWED_NETWORKS).
setNetworkPolicy(new NetworkPolicy({ allowedNetworks: ['127.0.0.0/8', '::1/128'] }));

const ROWS = Number(process.env.SYNC_BENCH_ROWS ?? 5_000_000);
const ROUNDS = Math.max(1, Number(process.env.SYNC_BENCH_ROUNDS ?? 1));
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error('bench:sync needs DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)');
  process.exit(1);
}
const hex = randomBytes(6).toString('hex');
const srcDb = `dlx_bench_src_${hex}`;
const whDb = `dlx_bench_wh_${hex}`;
const schema = `ws_${hex}`;
const role = `dlx_ws_${hex}`;
const urlOf = (db) => {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const connect = async (url) => {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
};

let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);

const admin = await connect(adminUrl);
await admin.query(`CREATE DATABASE ${srcDb}`);
await admin.query(`CREATE DATABASE ${whDb}`);
await admin.query(`CREATE ROLE ${role} NOLOGIN`);
try {
  const src = await connect(urlOf(srcDb));
  const wh = await connect(urlOf(whDb));
  await wh.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
  console.log(`generating ${ROWS} rows …`);
  let t = Date.now();
  await src.query(
    `CREATE TABLE public.bench (id bigint PRIMARY KEY, name text, amount numeric(12,2), ratio double precision, created_at timestamptz, day date, active boolean, code uuid, tags text[], doc jsonb)`,
  );
  await src.query(`INSERT INTO public.bench
    SELECT g, 'customer ' || g, (g % 100000) / 100.0, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 second', '2024-01-01'::date + (g % 1000),
           g % 3 = 0, md5(g::text)::uuid, ARRAY['t' || (g % 10), 'u' || (g % 7)], jsonb_build_object('k', g % 50, 'name', 'n' || g)
      FROM generate_series(1, ${ROWS}) g`);
  await src.query('VACUUM ANALYZE public.bench');
  console.log(`generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const pipeTarget = `CREATE TABLE public.pipe_target (id bigint, name text, amount numeric(12,2), ratio double precision, created_at timestamptz, day date, active boolean, code uuid, tags text[], doc jsonb)`;

  // Ours: the worker's sync (FULL refresh: COPY out → COPY into staging → swap).
  const job = () => ({
    v: 1,
    kind: 'source.sync',
    jobId: randomUUID(),
    runId: randomUUID(),
    orgId: randomUUID(),
    workspaceId: randomUUID(),
    requestedAt: new Date().toISOString(),
    requestedBy: 'bench',
    payload: {
      connectionId: randomUUID(),
      config: {
        type: 'POSTGRES',
        host: new URL(adminUrl).hostname,
        port: Number(new URL(adminUrl).port || 5432),
        database: srcDb,
        user: decodeURIComponent(new URL(adminUrl).username),
        sslMode: 'disable',
      },
      secrets: null,
      tables: [{ schema: 'public', name: 'bench', mode: 'FULL' }],
      destination: { schema, role },
      driftPolicy: 'PROPAGATE',
      batchRows: 50_000,
      statementTimeoutMs: 3_600_000,
    },
  });
  const silent = { step: async () => undefined, progress: async () => undefined };
  const ours = async () => {
    const t = performance.now();
    const out = await runSourceSync(
      job(),
      { warehouseAdminUrl: urlOf(whDb), secrets: new URL(adminUrl).password ? { password: decodeURIComponent(new URL(adminUrl).password) } : {} },
      silent,
    );
    const s = (performance.now() - t) / 1000;
    if (!out.ok || out.rows !== ROWS) throw new Error(`sync failed: ${JSON.stringify(out)}`);
    const loaded = Number((await wh.query(`SELECT count(*) AS n FROM ${schema}.raw_public__bench`)).rows[0].n);
    if (loaded !== ROWS) throw new Error(`the destination has ${loaded} rows, expected ${ROWS}`);
    console.log(`ours: ${ROWS} rows in ${s.toFixed(2)} s = ${Math.round(ROWS / s)} rows/s, peak RSS ${(peak / 2 ** 20).toFixed(0)} MB`);
    return ROWS / s;
  };

  // The pipe: psql COPY TO STDOUT | psql COPY FROM STDIN, same databases, into a new table.
  const pipe = async () => {
    await wh.query('DROP TABLE IF EXISTS public.pipe_target');
    await wh.query(pipeTarget);
    await admin.query('CHECKPOINT');
    const t = performance.now();
    await new Promise((resolve, reject) => {
      const p = spawn(
        'sh',
        [
          '-c',
          `psql -X -q -v ON_ERROR_STOP=1 "$SRC" -c 'COPY public.bench TO STDOUT' | psql -X -q -v ON_ERROR_STOP=1 "$DST" -c 'COPY public.pipe_target FROM STDIN'`,
        ],
        {
          env: { ...process.env, SRC: urlOf(srcDb), DST: urlOf(whDb) },
          stdio: ['ignore', 'inherit', 'inherit'],
        },
      );
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pipe exited with ${code}`))));
    });
    const s = (performance.now() - t) / 1000;
    const piped = Number((await wh.query('SELECT count(*) AS n FROM public.pipe_target')).rows[0].n);
    if (piped !== ROWS) throw new Error(`the pipe loaded ${piped} rows, expected ${ROWS}`);
    console.log(`pipe: ${ROWS} rows in ${s.toFixed(2)} s = ${Math.round(ROWS / s)} rows/s`);
    return ROWS / s;
  };

  const baseRss = process.memoryUsage().rss;
  peak = baseRss;
  const ratios = [];
  const oursRps = [];
  for (let round = 0; round < ROUNDS; round++) {
    let o;
    let pp;
    if (round % 2 === 0) {
      await admin.query('CHECKPOINT');
      o = await ours();
      pp = await pipe();
    } else {
      pp = await pipe();
      await admin.query('CHECKPOINT');
      o = await ours();
    }
    oursRps.push(o);
    ratios.push(o / pp);
  }
  await src.end();
  await wh.end();
  clearInterval(sampler);
  const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    const m = Math.floor(v.length / 2);
    return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  };
  console.log(
    `bench:sync ratio=${median(ratios).toFixed(2)} rss_mb=${Math.round(peak / 2 ** 20)} rows_per_s=${Math.round(median(oursRps))} ratios=${ratios.map((r) => r.toFixed(2)).join(',')}`,
  );
} finally {
  clearInterval(sampler);
  await admin.query(`DROP DATABASE IF EXISTS ${srcDb} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${whDb} WITH (FORCE)`);
  await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
}
