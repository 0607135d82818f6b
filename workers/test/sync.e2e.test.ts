import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Subscription } from '@nats-io/nats-core';
import { Client } from 'pg';
import { parseKey, seal } from '@datalinx/common';
import { jobSubject, runEvent, type RunEvent } from '@datalinx/contracts';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import { deleteWorkerConsumers } from '../../test/support/worker-consumers';

const WORKER = path.resolve(__dirname, '..', 'dist', 'index.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  state: string;
  error?: { code: string; message: string };
  steps: { step: string; status: string; message: string; attempt: number }[];
  progress: { rows: number; percent?: number; totalRows?: number }[];
}

/**
 * source.sync PostgreSQL → warehouse through the real worker process and JetStream: a throwaway
 * source database, a throwaway warehouse database whose workspace schema and role are made by a
 * real warehouse.provision job, and jobs published on JOBS as the control plane does.
 * SYNC_BATCH_DELAY_MS=40 (a test-only knob) slows incremental batches so a worker can be killed mid-sync.
 */
describe('source.sync PostgreSQL → warehouse (worker process, JetStream)', () => {
  const workspaceId = randomUUID();
  const orgId = randomUUID();
  const masterKey = randomBytes(32).toString('base64');
  const hex = randomBytes(6).toString('hex');
  const schema = `ws_${hex}`;
  const role = `dlx_ws_${hex}`;
  const durable = `sync-${workspaceId.slice(0, 8)}`;
  const pgUrl = new URL(process.env.DATABASE_URL!);
  let src: TestDatabase;
  let wh: TestDatabase;
  let srcc: Client;
  let whc: Client;
  let nats: Nats;
  let worker: ChildProcess;
  let runsSub: Subscription;
  const events = new Map<string, Map<string, RunEvent>>();

  const startWorker = () =>
    spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        NATS_URL: process.env.NATS_URL!,
        DLX_MASTER_KEY: masterKey,
        WORKER_DURABLE: durable,
        WORKER_FILTER_SUBJECT: `jobs.connection.*.${workspaceId}`,
        WAREHOUSE_FILTER_SUBJECT: `jobs.warehouse.*.${workspaceId}`,
        SOURCE_FILTER_SUBJECT: `jobs.source.*.${workspaceId}`,
        WAREHOUSE_ADMIN_URL: wh.url,
        SYNC_BATCH_DELAY_MS: '40',
        WORKER_CONCURRENCY: '2',
        JOB_ACK_WAIT_MS: '3000',
        JOB_BACKOFF_BASE_MS: '100',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });

  const stopWorker = async (w: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') => {
    if (w.exitCode !== null || w.signalCode !== null) return;
    await new Promise((r) => {
      w.once('exit', r);
      w.kill(signal);
    });
  };

  beforeAll(async () => {
    [src, wh] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    srcc = new Client({ connectionString: src.url });
    whc = new Client({ connectionString: wh.url });
    await Promise.all([srcc.connect(), whc.connect()]);
    nats = await connectNats(process.env.NATS_URL!, 'sync-test');
    await ensureStreams(nats.jsm);
    runsSub = nats.nc.subscribe(`runs.${workspaceId}.>`, {
      callback: (_err, m) => {
        const ev = runEvent.safeParse(m.json());
        if (!ev.success) return;
        if (!events.has(ev.data.runId)) events.set(ev.data.runId, new Map());
        events.get(ev.data.runId)!.set(ev.data.eventId, ev.data);
      },
    });
    worker = startWorker();
    // The workspace's schema and role, made by the real warehouse.provision job.
    const jobId = randomUUID();
    const runId = randomUUID();
    await publish('warehouse.provision', jobId, runId, { database: wh.name, schema, role, password: seal(parseKey(masterKey), `pw-${hex}`, `job:${jobId}`) });
    const provisioned = await finished(runId);
    expect(provisioned.state).toBe('SUCCESS');
  }, 60000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    runsSub?.unsubscribe();
    if (nats) await deleteWorkerConsumers(nats.jsm, durable);
    await nats?.close();
    await srcc?.end();
    await whc?.end();
    await Promise.all([src?.drop(), wh?.drop()]);
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  }, 60000);

  async function publish(kind: 'warehouse.provision' | 'source.sync', jobId: string, runId: string, payload: object, extra: object = {}) {
    const job = { v: 1, kind, jobId, runId, orgId, workspaceId, requestedAt: new Date().toISOString(), requestedBy: 'test', payload, ...extra };
    await nats.js.publish(jobSubject(kind, workspaceId), encodeJson(job), { msgID: jobId });
  }

  const config = () => ({ type: 'POSTGRES', host: pgUrl.hostname, port: Number(pgUrl.port || 5432), database: src.name, user: decodeURIComponent(pgUrl.username) || 'postgres', sslMode: 'disable' });

  async function sync(tables: object[], o: { drift?: string; batchRows?: number; maxRows?: number; wait?: boolean } = {}): Promise<{ runId: string; result: Promise<RunResult> }> {
    const jobId = randomUUID();
    const runId = randomUUID();
    const secrets = pgUrl.password ? seal(parseKey(masterKey), JSON.stringify({ password: decodeURIComponent(pgUrl.password) }), `job:${jobId}`) : null;
    await publish(
      'source.sync',
      jobId,
      runId,
      { connectionId: randomUUID(), config: config(), secrets, tables, destination: { schema, role }, driftPolicy: o.drift ?? 'PROPAGATE', batchRows: o.batchRows ?? 50_000 },
      o.maxRows !== undefined ? { limits: { maxRows: o.maxRows } } : {},
    );
    return { runId, result: finished(runId) };
  }

  async function finished(runId: string, timeoutMs = 50000): Promise<RunResult> {
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(100)) {
      const evs = [...(events.get(runId)?.values() ?? [])];
      const end = evs.find((e) => e.type === 'run.state' && ['SUCCESS', 'FAILURE'].includes(e.state));
      if (!end || end.type !== 'run.state') continue;
      await sleep(200); // late progress events
      const all = [...(events.get(runId)?.values() ?? [])];
      const steps = all.flatMap((e) => (e.type === 'run.step' ? [e] : [])).sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
      return {
        state: end.state,
        error: end.error,
        steps: steps.map((s) => ({ step: s.step, status: s.status, message: s.message, attempt: s.attempt })),
        progress: all.flatMap((e) => (e.type === 'run.progress' ? [{ rows: e.rows, percent: e.percent, totalRows: e.totalRows }] : [])),
      };
    }
    throw new Error(`run ${runId} did not finish`);
  }

  const q = async <T = Record<string, unknown>>(c: Client, sql: string) => (await c.query(sql)).rows as T[];
  const one = async (c: Client, sql: string) => Object.values((await c.query(sql)).rows[0])[0];
  /** The same digest of the source's and the destination's business columns. */
  const digest = (c: Client, table: string, cols: string) => one(c, `SELECT md5(coalesce(string_agg(row(${cols})::text, '|' ORDER BY id), '')) FROM ${table}`);

  it('full refresh: mixed types copied faithfully, swapped in one transaction (a concurrent reader sees the old rows or the new ones, never a part)', async () => {
    await srcc.query(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
    await srcc.query(`CREATE TABLE public.items (id bigint PRIMARY KEY, name text, price numeric(12,2), at timestamptz, day date, flag boolean, tags text[], doc jsonb, uid uuid, m mood, raw bytea, note varchar(20))`);
    await srcc.query(`INSERT INTO public.items SELECT g, 'item ' || g || E'\\t\\n"''\\\\', g * 1.25, '2024-01-01'::timestamptz + g * interval '1 minute', '2024-01-01'::date + (g % 365), g % 2 = 0,
                      ARRAY['a', 'b' || g], jsonb_build_object('g', g, 's', 'x"y'), md5(g::text)::uuid, CASE WHEN g % 2 = 0 THEN 'happy' ELSE 'sad' END::mood, decode(md5(g::text), 'hex'), NULLIF('n' || g, 'n7')
                       FROM generate_series(1, 30000) g`);
    const first = await sync([{ schema: 'public', name: 'items', mode: 'FULL' }]);
    const r1 = await first.result;
    expect(r1.state).toBe('SUCCESS');
    const dest = `${schema}.raw_public__items`;
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(30000);
    const cols = 'id, name, price, at, day, flag, tags, doc, uid, m::text, raw, note';
    expect(await digest(whc, dest, cols)).toBe(await digest(srcc, 'public.items', cols));
    const types = await q<{ column_name: string; data_type: string }>(whc, `SELECT column_name, format_type(atttypid, atttypmod) AS data_type FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = '${dest}'::regclass AND a.attname = c.column_name WHERE table_schema = '${schema}' AND table_name = 'raw_public__items' ORDER BY ordinal_position`);
    expect(types.map((t) => `${t.column_name}:${t.data_type}`)).toEqual([
      'id:bigint', 'name:text', 'price:numeric(12,2)', 'at:timestamp with time zone', 'day:date', 'flag:boolean', 'tags:text[]', 'doc:jsonb', 'uid:uuid', 'm:text', 'raw:bytea', 'note:character varying(20)', '_dlx_run_id:uuid', '_dlx_synced_at:timestamp with time zone',
    ]);
    expect(await one(whc, `SELECT count(DISTINCT _dlx_run_id)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}' AND _dlx_synced_at IS NOT NULL`)).toBe(1);
    // Owned by the workspace role: created under SET ROLE.
    expect(await one(whc, `SELECT tableowner FROM pg_tables WHERE schemaname = '${schema}' AND tablename = 'raw_public__items'`)).toBe(role);
    expect(r1.progress.at(-1)).toMatchObject({ rows: 30000, totalRows: 30000, percent: 100 });

    // Second refresh with a different row count while a reader polls the table.
    await srcc.query(`DELETE FROM public.items WHERE id > 20000`);
    await srcc.query(`INSERT INTO public.items (id, name) SELECT g, 'new' FROM generate_series(100001, 100500) g`);
    const seen = new Set<number>();
    let stop = false;
    const reader = (async () => {
      const c = new Client({ connectionString: wh.url });
      await c.connect();
      while (!stop) seen.add(Number(await one(c, `SELECT count(*) FROM ${dest}`)));
      await c.end();
    })();
    const second = await sync([{ schema: 'public', name: 'items', mode: 'FULL' }]);
    const r2 = await second.result;
    stop = true;
    await reader;
    expect(r2.state).toBe('SUCCESS');
    expect([...seen].every((n) => n === 30000 || n === 20500)).toBe(true);
    expect(seen.has(20500)).toBe(true);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${second.runId}'`)).toBe(20500);
    expect(await one(whc, `SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE '%dlx_staging'`)).toBe(0);
    expect(r2.steps.find((s) => s.step === 'public.items: loaded')?.message).toMatch(/full refresh: 20500 rows .* in one transaction/);
  });

  it('incremental: upserts by primary key; a second run picks up updates and inserts from the cursor checkpoint', async () => {
    await srcc.query(`CREATE TABLE public.orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL, amount numeric, status text)`);
    await srcc.query(`INSERT INTO public.orders SELECT g, '2024-01-01'::timestamptz + g * interval '1 second', g, 'new' FROM generate_series(1, 1000) g`);
    const table = { schema: 'public', name: 'orders', mode: 'INCREMENTAL', cursorColumn: 'updated_at' };
    const first = await sync([table], { batchRows: 300 });
    const r1 = await first.result;
    expect(r1.state).toBe('SUCCESS');
    expect(r1.steps.map((s) => s.message)).toContain('no checkpoint: syncing from the start');
    const dest = `${schema}.raw_public__orders`;
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(1000);

    await srcc.query(`UPDATE public.orders SET status = 'paid', updated_at = now() WHERE id <= 10`);
    await srcc.query(`INSERT INTO public.orders SELECT g, now(), g, 'new' FROM generate_series(1001, 1005) g`);
    const second = await sync([table], { batchRows: 300 });
    const r2 = await second.result;
    expect(r2.state).toBe('SUCCESS');
    expect(r2.steps.find((s) => s.step === 'public.orders: checkpoint')?.message).toMatch(new RegExp(`^continuing after the checkpoint of run ${first.runId}`));
    expect(r2.steps.find((s) => s.step === 'public.orders: loaded')?.message).toMatch(/^incremental: 15 rows upserted/);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(1005);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${second.runId}'`)).toBe(15);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE status = 'paid'`)).toBe(10);
    const cols = 'id, updated_at, amount, status';
    expect(await digest(whc, dest, cols)).toBe(await digest(srcc, 'public.orders', cols));
  });

  it('a worker killed (SIGKILL) mid incremental sync: the redelivered job resumes from the checkpoint; exactly the source rows, no duplicates', async () => {
    await srcc.query(`CREATE TABLE public.events (id int PRIMARY KEY, seq bigint NOT NULL, payload text)`);
    await srcc.query(`INSERT INTO public.events SELECT g, g % 977, repeat('x', 50) || g FROM generate_series(1, 20000) g`);
    const { runId, result } = await sync([{ schema: 'public', name: 'events', mode: 'INCREMENTAL', cursorColumn: 'seq' }], { batchRows: 400 });
    // Wait for a few committed batches, then kill the worker without warning.
    let committed = 0;
    for (const until = Date.now() + 30000; Date.now() < until && committed < 2000; await sleep(20)) {
      committed = Number((await q<{ rows: string }>(whc, `SELECT rows FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}'`))[0]?.rows ?? 0);
    }
    expect(committed).toBeGreaterThanOrEqual(2000);
    await stopWorker(worker, 'SIGKILL');
    const atKill = Number((await q<{ rows: string }>(whc, `SELECT rows FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}'`))[0].rows);
    expect(atKill).toBeLessThan(20000);
    worker = startWorker();
    const r = await result;
    expect(r.state).toBe('SUCCESS');
    const dest = `${schema}.raw_public__events`;
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(20000);
    expect(await one(whc, `SELECT count(DISTINCT id)::int FROM ${dest}`)).toBe(20000);
    expect(await digest(whc, dest, 'id, seq, payload')).toBe(await digest(srcc, 'public.events', 'id, seq, payload'));
    const resumed = r.steps.find((s) => s.step === 'public.events: resumed');
    expect(resumed).toBeDefined();
    expect(resumed!.attempt).toBeGreaterThanOrEqual(2);
    const m = /^resumed from checkpoint seq=\d+, id=\d+ after (\d+) rows committed by an earlier attempt$/.exec(resumed!.message);
    expect(m).not.toBeNull();
    // Everything committed before the kill was kept: at most the batch in flight is redone.
    expect(Number(m![1])).toBeGreaterThanOrEqual(atKill);
    const loaded = r.steps.find((s) => s.step === 'public.events: loaded' && s.attempt === resumed!.attempt)!;
    expect(loaded.message).toContain(`(${20000 - Number(m![1])} in `);
  }, 90000);

  it('schema drift: BLOCK fails the run naming the columns, IGNORE skips them, PROPAGATE adds them — the decision is a step', async () => {
    await srcc.query(`CREATE TABLE public.people (id int PRIMARY KEY, name text)`);
    await srcc.query(`INSERT INTO public.people SELECT g, 'p' || g FROM generate_series(1, 100) g`);
    const table = { schema: 'public', name: 'people', mode: 'INCREMENTAL', cursorColumn: 'id' };
    expect((await (await sync([table])).result).state).toBe('SUCCESS');
    await srcc.query(`ALTER TABLE public.people ADD COLUMN email text, ADD COLUMN age int`);
    await srcc.query(`INSERT INTO public.people SELECT g, 'p' || g, g || '@x.org', g FROM generate_series(101, 110) g`);
    const dest = `${schema}.raw_public__people`;
    const destCols = async () => (await q<{ attname: string }>(whc, `SELECT attname FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).map((r) => r.attname);

    const blocked = await (await sync([table], { drift: 'BLOCK' })).result;
    expect(blocked.state).toBe('FAILURE');
    expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
    expect(blocked.error?.message).toMatch(/email, age/);
    expect(blocked.steps.find((s) => s.step === 'public.people: schema drift')?.status).toBe('FAILURE');
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(100);

    const ignored = await (await sync([table], { drift: 'IGNORE' })).result;
    expect(ignored.state).toBe('SUCCESS');
    expect(ignored.steps.find((s) => s.step === 'public.people: schema drift')?.message).toMatch(/^new source column\(s\) email, age ignored \(policy IGNORE\)/);
    expect(await destCols()).toEqual(['id', 'name', '_dlx_run_id', '_dlx_synced_at']);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(110);

    await srcc.query(`INSERT INTO public.people SELECT g, 'p' || g, g || '@x.org', g FROM generate_series(111, 115) g`);
    const propagated = await (await sync([table], { drift: 'PROPAGATE' })).result;
    expect(propagated.state).toBe('SUCCESS');
    expect(propagated.steps.find((s) => s.step === 'public.people: schema drift')?.message).toMatch(/^new source column\(s\) email, age propagated \(policy PROPAGATE\)/);
    expect(await destCols()).toEqual(['id', 'name', '_dlx_run_id', '_dlx_synced_at', 'email', 'age']);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE email IS NOT NULL AND age > 110`)).toBe(5);
  });

  it('maxRows: a run that would load more rows than its limit fails with QUOTA_EXCEEDED ROWS_PER_RUN and loads nothing', async () => {
    await srcc.query(`CREATE TABLE public.big (id int PRIMARY KEY, v text)`);
    await srcc.query(`INSERT INTO public.big SELECT g, 'v' FROM generate_series(1, 1000) g`);
    const full = await (await sync([{ schema: 'public', name: 'big', mode: 'FULL' }], { maxRows: 999 })).result;
    expect(full.state).toBe('FAILURE');
    expect(full.error?.code).toBe('QUOTA_EXCEEDED');
    expect(full.error?.message).toMatch(/at most 999 rows/);
    expect(await one(whc, `SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE 'raw_public__big%'`)).toBe(0);
    const ok = await (await sync([{ schema: 'public', name: 'big', mode: 'FULL' }], { maxRows: 1000 })).result;
    expect(ok.state).toBe('SUCCESS');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__big`)).toBe(1000);
  });
});
