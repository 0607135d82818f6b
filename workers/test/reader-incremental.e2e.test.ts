import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { customersDoc, customersPage, serveApi } from './support/rest-api';
import type { RunResult } from './support/run-events';
import { WarehouseWorkspace } from './support/warehouse-workspace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * source.sync INCREMENTAL of FILE (CSV) and REST_API sources, and FULL of a JSON file's child
 * tables, through the real worker process and JetStream: a throwaway warehouse database whose
 * workspace schema and role are made by a real warehouse.provision job, files put into file
 * storage as the workspace service does, a local HTTP server serving an OpenAPI-described API,
 * jobs published on JOBS as the control plane does. SYNC_BATCH_DELAY_MS=40 (a test-only knob)
 * slows incremental batches so a worker can be killed mid-sync.
 */
describe('source.sync INCREMENTAL of FILE and REST_API sources (worker process, JetStream)', () => {
  const e2e = new WarehouseWorkspace({
    name: 'rsync',
    fileStorage: true,
    workerEnv: { SYNC_BATCH_DELAY_MS: '40', WORKER_CONCURRENCY: '2', JOB_ACK_WAIT_MS: '3000', JOB_BACKOFF_BASE_MS: '100' },
    runs: { timeoutMs: 60000, settleMs: 200 }, // settle: late progress events
  });
  const { schema, role } = e2e;
  let whc: Client;

  beforeAll(async () => {
    await e2e.start();
    whc = e2e.whc;
    // The workspace's schema and role, made by the real warehouse.provision job.
    const provisioned = await e2e.provision();
    expect(provisioned.state).toBe('SUCCESS');
    // The state table as workers made it before record-stream checkpoints (no `progress` column): the first sync adds the column.
    await whc.query(`SET ROLE ${role}`);
    await whc.query(`CREATE TABLE ${schema}._dlx_sync_state (table_name text NOT NULL, run_id uuid NOT NULL, keys text[] NOT NULL, cursor_values text[] NOT NULL,
      rows bigint NOT NULL, completed boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (table_name, run_id))`);
    await whc.query('RESET ROLE');
  }, 60000);

  afterAll(() => e2e.stop(), 60000);

  async function sync(
    tables: object[],
    config: object,
    o: { drift?: string; batchRows?: number; maxRows?: number; onMalformed?: string } = {},
  ): Promise<{ runId: string; result: Promise<RunResult> }> {
    const { runId } = await e2e.publish({
      kind: 'source.sync',
      payload: {
        connectionId: randomUUID(),
        config,
        secrets: null,
        tables,
        destination: { schema, role },
        driftPolicy: o.drift ?? 'PROPAGATE',
        batchRows: o.batchRows ?? 50_000,
        ...(o.onMalformed ? { onMalformed: o.onMalformed } : {}),
      },
      extra: o.maxRows !== undefined ? { limits: { maxRows: o.maxRows } } : {},
    });
    return { runId, result: e2e.finished(runId) };
  }

  const q = async <T = Record<string, unknown>>(sql: string) => (await whc.query(sql)).rows as T[];
  const one = async (sql: string) => Object.values((await whc.query(sql)).rows[0])[0];
  const stepOf = (r: RunResult, step: string) => r.steps.find((s) => s.step === step);

  /** Records read by a run's committed batches (its checkpoint), 0 before the first one (or before the state table exists). */
  const consumedBy = async (runId: string) =>
    Number((await q<{ n: string }>(`SELECT (progress->>'consumed') AS n FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}'`).catch(() => []))[0]?.n ?? 0);

  /** Waits until the run's committed batches have read `records` records, kills the worker without warning (SIGKILL) and starts another; returns the records read at the kill. */
  async function killMidRun(runId: string, records: number, total: number): Promise<number> {
    let committed = 0;
    for (const until = Date.now() + 30000; Date.now() < until && committed < records; await sleep(20)) committed = await consumedBy(runId);
    expect(committed).toBeGreaterThanOrEqual(records);
    await e2e.stopWorker('SIGKILL');
    const atKill = await consumedBy(runId);
    expect(atKill).toBeLessThan(total);
    e2e.startWorker();
    return atKill;
  }

  const expectEveryRowOnce = async (dest: string, n: number) => {
    expect(await one(`SELECT count(*)::int FROM ${dest}`)).toBe(n);
    expect(await one(`SELECT count(DISTINCT id)::int FROM ${dest}`)).toBe(n);
  };

  /** Puts a file into file storage as the workspace service does (a new fileId each time) and returns its FILE connection config. */
  const upload = (fileName: string, format: 'CSV' | 'JSON' | 'JSONL', text: string) => e2e.upload(fileName, format, text);

  it('CSV: the first run loads every record; a second run on a new file upserts only records above the high-water mark (one per key, greatest cursor), no duplicates', async () => {
    const table = { schema: 'files', name: 'orders', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'updated_at' };
    const dest = `${schema}.raw_files__orders`;
    const first = await sync(
      [table],
      upload(
        'orders.csv',
        'CSV',
        ['id,name,updated_at,qty', ...[1, 2, 3, 4, 5].map((i) => `${i},${'abcde'[i - 1]},2024-01-01T00:00:0${i}Z,${i * 10}`)].join('\n') + '\n',
      ),
      { batchRows: 2 },
    );
    const r1 = await first.result;
    expect(r1.state).toBe('SUCCESS');
    expect(stepOf(r1, 'files.orders: checkpoint')?.message).toBe('no high-water mark: loading every record whose updated_at is not NULL');
    expect(stepOf(r1, 'files.orders: loaded')?.message).toMatch(
      /^incremental: 5 rows upserted into .*raw_files__orders by \(id\) from 5 records of file orders\.csv \(5 in 3 batch\(es\) by this attempt\); high-water mark updated_at=2024-01-01 00:00:05\+00; not picked up: 0 with a NULL updated_at/,
    );
    expect(await one(`SELECT count(*)::int FROM ${dest} WHERE _dlx_run_id = '${first.runId}' AND _dlx_synced_at IS NOT NULL`)).toBe(5);
    // Types as the reader infers them; the key is the table's primary key.
    expect(
      await q(
        `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '${dest}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      ),
    ).toEqual([
      { attname: 'id', type: 'integer' },
      { attname: 'name', type: 'text' },
      { attname: 'updated_at', type: 'timestamp with time zone' },
      { attname: 'qty', type: 'integer' },
      { attname: '_dlx_run_id', type: 'uuid' },
      { attname: '_dlx_synced_at', type: 'timestamp with time zone' },
    ]);

    // A new upload (new fileId) of the same file: changed, new, unchanged, NULL-cursor and repeated records.
    // batchRows 3: [1 2 3] [6 6 4] [7 8 5] [9 7].
    const rows2 = [
      '1,a,2024-01-01T00:00:01Z,10', // unchanged: not above the mark
      '2,b2,2024-02-01T00:00:00Z,21', // updated
      '3,c,2024-01-01T00:00:03Z,30',
      '6,f-old,2024-02-03T00:00:00Z,60', // new, twice in one batch with the same cursor: the later one wins
      '6,f-new,2024-02-03T00:00:00Z,61',
      '4,d2,2024-01-15T00:00:00Z,41', // updated (above the mark, below other new ones)
      '7,g,2024-02-05T00:00:00Z,70', // new; an older version of it comes in a later batch and does not replace it
      '8,h,,80', // NULL cursor: not picked up
      '5,e,2024-01-01T00:00:05Z,50', // exactly the mark: not above it
      '9,i,2024-01-20T00:00:00Z,90',
      '7,g-older,2024-02-04T00:00:00Z,71',
    ];
    const second = await sync([table], upload('orders.csv', 'CSV', ['id,name,updated_at,qty', ...rows2].join('\n') + '\n'), { batchRows: 3 });
    const r2 = await second.result;
    expect(r2.state).toBe('SUCCESS');
    expect(stepOf(r2, 'files.orders: checkpoint')?.message).toBe(
      `high-water mark of run ${first.runId}: loading the records whose updated_at > 2024-01-01 00:00:05+00`,
    );
    expect(stepOf(r2, 'files.orders: loaded')?.message).toBe(
      `incremental: 5 rows upserted into ${schema}.raw_files__orders by (id) from 11 records of file orders.csv (5 in 4 batch(es) by this attempt); high-water mark updated_at=2024-02-05 00:00:00+00 (was 2024-01-01 00:00:05+00); ` +
        'not picked up: 1 with a NULL updated_at, 3 not above the previous mark, 0 with a NULL key column, 2 superseded by a record with the same key',
    );
    expect(await q(`SELECT id, name, qty, _dlx_run_id = '${second.runId}' AS second FROM ${dest} ORDER BY id`)).toEqual([
      { id: 1, name: 'a', qty: 10, second: false },
      { id: 2, name: 'b2', qty: 21, second: true },
      { id: 3, name: 'c', qty: 30, second: false },
      { id: 4, name: 'd2', qty: 41, second: true },
      { id: 5, name: 'e', qty: 50, second: false },
      { id: 6, name: 'f-new', qty: 61, second: true },
      { id: 7, name: 'g', qty: 70, second: true },
      { id: 9, name: 'i', qty: 90, second: true },
    ]);
    expect(second.runId).not.toBe(first.runId);
    expect(await one(`SELECT count(*)::int - count(DISTINCT id)::int FROM ${dest}`)).toBe(0);
    expect(await one(`SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE '%dlx_batch'`)).toBe(0);

    // The same file again: nothing above the new mark.
    const third = await (await sync([table], upload('orders.csv', 'CSV', ['id,name,updated_at,qty', ...rows2].join('\n') + '\n'))).result;
    expect(third.state).toBe('SUCCESS');
    expect(stepOf(third, 'files.orders: loaded')?.message).toMatch(
      /^incremental: 0 rows upserted .* from 11 records .*not picked up: 1 with a NULL updated_at, 10 not above the previous mark/,
    );
    expect(await one(`SELECT count(*)::int FROM ${dest}`)).toBe(8);
  });

  it('CSV incremental with malformed lines: SKIP_AND_REPORT loads the good records and lists the bad lines; FAIL fails with INPUT_MALFORMED and leaves the mark', async () => {
    const table = { schema: 'files', name: 'bad', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'seq' };
    const csv = ['id,seq,v', '1,1,a', '2,2', '3,3,c', '4,4,d,extra', '5,5,e'].join('\n') + '\n';
    const r = await (await sync([table], upload('bad.csv', 'CSV', csv))).result;
    expect(r.state).toBe('SUCCESS');
    expect(stepOf(r, 'files.bad: malformed input')?.message).toMatch(/^2 malformed lines skipped: line 3: .*; line 5: /);
    expect(await q(`SELECT id FROM ${schema}.raw_files__bad ORDER BY id`)).toEqual([{ id: 1 }, { id: 3 }, { id: 5 }]);
    const strict = await (await sync([table], upload('bad.csv', 'CSV', csv.replace('5,5,e', '5,6,e')), { onMalformed: 'FAIL' })).result;
    expect(strict.state).toBe('FAILURE');
    expect(strict.error?.code).toBe('INPUT_MALFORMED');
    expect(strict.error?.message).toMatch(/line 3\b.*the batch holding it was rolled back .* high-water mark is unchanged/);
  });

  it("CSV incremental on a file whose inferred types differ from the table: loaded with the table's types (a step says so); a value that does not fit fails the run", async () => {
    const table = { schema: 'files', name: 'typed', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'seq' };
    const dest = `${schema}.raw_files__typed`;
    expect((await (await sync([table], upload('typed.csv', 'CSV', 'id,qty,seq\n1,1.5,1\n'))).result).state).toBe('SUCCESS');
    const fits = await (await sync([table], upload('typed.csv', 'CSV', 'id,qty,seq\n2,2,2\n'))).result;
    expect(fits.state).toBe('SUCCESS');
    expect(stepOf(fits, 'files.typed: column types')?.message).toBe(
      "loaded with the table's types (a value that does not fit fails the batch; sync FULL to take the new types): qty read as integer, loaded as numeric",
    );
    expect(await q(`SELECT id, qty::text AS qty FROM ${dest} ORDER BY id`)).toEqual([
      { id: 1, qty: '1.5' },
      { id: 2, qty: '2' },
    ]);
    const misfit = await (await sync([table], upload('typed.csv', 'CSV', 'id,qty,seq\n3,lots,3\n'))).result;
    expect(misfit.state).toBe('FAILURE');
    expect(misfit.error).toMatchObject({ code: 'PG_22P02', message: expect.stringMatching(/numeric.*lots/) });
    expect(await one(`SELECT count(*)::int FROM ${dest}`)).toBe(2);
  });

  it('REST_API: a paged collection synced incrementally; the second run upserts the changed and new records only, every row once', async () => {
    const at = (day: number) => `2024-03-${String(day).padStart(2, '0')}T12:00:00Z`;
    const customers = Array.from({ length: 23 }, (_, i) => ({ id: i + 1, name: `c${i + 1}`, updated_at: at((i % 20) + 1) }));
    const doc = customersDoc({ id: { type: 'integer' }, name: { type: 'string' }, updated_at: { type: 'string', format: 'date-time', nullable: true } });
    let pages = 0;
    const api = await serveApi(doc, (u) => {
      if (u.pathname !== '/api/customers') return undefined;
      pages++;
      return customersPage(customers, u);
    });
    try {
      const config = api.config;
      const table = { schema: 'shop', name: 'customers', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'updated_at' };
      const dest = `${schema}.raw_shop__customers`;
      const first = await sync([table], config, { batchRows: 7 });
      const r1 = await first.result;
      expect(r1.state).toBe('SUCCESS');
      expect(await one(`SELECT count(*)::int FROM ${dest}`)).toBe(23);
      expect(stepOf(r1, 'shop.customers: loaded')?.message).toMatch(
        /^incremental: 23 rows upserted .* from 23 records of REST API .* \(23 in 4 batch\(es\) by this attempt\); high-water mark updated_at=2024-03-20 12:00:00\+00/,
      );
      expect(pages).toBeGreaterThanOrEqual(3);

      // Three records change, two are added, one loses its cursor.
      customers[2] = { ...customers[2], name: 'c3 changed', updated_at: '2024-04-01T00:00:00Z' };
      customers[10] = { ...customers[10], name: 'c11 changed', updated_at: '2024-04-02T00:00:00Z' };
      customers[22] = { ...customers[22], name: 'c23 changed', updated_at: '2024-03-20T12:00:01Z' };
      customers[5] = { ...customers[5], name: 'c6 no cursor', updated_at: null as unknown as string };
      customers.push({ id: 24, name: 'c24', updated_at: '2024-04-03T00:00:00Z' }, { id: 25, name: 'c25', updated_at: '2024-03-21T00:00:00Z' });
      const second = await sync([table], config, { batchRows: 7 });
      const r2 = await second.result;
      expect(r2.state).toBe('SUCCESS');
      expect(stepOf(r2, 'shop.customers: loaded')?.message).toMatch(
        /^incremental: 5 rows upserted .* from 25 records of REST API .*; high-water mark updated_at=2024-04-03 00:00:00\+00 \(was 2024-03-20 12:00:00\+00\); not picked up: 1 with a NULL updated_at, 19 not above the previous mark/,
      );
      expect(await one(`SELECT count(*)::int FROM ${dest}`)).toBe(25);
      expect(await one(`SELECT count(DISTINCT id)::int FROM ${dest}`)).toBe(25);
      expect(await q(`SELECT id::int AS id, name FROM ${dest} WHERE _dlx_run_id = '${second.runId}' ORDER BY id`)).toEqual([
        { id: 3, name: 'c3 changed' },
        { id: 11, name: 'c11 changed' },
        { id: 23, name: 'c23 changed' },
        { id: 24, name: 'c24' },
        { id: 25, name: 'c25' },
      ]);
      // The record that lost its cursor keeps what was loaded.
      expect(await one(`SELECT name FROM ${dest} WHERE id = 6`)).toBe('c6');
    } finally {
      await api.close();
    }
  });

  it('a worker killed (SIGKILL) mid incremental FILE sync: the redelivered job skips the records already consumed and resumes; exactly the source rows', async () => {
    const n = 20000;
    const lines = Array.from({ length: n }, (_, i) => `${i + 1},${(i + 1) % 977},${'x'.repeat(50)}${i + 1}`);
    const file = upload('events.csv', 'CSV', ['id,seq,payload', ...lines].join('\n') + '\n');
    const { runId, result } = await sync([{ schema: 'files', name: 'events', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'seq' }], file, {
      batchRows: 400,
    });
    const atKill = await killMidRun(runId, 2000, n);
    const r = await result;
    expect(r.state).toBe('SUCCESS');
    const dest = `${schema}.raw_files__events`;
    await expectEveryRowOnce(dest, n);
    expect(await one(`SELECT count(*)::int FROM ${dest} WHERE seq = id % 977 AND payload = repeat('x', 50) || id`)).toBe(n);
    const resumed = stepOf(r, 'files.events: resumed');
    expect(resumed).toBeDefined();
    expect(resumed!.attempt).toBeGreaterThanOrEqual(2);
    const m =
      /^resumed after (\d+) records of file events\.csv read and (\d+) rows upserted by an earlier attempt: the input does not change, so those records are skipped and at most one batch is redone$/.exec(
        resumed!.message,
      );
    expect(m).not.toBeNull();
    // Everything committed before the kill was kept: at most the batch in flight is redone.
    expect(Number(m![1])).toBeGreaterThanOrEqual(atKill);
    expect(Number(m![2])).toBe(Number(m![1]));
    const loaded = r.steps.find((s) => s.step === 'files.events: loaded' && s.attempt === resumed!.attempt)!;
    expect(loaded.message).toMatch(
      new RegExp(
        `^incremental: ${n} rows upserted .* from ${n} records of file events\\.csv \\(${n - Number(m![1])} in \\d+ batch\\(es\\) by this attempt\\); high-water mark seq=976;`,
      ),
    );
    expect(await one(`SELECT completed FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}'`)).toBe(true);
  }, 120000);

  it('a worker killed mid incremental REST_API sync: the redelivered job reads the collection again from the start (it says so); the upsert by key leaves every record once', async () => {
    const n = 3000;
    const items = Array.from({ length: n }, (_, i) => ({ id: i + 1, v: `v${i + 1}`, seq: (i * 7919) % 5000 }));
    const doc = {
      openapi: '3.0.3',
      info: { title: 'feed', version: '1' },
      paths: {
        '/items': {
          get: {
            parameters: [
              { name: 'offset', in: 'query', schema: { type: 'integer' } },
              { name: 'limit', in: 'query', schema: { type: 'integer', maximum: 100 } },
            ],
            responses: {
              '200': {
                description: 'ok',
                content: {
                  'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Item' } } } } },
                },
              },
            },
          },
        },
      },
      components: {
        schemas: { Item: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, v: { type: 'string' }, seq: { type: 'integer' } } } },
      },
    };
    let firstPages = 0;
    const api = await serveApi(doc, (u) => {
      if (u.pathname !== '/api/items') return undefined;
      const offset = Number(u.searchParams.get('offset') ?? 0);
      if (offset === 0) firstPages++;
      const limit = Math.min(Number(u.searchParams.get('limit') ?? 50), 100);
      return { items: items.slice(offset, offset + limit) };
    });
    try {
      const { runId, result } = await sync([{ schema: 'feed', name: 'items', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'seq' }], api.config, {
        batchRows: 50,
      });
      await killMidRun(runId, 300, n);
      const r = await result;
      expect(r.state).toBe('SUCCESS');
      const dest = `${schema}.raw_feed__items`;
      await expectEveryRowOnce(dest, n);
      expect(await one(`SELECT count(*)::int FROM ${dest} WHERE v = 'v' || id AND seq = ((id - 1) * 7919) % 5000`)).toBe(n);
      const resumed = stepOf(r, 'feed.items: resumed');
      expect(resumed?.attempt).toBeGreaterThanOrEqual(2);
      expect(resumed?.message).toMatch(
        /^resumed: REST API .* cannot be read from where an earlier attempt stopped \(after \d+ records, \d+ rows upserted\), so it is read again from the start; the upsert by \(id\) keeps the table free of duplicates$/,
      );
      expect(firstPages).toBe(2); // the first attempt's read and the read again (the item schema is declared: discovery fetches no page)
      const loaded = r.steps.find((s) => s.step === 'feed.items: loaded' && s.attempt === resumed!.attempt)!;
      expect(loaded.message).toMatch(
        new RegExp(`^incremental: ${n} rows upserted .* from ${n} records of REST API .* \\(${n} in \\d+ batch\\(es\\) by this attempt\\)`),
      );
    } finally {
      await api.close();
    }
  }, 120000);

  it('maxRows: an incremental run that would upsert more rows than its limit fails with QUOTA_EXCEEDED; the high-water mark stays, so the next run picks the records up', async () => {
    const table = { schema: 'files', name: 'limited', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'id' };
    const csv = ['id,v', ...Array.from({ length: 100 }, (_, i) => `${i + 1},v${i + 1}`)].join('\n') + '\n';
    const over = await (await sync([table], upload('limited.csv', 'CSV', csv), { batchRows: 30, maxRows: 50 })).result;
    expect(over.state).toBe('FAILURE');
    expect(over.error?.code).toBe('QUOTA_EXCEEDED');
    expect(over.error?.message).toMatch(/at most 50 rows/);
    // The batch that went over was rolled back; the one before it stays.
    expect(await one(`SELECT count(*)::int FROM ${schema}.raw_files__limited`)).toBe(30);
    const ok = await (await sync([table], upload('limited.csv', 'CSV', csv), { batchRows: 30, maxRows: 100 })).result;
    expect(ok.state).toBe('SUCCESS');
    expect(stepOf(ok, 'files.limited: checkpoint')?.message).toBe('no high-water mark: loading every record whose id is not NULL');
    expect(await one(`SELECT count(*)::int FROM ${schema}.raw_files__limited`)).toBe(100);
    expect(ok.progress.at(-1)).toMatchObject({ rows: 100 });
  });

  it('INCREMENTAL without a primaryKey: PRIMARY_KEY_REQUIRED saying what to do, nothing loaded; a cursor column not in the file: COLUMN_NOT_FOUND', async () => {
    const file = upload('nokey.csv', 'CSV', 'id,v\n1,a\n2,b\n');
    const r = await (await sync([{ schema: 'files', name: 'nokey', mode: 'INCREMENTAL', cursorColumn: 'id' }], file)).result;
    expect(r.state).toBe('FAILURE');
    expect(r.error).toMatchObject({
      code: 'PRIMARY_KEY_REQUIRED',
      message: expect.stringMatching(
        /^Incremental sync of files\.nokey needs a primary key: a file has no key of its own, so name .*primaryKey.*or sync it FULL/,
      ),
    });
    expect(stepOf(r, 'files.nokey: loaded')?.status).toBe('FAILURE');
    expect(await one(`SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE 'raw_files__nokey%'`)).toBe(0);

    const noCursor = await (await sync([{ schema: 'files', name: 'nokey', mode: 'INCREMENTAL', primaryKey: ['id'], cursorColumn: 'updated_at' }], file)).result;
    expect(noCursor.state).toBe('FAILURE');
    expect(noCursor.error).toMatchObject({ code: 'COLUMN_NOT_FOUND', message: expect.stringMatching(/updated_at/) });
    expect(await one(`SELECT count(*)::int FROM pg_tables WHERE schemaname = '${schema}' AND tablename LIKE 'raw_files__nokey%'`)).toBe(0);
  });

  it('JSON with nested arrays: the parent table and its child tables load through a FULL sync, child rows carrying the parent key as the reader produces it', async () => {
    const orders = [
      {
        id: 10,
        customer: { name: 'ann' },
        items: [
          { sku: 'A', qty: 1, tags: ['red', 'big'] },
          { sku: 'B', qty: 2, tags: [] },
        ],
      },
      { id: 20, customer: { name: 'bob' }, items: [] },
      { id: 30, customer: { name: 'cy' }, items: [{ sku: 'C', qty: 3, tags: ['blue'] }] },
    ];
    const file = upload('orders.json', 'JSON', JSON.stringify({ data: orders }));
    const tables = ['orders', 'orders__items', 'orders__items__tags'].map((name) => ({ schema: 'json', name, mode: 'FULL' }));
    const r = await (await sync(tables, file)).result;
    expect(r.state).toBe('SUCCESS');
    expect(await q(`SELECT id, customer__name FROM ${schema}.raw_json__orders ORDER BY id`)).toEqual([
      { id: 10, customer__name: 'ann' },
      { id: 20, customer__name: 'bob' },
      { id: 30, customer__name: 'cy' },
    ]);
    // Items: the parent's `id` (every record has a distinct one), the position in the array, and their own key for their children.
    expect(await q(`SELECT _dlx_parent_id, _dlx_index, _dlx_id, sku, qty FROM ${schema}.raw_json__orders__items ORDER BY _dlx_parent_id, _dlx_index`)).toEqual([
      { _dlx_parent_id: 10, _dlx_index: 0, _dlx_id: '10.0', sku: 'A', qty: 1 },
      { _dlx_parent_id: 10, _dlx_index: 1, _dlx_id: '10.1', sku: 'B', qty: 2 },
      { _dlx_parent_id: 30, _dlx_index: 0, _dlx_id: '30.0', sku: 'C', qty: 3 },
    ]);
    expect(await q(`SELECT _dlx_parent_id, _dlx_index, value FROM ${schema}.raw_json__orders__items__tags ORDER BY _dlx_parent_id, _dlx_index`)).toEqual([
      { _dlx_parent_id: '10.0', _dlx_index: 0, value: 'red' },
      { _dlx_parent_id: '10.0', _dlx_index: 1, value: 'big' },
      { _dlx_parent_id: '30.0', _dlx_index: 0, value: 'blue' },
    ]);
    // Every child row joins its parent.
    expect(await one(`SELECT count(*)::int FROM ${schema}.raw_json__orders__items i JOIN ${schema}.raw_json__orders o ON o.id = i._dlx_parent_id`)).toBe(3);
    expect(
      await one(`SELECT count(*)::int FROM ${schema}.raw_json__orders__items__tags t JOIN ${schema}.raw_json__orders__items i ON i._dlx_id = t._dlx_parent_id`),
    ).toBe(3);
    expect(r.steps.find((s) => s.step === 'json.orders__items: loaded')?.message).toMatch(/^full refresh of file orders\.json: 3 rows /);
  });
});
