import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { parseKey, seal } from '@datalinx/common';
import type { TestDatabase } from '@datalinx/db';
import { customersDoc, customersPage, serveApi } from './support/rest-api';
import { MYSQL, mysqlReachable, mysqlSource, mysqlSourceSecrets, postgresSource, postgresSourceSecrets } from './support/sources';
import type { RunResult } from './support/run-events';
import { WarehouseWorkspace } from './support/warehouse-workspace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decided before the suite is declared, so jest run without MYSQL_URL lists the MySQL sync cases as skipped. */
const MYSQL_UP = mysqlReachable('the MySQL source.sync case');

/**
 * source.sync PostgreSQL → warehouse through the real worker process and JetStream: a throwaway
 * source database, a throwaway warehouse database whose workspace schema and role are made by a
 * real warehouse.provision job, and jobs published on JOBS as the control plane does.
 * SYNC_BATCH_DELAY_MS=40 (a test-only knob) slows incremental batches so a worker can be killed mid-sync.
 */
describe('source.sync PostgreSQL → warehouse (worker process, JetStream)', () => {
  const e2e = new WarehouseWorkspace({
    name: 'sync',
    sourceDatabase: true,
    fileStorage: true,
    workerEnv: { SYNC_BATCH_DELAY_MS: '40', WORKER_CONCURRENCY: '2', JOB_ACK_WAIT_MS: '3000', JOB_BACKOFF_BASE_MS: '100' },
    runs: { timeoutMs: 50000, settleMs: 200 }, // settle: late progress events
  });
  const { masterKey, hex, schema, role } = e2e;
  let wh: TestDatabase;
  let srcc: Client;
  let whc: Client;

  beforeAll(async () => {
    await e2e.start();
    ({ srcc, whc, wh } = e2e);
    // The workspace's schema and role, made by the real warehouse.provision job.
    const provisioned = await e2e.provision();
    expect(provisioned.state).toBe('SUCCESS');
  }, 60000);

  afterAll(() => e2e.stop(), 60000);

  const config = () => postgresSource(e2e.src.name);

  async function sync(
    tables: object[],
    o: { drift?: string; batchRows?: number; maxRows?: number; maxStorageBytes?: number; wait?: boolean; config?: object; onMalformed?: string } = {},
  ): Promise<{ runId: string; result: Promise<RunResult> }> {
    const jobId = randomUUID();
    const password = o.config ? ((o.config as { type?: string }).type === 'MYSQL' ? mysqlSourceSecrets() : null) : postgresSourceSecrets();
    const secrets = password ? seal(parseKey(masterKey), JSON.stringify(password), `job:${jobId}`) : null;
    const { runId } = await e2e.publish({
      kind: 'source.sync',
      jobId,
      payload: {
        connectionId: randomUUID(),
        config: o.config ?? config(),
        secrets,
        tables,
        destination: { schema, role },
        driftPolicy: o.drift ?? 'PROPAGATE',
        batchRows: o.batchRows ?? 50_000,
        ...(o.onMalformed ? { onMalformed: o.onMalformed } : {}),
      },
      extra:
        o.maxRows !== undefined || o.maxStorageBytes !== undefined
          ? { limits: { maxRows: o.maxRows ?? 1_000_000_000, ...(o.maxStorageBytes !== undefined ? { maxStorageBytes: o.maxStorageBytes } : {}) } }
          : {},
    });
    return { runId, result: e2e.finished(runId) };
  }

  const q = async <T = Record<string, unknown>>(c: Client, sql: string) => (await c.query(sql)).rows as T[];
  const one = async (c: Client, sql: string) => Object.values((await c.query(sql)).rows[0])[0];
  /** The same digest of the source's and the destination's business columns. */
  const digest = (c: Client, table: string, cols: string) => one(c, `SELECT md5(coalesce(string_agg(row(${cols})::text, '|' ORDER BY id), '')) FROM ${table}`);

  it('full refresh: mixed types copied faithfully, swapped in one transaction (a concurrent reader sees the old rows or the new ones, never a part)', async () => {
    await srcc.query(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
    await srcc.query(
      `CREATE TABLE public.items (id bigint PRIMARY KEY, name text, price numeric(12,2), at timestamptz, day date, flag boolean, tags text[], doc jsonb, uid uuid, m mood, raw bytea, note varchar(20))`,
    );
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
    const types = await q<{ column_name: string; data_type: string }>(
      whc,
      `SELECT column_name, format_type(atttypid, atttypmod) AS data_type FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = '${dest}'::regclass AND a.attname = c.column_name WHERE table_schema = '${schema}' AND table_name = 'raw_public__items' ORDER BY ordinal_position`,
    );
    expect(types.map((t) => `${t.column_name}:${t.data_type}`)).toEqual([
      'id:bigint',
      'name:text',
      'price:numeric(12,2)',
      'at:timestamp with time zone',
      'day:date',
      'flag:boolean',
      'tags:text[]',
      'doc:jsonb',
      'uid:uuid',
      'm:text',
      'raw:bytea',
      'note:character varying(20)',
      '_dlx_run_id:uuid',
      '_dlx_synced_at:timestamp with time zone',
    ]);
    expect(await one(whc, `SELECT count(DISTINCT _dlx_run_id)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}' AND _dlx_synced_at IS NOT NULL`)).toBe(1);
    // Every row carries the run and its sync time, and the swapped-in table keeps no default.
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}' AND _dlx_synced_at IS NOT NULL`)).toBe(30000);
    expect(
      await one(
        whc,
        `SELECT count(*)::int FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'raw_public__items' AND column_default IS NOT NULL`,
      ),
    ).toBe(0);
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
    await e2e.stopWorker('SIGKILL');
    const atKill = Number((await q<{ rows: string }>(whc, `SELECT rows FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}'`))[0].rows);
    expect(atKill).toBeLessThan(20000);
    e2e.startWorker();
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
    const destCols = async () =>
      (
        await q<{ attname: string }>(
          whc,
          `SELECT attname FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        )
      ).map((r) => r.attname);

    const blocked = await (await sync([table], { drift: 'BLOCK' })).result;
    expect(blocked.state).toBe('FAILURE');
    expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
    expect(blocked.error?.message).toMatch(/email, age/);
    expect(blocked.steps.find((s) => s.step === 'public.people: schema drift')?.status).toBe('FAILURE');
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(100);

    const ignored = await (await sync([table], { drift: 'IGNORE' })).result;
    expect(ignored.state).toBe('SUCCESS');
    expect(ignored.steps.find((s) => s.step === 'public.people: schema drift')?.message).toMatch(
      /^new source column\(s\) email, age ignored \(policy IGNORE\)/,
    );
    expect(await destCols()).toEqual(['id', 'name', '_dlx_run_id', '_dlx_synced_at']);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(110);

    await srcc.query(`INSERT INTO public.people SELECT g, 'p' || g, g || '@x.org', g FROM generate_series(111, 115) g`);
    const propagated = await (await sync([table], { drift: 'PROPAGATE' })).result;
    expect(propagated.state).toBe('SUCCESS');
    expect(propagated.steps.find((s) => s.step === 'public.people: schema drift')?.message).toMatch(
      /^new source column\(s\) email, age propagated \(policy PROPAGATE\)/,
    );
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
  it('maxStorageBytes: a run is measured before it starts and while it loads; over the quota it fails with QUOTA_EXCEEDED STORAGE_BYTES and a full refresh swaps nothing in', async () => {
    await srcc.query(`CREATE TABLE public.wide (id int PRIMARY KEY, v text)`);
    await srcc.query(`INSERT INTO public.wide SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 5000) g`);
    const used = async () =>
      Number(
        await one(
          whc,
          `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' AND c.relkind IN ('r', 'm')`,
        ),
      );
    const tables = async () => one(whc, `SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE 'raw_public__wide%'`);

    // Already over the quota: nothing is loaded at all.
    const before = await used();
    const over = await (await sync([{ schema: 'public', name: 'wide', mode: 'FULL' }], { maxStorageBytes: before - 1 })).result;
    expect(over.state).toBe('FAILURE');
    expect(over.error?.code).toBe('QUOTA_EXCEEDED');
    expect(over.steps.find((s) => s.step === 'warehouse: storage quota')?.status).toBe('FAILURE');
    expect(await tables()).toBe(0);

    // A full refresh (about 1 MB) that would take the schema over the quota: nothing swapped in, no staging table left.
    const full = await (await sync([{ schema: 'public', name: 'wide', mode: 'FULL' }], { maxStorageBytes: before + 100_000 })).result;
    expect(full.state).toBe('FAILURE');
    expect(full.error?.code).toBe('QUOTA_EXCEEDED');
    expect(full.error?.message).toMatch(/storage quota/);
    expect(full.steps.find((s) => s.step === 'public.wide: storage quota')?.status).toBe('FAILURE');
    expect(await tables()).toBe(0);

    // Incremental: the batch that goes over is rolled back; the checkpoint stays with the rows committed before it.
    // The schema is measured after the first batch (fits) and after the 11th (over): 10 batches of 250 rows stay.
    const inc = await (
      await sync([{ schema: 'public', name: 'wide', mode: 'INCREMENTAL', cursorColumn: 'id' }], { maxStorageBytes: before + 300_000, batchRows: 250 })
    ).result;
    expect(inc.state).toBe('FAILURE');
    expect(inc.error?.code).toBe('QUOTA_EXCEEDED');
    expect(inc.steps.find((s) => s.step === 'public.wide: storage quota')?.status).toBe('FAILURE');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__wide`)).toBe(2500);
    expect(await one(whc, `SELECT max(rows)::int FROM ${schema}._dlx_sync_state WHERE table_name = 'raw_public__wide' AND NOT completed`)).toBe(2500);
    expect(await tables()).toBe(1);

    // Enough room: it loads.
    const ok = await (await sync([{ schema: 'public', name: 'wide', mode: 'FULL' }], { maxStorageBytes: before + 50_000_000 })).result;
    expect(ok.state).toBe('SUCCESS');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__wide`)).toBe(5000);
  });
  /** Puts a file into file storage as the workspace service does and returns its FILE connection config. */
  const upload = (fileName: string, format: 'CSV' | 'JSON' | 'JSONL', text: string) => e2e.upload(fileName, format, text);

  it('FILE (CSV) with two malformed lines: SKIP_AND_REPORT loads exactly the good rows and lists the bad lines; FAIL fails with INPUT_MALFORMED and leaves the table unchanged', async () => {
    // Line 4 has too few fields, line 7 too many.
    const csv = ['id,name,qty', '1,a\tb,10', '2,"b, with comma",20', '3,c', '4,d\\e,40', '5,e,50', '6,f,60,extra', '7,g,70'].join('\n') + '\n';
    const file = upload('orders.csv', 'CSV', csv);
    const table = { schema: 'files', name: 'orders', mode: 'FULL' };
    const dest = `${schema}.raw_files__orders`;
    const first = await sync([table], { config: file });
    const r1 = await first.result;
    expect(r1.state).toBe('SUCCESS');
    expect(await q(whc, `SELECT id, name, qty FROM ${dest} ORDER BY id`)).toEqual([
      { id: 1, name: 'a\tb', qty: 10 },
      { id: 2, name: 'b, with comma', qty: 20 },
      { id: 4, name: 'd\\e', qty: 40 },
      { id: 5, name: 'e', qty: 50 },
      { id: 7, name: 'g', qty: 70 },
    ]);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}' AND _dlx_synced_at IS NOT NULL`)).toBe(5);
    const skipped = r1.steps.find((s) => s.step === 'files.orders: malformed input');
    expect(skipped?.message).toMatch(/^2 malformed lines skipped: line 4: .*; line 7: /);
    expect(r1.steps.find((s) => s.step === 'files.orders: loaded')?.message).toMatch(
      /full refresh of file orders.csv: 5 rows .*id integer, name text, qty integer/,
    );
    expect(await one(whc, `SELECT tableowner FROM pg_tables WHERE schemaname = '${schema}' AND tablename = 'raw_files__orders'`)).toBe(role);

    const strict = await (await sync([table], { config: file, onMalformed: 'FAIL' })).result;
    expect(strict.state).toBe('FAILURE');
    expect(strict.error?.code).toBe('INPUT_MALFORMED');
    expect(strict.error?.message).toMatch(/line 4\b/);
    expect(strict.error?.message).not.toMatch(/line 7\b/);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}'`)).toBe(5);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(5);
    expect(await one(whc, `SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE '%dlx_staging'`)).toBe(0);

    const incremental = await (await sync([{ ...table, mode: 'INCREMENTAL', cursorColumn: 'id' }], { config: file })).result;
    expect(incremental.state).toBe('FAILURE');
    // A file has no key of its own: INCREMENTAL needs one named (workers/test/reader-incremental.e2e.test.ts covers the rest).
    expect(incremental.error).toMatchObject({
      code: 'PRIMARY_KEY_REQUIRED',
      message: expect.stringMatching(/^Incremental sync of files\.orders needs a primary key: a file has no key of its own/),
    });
  });

  it('FILE (CSV) schema drift: a new column is BLOCKed (table unchanged), IGNOREd (left out) or PROPAGATEd (added) — the decision is a step', async () => {
    const table = { schema: 'files', name: 'drift', mode: 'FULL' };
    const dest = `${schema}.raw_files__drift`;
    const destCols = async () =>
      (
        await q<{ attname: string }>(
          whc,
          `SELECT attname FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        )
      ).map((r) => r.attname);
    expect((await (await sync([table], { config: upload('drift.csv', 'CSV', 'id,name\n1,a\n2,b\n') })).result).state).toBe('SUCCESS');
    const wider = upload('drift.csv', 'CSV', 'id,name,qty\n1,a,10\n2,b,20\n3,c,30\n');
    const blocked = await (await sync([table], { config: wider, drift: 'BLOCK' })).result;
    expect(blocked.state).toBe('FAILURE');
    expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
    expect(blocked.steps.find((s) => s.step === 'files.drift: schema drift')?.status).toBe('FAILURE');
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(2);
    const ignored = await (await sync([table], { config: wider, drift: 'IGNORE' })).result;
    expect(ignored.state).toBe('SUCCESS');
    expect(ignored.steps.find((s) => s.step === 'files.drift: schema drift')?.message).toMatch(/^new source column\(s\) qty ignored \(policy IGNORE\)/);
    expect(await destCols()).toEqual(['id', 'name', '_dlx_run_id', '_dlx_synced_at']);
    expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(3);
    const propagated = await (await sync([table], { config: wider, drift: 'PROPAGATE' })).result;
    expect(propagated.state).toBe('SUCCESS');
    expect(await q(whc, `SELECT id, name, qty FROM ${dest} ORDER BY id`)).toEqual([
      { id: 1, name: 'a', qty: 10 },
      { id: 2, name: 'b', qty: 20 },
      { id: 3, name: 'c', qty: 30 },
    ]);
  });

  it('FILE (JSON Lines) with nested objects: loaded as flattened columns with inferred types', async () => {
    const lines = [
      { id: 1, user: { name: 'ann', geo: { lat: 1.5 } }, at: '2024-05-01T10:00:00Z', ok: true },
      { id: 2, user: { name: 'bob', geo: null }, at: null, ok: false },
      { id: 3, user: { name: 'cy "q"', geo: { lat: -2 } }, at: '2024-05-02T00:00:00+02:00', ok: null },
    ];
    const file = upload('events.jsonl', 'JSONL', lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = await (await sync([{ schema: 'files', name: 'events', mode: 'FULL' }], { config: file })).result;
    expect(r.state).toBe('SUCCESS');
    const dest = `${schema}.raw_files__events`;
    const types = await q<{ attname: string; type: string }>(
      whc,
      `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    );
    expect(Object.fromEntries(types.map((t) => [t.attname, t.type]))).toEqual({
      id: 'integer',
      user__name: 'text',
      user__geo__lat: 'numeric',
      at: 'timestamp with time zone',
      ok: 'boolean',
      _dlx_run_id: 'uuid',
      _dlx_synced_at: 'timestamp with time zone',
    });
    expect(
      await q(
        whc,
        `SELECT id, user__name, user__geo__lat::text AS lat, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS at, ok FROM ${dest} ORDER BY id`,
      ),
    ).toEqual([
      { id: 1, user__name: 'ann', lat: '1.5', at: '2024-05-01 10:00', ok: true },
      { id: 2, user__name: 'bob', lat: null, at: null, ok: false },
      { id: 3, user__name: 'cy "q"', lat: '-2', at: '2024-05-01 22:00', ok: null },
    ]);
    expect(r.steps.some((s) => s.step.endsWith('malformed input'))).toBe(false);
  });

  it('REST_API: paged collections of a local OpenAPI server are loaded, every row once', async () => {
    const customers = Array.from({ length: 23 }, (_, i) => ({
      id: i + 1,
      name: `c${i + 1}`,
      balance: i + 0.25,
      since: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
    }));
    const doc = customersDoc({ id: { type: 'integer' }, name: { type: 'string' }, balance: { type: 'number' }, since: { type: 'string', format: 'date' } });
    const pages: string[] = [];
    const api = await serveApi(doc, (u) => {
      if (u.pathname !== '/api/customers') return undefined;
      pages.push(u.search);
      return customersPage(customers, u);
    });
    try {
      const r = await (await sync([{ schema: 'shop', name: 'customers', mode: 'FULL' }], { config: api.config })).result;
      expect(r.state).toBe('SUCCESS');
      const dest = `${schema}.raw_shop__customers`;
      expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(23);
      expect(await one(whc, `SELECT count(DISTINCT id)::int FROM ${dest}`)).toBe(23);
      expect(await q(whc, `SELECT id::int AS id, name, balance::text AS balance, since::text AS since FROM ${dest} WHERE id IN (1, 23) ORDER BY id`)).toEqual([
        { id: 1, name: 'c1', balance: '0.25', since: '2024-01-01' },
        { id: 23, name: 'c23', balance: '22.25', since: '2024-01-23' },
      ]);
      expect(pages.length).toBeGreaterThanOrEqual(3);
    } finally {
      await api.close();
    }
  });

  (MYSQL_UP ? it : it.skip)('MYSQL (MariaDB): a FULL sync loads the rows with their types mapped to PostgreSQL types', async () => {
    const db = `dlx_sync_${hex}`;
    const root = await mysql.createConnection({ ...MYSQL, multipleStatements: true });
    try {
      await root.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}; USE ${db};
        CREATE TABLE items (id INT PRIMARY KEY, big BIGINT UNSIGNED, price DECIMAL(10,2), name VARCHAR(20), note TEXT, flag TINYINT(1), at DATETIME, ts TIMESTAMP NULL, day DATE, raw BLOB, ratio DOUBLE);
        INSERT INTO items VALUES
          (1, 18446744073709551615, 12.50, 'one', 'tab\\there\\nnewline \\\\ back', 1, '2024-01-02 03:04:05', '2024-01-02 03:04:05', '2024-01-02', X'00FF10', 0.5),
          (2, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL),
          (3, 3, 3.00, 'three', 'x', 1, '2024-12-31 23:59:59', '2024-12-31 23:59:59', '2024-12-31', X'', -1.25);`);
      const config = mysqlSource(db);
      const r = await (await sync([{ schema: db, name: 'items', mode: 'FULL' }], { config })).result;
      expect(r.state).toBe('SUCCESS');
      const dest = `${schema}.raw_${db}__items`;
      const types = await q<{ attname: string; type: string }>(
        whc,
        `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      );
      expect(Object.fromEntries(types.map((t) => [t.attname, t.type]))).toEqual({
        id: 'integer',
        big: 'numeric(20,0)',
        price: 'numeric(10,2)',
        name: 'character varying(20)',
        note: 'text',
        flag: 'smallint',
        at: 'timestamp without time zone',
        ts: 'timestamp with time zone',
        day: 'date',
        raw: 'bytea',
        ratio: 'double precision',
        _dlx_run_id: 'uuid',
        _dlx_synced_at: 'timestamp with time zone',
      });
      expect(
        await q(
          whc,
          `SELECT id, big::text AS big, price::text AS price, name, note, flag, at::text AS at, (ts AT TIME ZONE 'UTC')::text AS ts, day::text AS day, encode(raw, 'hex') AS raw, ratio FROM ${dest} ORDER BY id`,
        ),
      ).toEqual([
        {
          id: 1,
          big: '18446744073709551615',
          price: '12.50',
          name: 'one',
          note: 'tab\there\nnewline \\ back',
          flag: 1,
          at: '2024-01-02 03:04:05',
          ts: '2024-01-02 03:04:05',
          day: '2024-01-02',
          raw: '00ff10',
          ratio: 0.5,
        },
        { id: 2, big: null, price: null, name: null, note: null, flag: 0, at: null, ts: null, day: null, raw: null, ratio: null },
        {
          id: 3,
          big: '3',
          price: '3.00',
          name: 'three',
          note: 'x',
          flag: 1,
          at: '2024-12-31 23:59:59',
          ts: '2024-12-31 23:59:59',
          day: '2024-12-31',
          raw: '',
          ratio: -1.25,
        },
      ]);
      expect(r.steps.find((s) => s.step === `${db}.items: loaded`)?.message).toMatch(/full refresh of MySQL .*: 3 rows/);
    } finally {
      await root.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
      await root.end();
    }
  });
  (MYSQL_UP ? it : it.skip)(
    'MYSQL (MariaDB) INCREMENTAL: keyset batches upserted by primary key; a second run picks up updates and inserts after the checkpoint, no duplicates',
    async () => {
      const db = `dlx_inc_${hex}`;
      const root = await mysql.createConnection({ ...MYSQL, multipleStatements: true });
      try {
        await root.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}; USE ${db};
        CREATE TABLE orders (id INT PRIMARY KEY, name VARCHAR(40), amount DECIMAL(10,2), updated_at DATETIME(3) NOT NULL, ts TIMESTAMP(3) NULL, INDEX (updated_at, id));`);
        // 250 rows, five per updated_at value: the primary key breaks the ties within a batch boundary.
        const values = Array.from(
          { length: 250 },
          (_, i) =>
            `(${i + 1}, 'o${i + 1}', ${(i + 1) * 1.5}, '2024-01-01 00:00:00' + INTERVAL ${Math.floor(i / 5)} SECOND, '2024-01-01 00:00:00' + INTERVAL ${i} SECOND)`,
        );
        await root.query(`INSERT INTO ${db}.orders VALUES ${values.join(', ')}`);
        const config = mysqlSource(db);
        const table = { schema: db, name: 'orders', mode: 'INCREMENTAL', cursorColumn: 'updated_at' };
        const dest = `${schema}.raw_${db}__orders`;

        const r1 = await (await sync([table], { config, batchRows: 40 })).result;
        expect(r1.state).toBe('SUCCESS');
        expect(r1.steps.find((s) => s.step === `${db}.orders: checkpoint`)?.message).toBe('no checkpoint: syncing from the start');
        expect(r1.steps.find((s) => s.step === `${db}.orders: loaded`)?.message).toMatch(
          /^incremental: 250 rows upserted into .* by \(id\) \(250 in 7 batch\(es\) by this attempt\); checkpoint updated_at=2024-01-01 00:00:49\.000, id=250$/,
        );
        expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(250);
        expect(await one(whc, `SELECT count(DISTINCT _dlx_run_id)::int FROM ${dest}`)).toBe(1);
        expect(
          await q(
            whc,
            `SELECT id, name, amount::text AS amount, updated_at::text AS updated_at, (ts AT TIME ZONE 'UTC')::text AS ts FROM ${dest} WHERE id IN (1, 250) ORDER BY id`,
          ),
        ).toEqual([
          { id: 1, name: 'o1', amount: '1.50', updated_at: '2024-01-01 00:00:00', ts: '2024-01-01 00:00:00' },
          { id: 250, name: 'o250', amount: '375.00', updated_at: '2024-01-01 00:00:49', ts: '2024-01-01 00:04:09' },
        ]);
        const pk = await one(
          whc,
          `SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = '${dest}'::regclass AND i.indisprimary`,
        );
        expect(pk).toBe('id');

        // Updates (cursor moved forward) and inserts: only these 15 rows are read by the next run.
        await root.query(`UPDATE ${db}.orders SET name = CONCAT(name, ' updated'), updated_at = '2024-02-01 00:00:00' WHERE id <= 10`);
        await root.query(
          `INSERT INTO ${db}.orders VALUES ${Array.from({ length: 5 }, (_, i) => `(${251 + i}, 'new${i}', 1.00, '2024-02-01 00:00:00', NULL)`).join(', ')}`,
        );
        const second = await sync([table], { config, batchRows: 40 });
        const r2 = await second.result;
        expect(r2.state).toBe('SUCCESS');
        expect(r2.steps.find((s) => s.step === `${db}.orders: checkpoint`)?.message).toMatch(
          /^continuing after the checkpoint of run .*: updated_at=2024-01-01 00:00:49\.000, id=250$/,
        );
        expect(r2.steps.find((s) => s.step === `${db}.orders: loaded`)?.message).toMatch(
          /^incremental: 15 rows upserted .*checkpoint updated_at=2024-02-01 00:00:00\.000, id=255$/,
        );
        expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(255);
        expect(await one(whc, `SELECT count(DISTINCT id)::int FROM ${dest}`)).toBe(255);
        expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${second.runId}'`)).toBe(15);
        expect(await one(whc, `SELECT count(*)::int FROM ${dest} WHERE name LIKE '% updated'`)).toBe(10);
        expect(await one(whc, `SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE '%dlx_batch'`)).toBe(0);

        // Nothing new: a third run loads nothing.
        const r3 = await (await sync([table], { config, batchRows: 40 })).result;
        expect(r3.state).toBe('SUCCESS');
        expect(r3.steps.find((s) => s.step === `${db}.orders: loaded`)?.message).toMatch(/^incremental: 0 rows upserted/);

        // Schema drift: BLOCK fails naming the new column and loads nothing; PROPAGATE adds it and loads the rows.
        await root.query(`ALTER TABLE ${db}.orders ADD COLUMN email VARCHAR(50)`);
        await root.query(`INSERT INTO ${db}.orders VALUES (256, 'with email', 2.00, '2024-03-01 00:00:00', NULL, 'a@x.org')`);
        const blocked = await (await sync([table], { config, drift: 'BLOCK' })).result;
        expect(blocked.state).toBe('FAILURE');
        expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
        expect(blocked.error?.message).toMatch(/new source column\(s\) email in/);
        expect(blocked.steps.find((s) => s.step === `${db}.orders: schema drift`)?.status).toBe('FAILURE');
        expect(await one(whc, `SELECT count(*)::int FROM ${dest}`)).toBe(255);
        const propagated = await (await sync([table], { config, drift: 'PROPAGATE' })).result;
        expect(propagated.state).toBe('SUCCESS');
        expect(propagated.steps.find((s) => s.step === `${db}.orders: schema drift`)?.message).toMatch(
          /^new source column\(s\) email propagated \(policy PROPAGATE\)/,
        );
        expect(await q(whc, `SELECT id, email FROM ${dest} WHERE id >= 255 ORDER BY id`)).toEqual([
          { id: 255, email: null },
          { id: 256, email: 'a@x.org' },
        ]);
        expect(await one(whc, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attname = 'email'`)).toBe(
          'character varying(50)',
        );
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
        await root.end();
      }
    },
  );

  (MYSQL_UP ? it : it.skip)(
    'MYSQL (MariaDB) FULL schema drift: IGNORE keeps the destination columns, PROPAGATE recreates the table with the new one',
    async () => {
      const db = `dlx_drift_${hex}`;
      const root = await mysql.createConnection({ ...MYSQL, multipleStatements: true });
      try {
        await root.query(
          `DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}; USE ${db}; CREATE TABLE t (id INT PRIMARY KEY, a TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y');`,
        );
        const config = mysqlSource(db);
        const table = { schema: db, name: 't', mode: 'FULL' };
        const dest = `${schema}.raw_${db}__t`;
        const destCols = async () =>
          (
            await q<{ attname: string }>(
              whc,
              `SELECT attname FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
            )
          ).map((r) => r.attname);
        expect((await (await sync([table], { config })).result).state).toBe('SUCCESS');
        await root.query(`ALTER TABLE ${db}.t ADD COLUMN b INT; UPDATE ${db}.t SET b = id * 10;`);
        const blocked = await (await sync([table], { config, drift: 'BLOCK' })).result;
        expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
        const ignored = await (await sync([table], { config, drift: 'IGNORE' })).result;
        expect(ignored.state).toBe('SUCCESS');
        expect(ignored.steps.find((s) => s.step === `${db}.t: schema drift`)?.message).toMatch(/^new source column\(s\) b ignored \(policy IGNORE\)/);
        expect(await destCols()).toEqual(['id', 'a', '_dlx_run_id', '_dlx_synced_at']);
        const propagated = await (await sync([table], { config, drift: 'PROPAGATE' })).result;
        expect(propagated.state).toBe('SUCCESS');
        expect(await destCols()).toEqual(['id', 'a', 'b', '_dlx_run_id', '_dlx_synced_at']);
        expect(await q(whc, `SELECT id, a, b FROM ${dest} ORDER BY id`)).toEqual([
          { id: 1, a: 'x', b: 10 },
          { id: 2, a: 'y', b: 20 },
        ]);
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
        await root.end();
      }
    },
  );
});
