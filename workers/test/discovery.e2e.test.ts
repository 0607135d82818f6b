import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { seal } from '@datalinx/common';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import {
  DISCOVERY_COMPLETED_V1,
  SOURCE_TABLE_DISCOVERED_V1,
  discoveryCompletedV1,
  jobSubject,
  runEvent,
  runSubject,
  sourceTableDiscoveredV1,
  storedFilePath,
  type DiscoveredTable,
  type DiscoveryCompletedV1,
  type RunEvent,
  type SourceDiscoverJobV1,
} from '@datalinx/contracts';

import { sourceFilterFor, subjectsOverlap } from '../src/source-runner';
import { deleteWorkerConsumers } from '../../test/support/worker-consumers';
import { LOOPBACK_ALLOWED } from './support/worker-process';
import { MYSQL, mysqlReachable, mysqlSource, mysqlSourceSecrets } from './support/sources';

const WORKER = path.resolve(__dirname, '..', 'dist', 'index.js');
/** Decided before the suite is declared, so jest run without MYSQL_URL lists the MariaDB case as skipped. */
const MYSQL_UP = mysqlReachable('the MariaDB discovery case');

/**
 * source.discover end to end: a job published on JOBS, the real worker process (its source
 * consumer), and the discovery events read back from EVENTS and the steps from RUNS — against a
 * throwaway PostgreSQL database and a throwaway MariaDB database.
 */
describe('source.discover through JetStream and the worker process', () => {
  let nats: Nats;
  let pgDb: TestDatabase;
  let worker: ChildProcess;
  const masterKey = randomBytes(32);
  const orgId = randomUUID();
  const workspaceId = randomUUID();
  const durable = `disc-${workspaceId.slice(0, 8)}`;
  const myDb = `dlx_disc_${randomBytes(4).toString('hex')}`;
  let my: mysql.Connection;
  /** DLX_FILE_STORAGE_DIR of the worker: FILE connections' uploads are placed here as the workspace service does. */
  const storage = mkdtempSync(path.join(os.tmpdir(), 'dlx-disc-files-'));

  beforeAll(async () => {
    nats = await connectNats(process.env.NATS_URL!, 'discovery-test');
    await ensureStreams(nats.jsm);
    pgDb = await createTestDatabase();
    const c = new Client({ connectionString: pgDb.url });
    await c.connect();
    await c.query(`CREATE SCHEMA sales`);
    await c.query(`CREATE TABLE sales.customer (id int PRIMARY KEY, email text, name varchar(50) NOT NULL, signup date)`);
    await c.query(
      `CREATE TABLE sales.customer_order (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES sales.customer(id), total numeric(10,2), note text)`,
    );
    await c.query(`CREATE TABLE public.audit_log (at timestamptz, msg text)`);
    await c.query(`CREATE VIEW sales.big_orders AS SELECT * FROM sales.customer_order WHERE total > 100`);
    await c.query(
      `INSERT INTO sales.customer SELECT i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'user' || i || '@example.com' END, 'Name ' || (i % 3), DATE '2024-01-01' + i FROM generate_series(1, 40) i`,
    );
    await c.query(`INSERT INTO sales.customer_order SELECT i, 1 + i % 40, i * 10.5, CASE WHEN i % 2 = 0 THEN 'x' END FROM generate_series(1, 100) i`);
    await c.query(`ANALYZE`);
    await c.end();
    if (MYSQL_UP) {
      my = await mysql.createConnection(MYSQL);
      await my.query(`CREATE DATABASE ${myDb}`);
      await my.query(`CREATE TABLE ${myDb}.author (id INT PRIMARY KEY, email VARCHAR(100) NULL, active TINYINT(1) NOT NULL)`);
      await my.query(
        `CREATE TABLE ${myDb}.book (id INT PRIMARY KEY, author_id INT NOT NULL, title VARCHAR(200) NOT NULL, CONSTRAINT book_author_fk FOREIGN KEY (author_id) REFERENCES ${myDb}.author(id)) ENGINE=InnoDB`,
      );
      await my.query(`INSERT INTO ${myDb}.author VALUES (1,'a@example.com',1),(2,'b@example.com',0),(3,NULL,1),(4,'not an email',1)`);
      await my.query(`INSERT INTO ${myDb}.book VALUES (1,1,'One'),(2,1,'Two'),(3,2,'Three')`);
      await my.query(`ANALYZE TABLE ${myDb}.author, ${myDb}.book`);
    }
    worker = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        DLX_MASTER_KEY: masterKey.toString('base64'),
        CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
        WORKER_DURABLE: durable,
        // Isolated worker: connection jobs on the main consumer, source jobs on the source consumer.
        WORKER_FILTER_SUBJECT: `jobs.connection.*.${workspaceId}`,
        SOURCE_FILTER_SUBJECT: `jobs.source.*.${workspaceId}`,
        JOB_ACK_WAIT_MS: '5000',
        DLX_FILE_STORAGE_DIR: storage,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }, 60000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      await new Promise((r) => {
        worker.once('exit', r);
        worker.kill('SIGTERM');
      });
    }
    if (nats) await deleteWorkerConsumers(nats.jsm, durable);
    await nats?.close();
    await pgDb?.drop();
    await my?.query(`DROP DATABASE IF EXISTS ${myDb}`).catch(() => undefined);
    await my?.end();
    rmSync(storage, { recursive: true, force: true });
  });

  /** Publishes a job and collects its tables, completion and run events until the run ends. */
  async function discover(
    config: SourceDiscoverJobV1['payload']['config'],
    scope: SourceDiscoverJobV1['payload']['scope'] = {},
    password: string | undefined = config.type === 'POSTGRES' ? decodeURIComponent(new URL(process.env.DATABASE_URL!).password) || undefined : undefined,
    /** Payload settings of this job (e.g. a lower exactCountMaxBytes). */
    settings: Partial<Pick<SourceDiscoverJobV1['payload'], 'exactCountMaxBytes' | 'profileSampleRows'>> = {},
  ) {
    const jobId = randomUUID();
    const runId = randomUUID();
    const connectionId = randomUUID();
    const tables: DiscoveredTable[] = [];
    let completed: DiscoveryCompletedV1 | undefined;
    const runs: RunEvent[] = [];
    const events = nats.nc.subscribe('schema.>');
    const runSub = nats.nc.subscribe(runSubject(workspaceId, runId));
    const done = (async () => {
      for await (const m of runSub) {
        const ev = runEvent.parse(m.json());
        runs.push(ev);
        if (ev.type === 'run.state' && ['SUCCESS', 'FAILURE'].includes(ev.state)) break;
      }
    })();
    const collected = (async () => {
      for await (const m of events) {
        const body = m.json<{ runId?: string }>();
        if (body.runId !== runId) continue;
        if (m.subject === SOURCE_TABLE_DISCOVERED_V1) tables.push(sourceTableDiscoveredV1.parse(body).table);
        if (m.subject === DISCOVERY_COMPLETED_V1) {
          completed = discoveryCompletedV1.parse(body);
          break;
        }
      }
    })();
    const job: SourceDiscoverJobV1 = {
      v: 1,
      kind: 'source.discover',
      jobId,
      runId,
      orgId,
      workspaceId,
      requestedAt: new Date().toISOString(),
      requestedBy: 'test',
      payload: {
        connectionId,
        config,
        secrets: password ? seal(masterKey, JSON.stringify({ password }), `job:${jobId}`) : null,
        scope,
        profileSampleRows: 1000,
        timeoutMs: 10000,
        exactCountMaxBytes: 64 * 1024 * 1024,
        ...settings,
      },
    };
    await nats.js.publish(jobSubject('source.discover', workspaceId), encodeJson(job), { msgID: jobId });
    const timeout = setTimeout(() => {
      runSub.unsubscribe();
      events.unsubscribe();
    }, 30000);
    await done;
    runSub.unsubscribe();
    const last = runs[runs.length - 1];
    if (last?.type === 'run.state' && last.state === 'SUCCESS') await collected;
    events.unsubscribe();
    clearTimeout(timeout);
    return { runId, connectionId, tables: tables.sort((a, b) => `${a.schema}.${a.name}`.localeCompare(`${b.schema}.${b.name}`)), completed, runs };
  }

  const pgConfig = () => {
    const u = new URL(pgDb.url);
    return {
      type: 'POSTGRES' as const,
      host: u.hostname,
      port: Number(u.port || 5432),
      database: pgDb.name,
      user: decodeURIComponent(u.username),
      sslMode: 'prefer' as const,
    };
  };
  const steps = (runs: RunEvent[]) =>
    runs.filter((r) => r.type === 'run.step').map((r) => (r.type === 'run.step' ? `${r.step}: ${r.status}: ${r.message}` : ''));

  it('PostgreSQL: tables, columns, keys, estimates and profiles of every table, then completed', async () => {
    // The source's own password (the embedded server of `npm test` checks it; a trust-auth server ignores it).
    const r = await discover(pgConfig(), {}, decodeURIComponent(new URL(process.env.DATABASE_URL!).password) || 'ignored-by-trust-auth');
    expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'SUCCESS' });
    expect(steps(r.runs)).toEqual([
      expect.stringMatching(/^connected: SUCCESS: signed in as .* \(PostgreSQL/),
      'tables found: SUCCESS: 4 tables found',
      expect.stringMatching(/^profiled: SUCCESS: 4 tables profiled/),
    ]);
    expect(r.tables.map((t) => `${t.schema}.${t.name}:${t.kind}`)).toEqual([
      'public.audit_log:TABLE',
      'sales.big_orders:VIEW',
      'sales.customer:TABLE',
      'sales.customer_order:TABLE',
    ]);
    expect(r.completed).toMatchObject({ orgId, workspaceId, connectionId: r.connectionId, tableCount: 4 });

    const customer = r.tables.find((t) => t.name === 'customer')!;
    expect(customer).toMatchObject({ rowEstimate: 40, rowEstimateSource: 'STATISTICS', rowEstimateNote: expect.stringMatching(/reltuples/) });
    expect(customer.primaryKey).toEqual(['id']);
    expect(customer.columns.map((c) => [c.name, c.type, c.nullable, c.ordinal])).toEqual([
      ['id', 'integer', false, 1],
      ['email', 'text', true, 2],
      ['name', 'character varying(50)', false, 3],
      ['signup', 'date', true, 4],
    ]);
    const email = customer.columns[1]!.profile!;
    expect(email).toMatchObject({ sampled: 40, nullCount: 10, distinctEstimate: 30, canonicalType: 'email', canonicalShare: 1 });
    expect(email.topValues).toHaveLength(5);
    const id = customer.columns[0]!.profile!;
    expect(id).toMatchObject({ min: '1', max: '40', nullCount: 0, distinctEstimate: 40, canonicalType: 'positive_integer' });
    const name = customer.columns[2]!.profile!;
    expect(name.distinctEstimate).toBe(3);
    expect(name.topValues[0]).toEqual({ value: 'Name 1', count: 14 });
    expect(customer.columns[3]!.profile).toMatchObject({ min: '2024-01-02', max: '2024-02-10', canonicalType: 'date', canonicalShare: 1 });

    const order = r.tables.find((t) => t.name === 'customer_order')!;
    expect(order.foreignKeys).toEqual([
      { name: 'customer_order_customer_id_fkey', columns: ['customer_id'], referencedTable: 'sales.customer', referencedColumns: ['id'] },
    ]);
    expect(order.columns.find((c) => c.name === 'total')).toMatchObject({ type: 'numeric(10,2)', profile: { min: '10.50', max: '1050.00' } });
    expect(order.columns.find((c) => c.name === 'note')!.profile).toMatchObject({ nullCount: 50, distinctEstimate: 1, topValues: [{ value: 'x', count: 50 }] });
    expect(r.tables.find((t) => t.name === 'big_orders')).toMatchObject({
      rowEstimate: null,
      rowEstimateSource: 'UNKNOWN',
      rowEstimateNote: expect.stringMatching(/^A view/),
    });
  }, 60000);

  it('PostgreSQL: picked tables and wildcard patterns limit the scope', async () => {
    const r = await discover(pgConfig(), { tables: ['audit_log'], patterns: ['sales.customer_*', 'big_order?'] });
    expect(r.runs.at(-1)).toMatchObject({ state: 'SUCCESS' });
    expect(r.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(['public.audit_log', 'sales.big_orders', 'sales.customer_order']);
    expect(r.completed?.tableCount).toBe(3);
  }, 60000);

  it('PostgreSQL: a scope that matches nothing fails the run (DISCOVERY_SCOPE_MATCHES_NOTHING, naming the scope and readable tables) and publishes nothing', async () => {
    const none = await discover(pgConfig(), { tables: ['sales.Customer'], patterns: ['nothing*'] });
    expect(none.runs.at(-1)).toMatchObject({
      type: 'run.state',
      state: 'FAILURE',
      error: {
        code: 'DISCOVERY_SCOPE_MATCHES_NOTHING',
        message: expect.stringMatching(
          /^The discovery scope \(tables "sales\.Customer" and patterns "nothing\*"\) matches none .* 4 tables, e\.g\. "public\.audit_log", "sales\.big_orders", "sales\.customer", "sales\.customer_order"\. .*case-sensitively/,
        ),
      },
    });
    expect(steps(none.runs)).toEqual([expect.stringMatching(/^connected: SUCCESS/), expect.stringMatching(/^tables found: FAILURE: The discovery scope/)]);
    // No table and no completion: the schema service builds no snapshot.
    expect(none.tables).toEqual([]);
    expect(none.completed).toBeUndefined();
  }, 60000);

  it('PostgreSQL: a never-analyzed table is counted exactly when small enough on disk, else its estimate is UNKNOWN with the reason', async () => {
    const c = new Client({ connectionString: pgDb.url });
    await c.connect();
    try {
      // Autovacuum off: nothing analyzes them behind the test's back.
      await c.query(`CREATE SCHEMA fresh`);
      await c.query(`CREATE TABLE fresh.small (id int, note text) WITH (autovacuum_enabled = false)`);
      await c.query(`CREATE TABLE fresh.big (id int, note text) WITH (autovacuum_enabled = false)`);
      await c.query(`INSERT INTO fresh.small SELECT i, 'n' || i FROM generate_series(1, 7) i`);
      await c.query(`INSERT INTO fresh.big SELECT i, repeat('x', 100) FROM generate_series(1, 500) i`);
      const [{ small, big }] = (
        await c.query(
          `SELECT reltuples::float8 AS small, (SELECT reltuples::float8 FROM pg_class WHERE oid = 'fresh.big'::regclass) AS big FROM pg_class WHERE oid = 'fresh.small'::regclass`,
        )
      ).rows;
      expect([small, big]).toEqual([-1, -1]);
    } finally {
      await c.end();
    }
    // A bound of 16 kB: small (one 8 kB page) is counted, big (about 64 kB) is not.
    const r = await discover(pgConfig(), { patterns: ['fresh.*'] }, undefined, { exactCountMaxBytes: 16 * 1024 });
    expect(r.runs.at(-1)).toMatchObject({ state: 'SUCCESS' });
    expect(r.tables.map((t) => [t.name, t.rowEstimate, t.rowEstimateSource])).toEqual([
      ['big', null, 'UNKNOWN'],
      ['small', 7, 'EXACT_COUNT'],
    ]);
    expect(r.tables[1]!.rowEstimateNote).toBe('Counted exactly (never analyzed, and small enough to count; 8 kB on disk).');
    expect(r.tables[0]!.rowEstimateNote).toMatch(
      /^Never analyzed \(no statistics\), and \d+ kB on disk is more than the 16 kB discovery counts exactly\. Run ANALYZE on it for an estimate\.$/,
    );
    // With the default bound both are counted.
    const all = await discover(pgConfig(), { patterns: ['fresh.*'] });
    expect(all.tables.map((t) => [t.name, t.rowEstimate, t.rowEstimateSource])).toEqual([
      ['big', 500, 'EXACT_COUNT'],
      ['small', 7, 'EXACT_COUNT'],
    ]);
  }, 60000);

  it('a wrong database fails the run with a typed code and publishes nothing', async () => {
    const r = await discover({ ...pgConfig(), database: 'no_such_db_here' });
    expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'FAILURE', error: { code: 'DATABASE_NOT_FOUND' } });
    expect(r.tables).toEqual([]);
    expect(r.completed).toBeUndefined();
  }, 60000);

  (MYSQL_UP ? it : it.skip)(
    'MariaDB: tables, columns, keys, estimates and profiles',
    async () => {
      const r = await discover(mysqlSource(myDb), {}, mysqlSourceSecrets()?.password);
      expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'SUCCESS' });
      expect(steps(r.runs)[0]).toMatch(/^connected: SUCCESS: signed in as .*MariaDB/);
      expect(r.tables.map((t) => `${t.schema}.${t.name}`)).toEqual([`${myDb}.author`, `${myDb}.book`]);
      const author = r.tables[0]!;
      expect(author.primaryKey).toEqual(['id']);
      // MariaDB's TABLE_ROWS is an InnoDB estimate: a table this small is counted.
      expect(author).toMatchObject({ rowEstimate: 4, rowEstimateSource: 'EXACT_COUNT' });
      expect(author.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
        ['id', 'int(11)', false],
        ['email', 'varchar(100)', true],
        ['active', 'tinyint(1)', false],
      ]);
      expect(author.columns[1]!.profile).toMatchObject({ sampled: 4, nullCount: 1, distinctEstimate: 3, canonicalType: 'email', canonicalShare: 0.6667 });
      expect(author.columns[2]!.profile).toMatchObject({ min: '0', max: '1', canonicalType: 'boolean' });
      const book = r.tables[1]!;
      expect(book.foreignKeys).toEqual([{ name: 'book_author_fk', columns: ['author_id'], referencedTable: `${myDb}.author`, referencedColumns: ['id'] }]);
      const scoped = await discover(mysqlSource(myDb), { patterns: ['b*'] }, mysqlSourceSecrets()?.password);
      expect(scoped.tables.map((t) => t.name)).toEqual(['book']);
    },
    60000,
  );

  /** Puts a file into file storage as the workspace service does and returns its FILE connection config. */
  function upload(fileName: string, format: 'CSV' | 'JSON' | 'JSONL', text: string) {
    const fileId = randomUUID();
    const file = storedFilePath(storage, workspaceId, fileId);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return { type: 'FILE' as const, fileId, fileName, format, sizeBytes: Buffer.byteLength(text) };
  }

  it('FILE (CSV): one table, inferred column types, the rows counted, profiles with the e-mail column detected', async () => {
    const lines = ['id,email,amount,signup'];
    for (let i = 1; i <= 20; i++)
      lines.push(`${i},${i === 7 ? '' : i === 13 ? 'not an email' : `user${i}@example.com`},${i * 2.5},2024-03-${String(i).padStart(2, '0')}`);
    const r = await discover(upload('Customers.csv', 'CSV', `${lines.join('\n')}\n`));
    expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'SUCCESS' });
    expect(steps(r.runs)).toEqual([
      expect.stringMatching(/^file read: SUCCESS: CSV file Customers\.csv/),
      'tables found: SUCCESS: 1 table found',
      expect.stringMatching(/^profiled: SUCCESS: 1 table profiled/),
    ]);
    expect(r.completed).toMatchObject({ connectionId: r.connectionId, tableCount: 1 });
    expect(r.tables).toHaveLength(1);
    const t = r.tables[0]!;
    expect(t).toMatchObject({
      schema: 'files',
      name: 'customers',
      kind: 'TABLE',
      rowEstimate: 20,
      rowEstimateSource: 'FILE_READ',
      primaryKey: [],
      foreignKeys: [],
    });
    expect(t.columns.map((c) => [c.name, c.type, c.nullable, c.ordinal])).toEqual([
      ['id', 'integer', false, 1],
      ['email', 'text', true, 2],
      ['amount', 'numeric', false, 3],
      ['signup', 'date', false, 4],
    ]);
    const email = t.columns[1]!.profile!;
    expect(email).toMatchObject({ sampled: 20, nullCount: 1, distinctEstimate: 19, canonicalType: 'email' });
    expect(email.canonicalShare).toBeGreaterThanOrEqual(0.9);
    expect(t.columns[0]!.profile).toMatchObject({ min: '1', max: '20', nullCount: 0, distinctEstimate: 20 });
    expect(t.columns[2]!.profile).toMatchObject({ min: '2.5', max: '50' });
    expect(t.columns[3]!.profile).toMatchObject({ min: '2024-03-01', max: '2024-03-20', canonicalType: 'date', canonicalShare: 1 });
  }, 60000);

  it('FILE (JSON Lines) with a nested array: the parent and its child table (a foreign key to the parent), scope patterns apply', async () => {
    const records = [
      {
        id: 1,
        customer: 'ann',
        items: [
          { sku: 'A-1', qty: 2 },
          { sku: 'B-2', qty: 1 },
        ],
      },
      { id: 2, customer: 'bob', items: [{ sku: 'A-1', qty: 5 }] },
      { id: 3, customer: 'cy', items: [] },
    ];
    const file = upload('orders.jsonl', 'JSONL', `${records.map((x) => JSON.stringify(x)).join('\n')}\n`);
    const r = await discover(file);
    expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'SUCCESS' });
    expect(r.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(['files.orders', 'files.orders__items']);
    expect(r.completed?.tableCount).toBe(2);
    const [orders, items] = r.tables as [DiscoveredTable, DiscoveredTable];
    expect(orders).toMatchObject({ rowEstimate: 3, primaryKey: [], foreignKeys: [] });
    expect(orders.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'integer'],
      ['customer', 'text'],
    ]);
    expect(items.rowEstimate).toBe(3);
    expect(items.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['_dlx_parent_id', 'integer', false],
      ['_dlx_index', 'integer', false],
      ['sku', 'text', false],
      ['qty', 'integer', false],
    ]);
    expect(items.foreignKeys).toEqual([
      { name: 'orders__items__dlx_parent_id_fkey', columns: ['_dlx_parent_id'], referencedTable: 'files.orders', referencedColumns: ['id'] },
    ]);
    expect(items.columns[2]!.profile).toMatchObject({
      sampled: 3,
      distinctEstimate: 2,
      topValues: [
        { value: 'A-1', count: 2 },
        { value: 'B-2', count: 1 },
      ],
    });
    expect(items.columns[0]!.profile).toMatchObject({ min: '1', max: '2' });

    const scoped = await discover(file, { patterns: ['*__item?'] });
    expect(scoped.tables.map((t) => t.name)).toEqual(['orders__items']);
    expect(scoped.completed?.tableCount).toBe(1);
  }, 60000);

  it('FILE not in file storage: the run fails at "file read" with FILE_NOT_FOUND and publishes nothing', async () => {
    const r = await discover({ type: 'FILE', fileId: randomUUID(), fileName: 'gone.csv', format: 'CSV', sizeBytes: 10 });
    expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'FAILURE', error: { code: 'FILE_NOT_FOUND' } });
    expect(steps(r.runs)).toEqual([expect.stringMatching(/^file read: FAILURE: /)]);
    expect(r.tables).toEqual([]);
    expect(r.completed).toBeUndefined();
  }, 60000);

  it('REST_API: the collections of a local OpenAPI server become tables with profiles; their row estimates are unknown', async () => {
    const customers = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, email: `c${i + 1}@example.com`, since: `2024-01-${String(i + 1).padStart(2, '0')}` }));
    const orders = Array.from({ length: 7 }, (_, i) => ({ id: 100 + i, customer_id: (i % 3) + 1, total: i + 0.5 }));
    const list = (ref: string) => ({
      '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: `#/components/schemas/${ref}` } } } } },
    });
    const doc = {
      openapi: '3.0.3',
      info: { title: 'shop', version: '1' },
      paths: {
        '/customers': {
          get: {
            parameters: [
              { name: 'page', in: 'query', schema: { type: 'integer' } },
              { name: 'per_page', in: 'query', schema: { type: 'integer', maximum: 5 } },
            ],
            responses: list('Customer'),
          },
        },
        '/orders': { get: { responses: list('Order') } },
      },
      components: {
        schemas: {
          Customer: {
            type: 'object',
            required: ['id'],
            properties: { id: { type: 'integer' }, email: { type: 'string' }, since: { type: 'string', format: 'date' } },
          },
          Order: { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, customer_id: { type: 'integer' }, total: { type: 'number' } } },
        },
      },
    };
    const server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      res.setHeader('content-type', 'application/json');
      if (u.pathname === '/api/openapi.json') return res.end(JSON.stringify(doc));
      if (u.pathname === '/api/customers') {
        const page = Number(u.searchParams.get('page') ?? 1);
        const per = Math.min(Number(u.searchParams.get('per_page') ?? 5), 5);
        return res.end(JSON.stringify(customers.slice((page - 1) * per, page * per)));
      }
      if (u.pathname === '/api/orders') return res.end(JSON.stringify(orders));
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
      const r = await discover({ type: 'REST_API', baseUrl: base, auth: 'NONE', openApiUrl: `${base}/openapi.json` });
      expect(r.runs.at(-1)).toMatchObject({ type: 'run.state', state: 'SUCCESS' });
      expect(steps(r.runs)[0]).toMatch(/^connected: SUCCESS: /);
      expect(r.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(['api.customers', 'api.orders']);
      expect(r.completed?.tableCount).toBe(2);
      const [c, o] = r.tables as [DiscoveredTable, DiscoveredTable];
      expect(c).toMatchObject({
        rowEstimate: null,
        rowEstimateSource: 'UNKNOWN',
        rowEstimateNote: 'A REST API collection is not paged through to count its records.',
      });
      expect(o.rowEstimate).toBeNull();
      expect(c.columns.map((x) => [x.name, x.ordinal])).toEqual([
        ['id', 1],
        ['email', 2],
        ['since', 3],
      ]);
      expect(c.columns.find((x) => x.name === 'email')!.profile).toMatchObject({
        sampled: 12,
        nullCount: 0,
        distinctEstimate: 12,
        canonicalType: 'email',
        canonicalShare: 1,
      });
      expect(c.columns.find((x) => x.name === 'since')).toMatchObject({ type: 'date', profile: { min: '2024-01-01', max: '2024-01-12' } });
      expect(o.columns.find((x) => x.name === 'total')!.profile).toMatchObject({ sampled: 7, min: '0.5', max: '6.5' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60000);
});

describe('the source consumer’s filter subject', () => {
  it('defaults to the worker filter with `source` as the domain, so an isolated worker stays isolated', () => {
    expect(sourceFilterFor('jobs.connection.>')).toBe('jobs.source.>');
    expect(sourceFilterFor('jobs.connection.*.ws1')).toBe('jobs.source.*.ws1');
    expect(sourceFilterFor('jobs.*.*.ws1')).toBe('jobs.source.>');
  });

  it('is not started when the worker filter already covers source jobs (JOBS filters must not overlap)', () => {
    expect(subjectsOverlap('jobs.*.*.ws1', 'jobs.source.*.ws1')).toBe(true);
    expect(subjectsOverlap('jobs.*.*.ws1', 'jobs.source.>')).toBe(true);
    expect(subjectsOverlap('jobs.connection.>', 'jobs.source.>')).toBe(false);
    expect(subjectsOverlap('jobs.source.*.ws1', 'jobs.source.*.ws2')).toBe(false);
    expect(subjectsOverlap('jobs.source.>', 'jobs.source.*.ws2')).toBe(true);
  });
});
