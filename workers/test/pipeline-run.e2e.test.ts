import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { parseKey, seal } from '@datalinx/common';
import { pipelineSecretAad } from '@datalinx/contracts';
import { defaultPipelineFilter } from '../src/pipeline-runner';
import { subjectsOverlap } from '../src/domain-runner';
import { MYSQL, mysqlReachable, mysqlSource, mysqlSourceSecrets, postgresSource, postgresSourceSecrets } from './support/sources';
import type { RunResult } from './support/run-events';
import { WarehouseWorkspace } from './support/warehouse-workspace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decided before the suite is declared, so jest run without MYSQL_URL lists the MySQL case as skipped. */
const MYSQL_UP = mysqlReachable("the pipeline's MySQL source case");

/**
 * pipeline.run v2 (the load stage) through the real worker process and JetStream: a throwaway
 * source database and an uploaded CSV file as the pipeline's sources, a throwaway warehouse
 * database whose workspace schema and role are made by a real warehouse.provision job, and
 * pipeline.run jobs published on JOBS as the workspace service dispatches them (each source's
 * secrets sealed with AAD `job:<jobId>:<connectionId>`). The worker's pipeline consumer filter is
 * the default one derived from WORKER_FILTER_SUBJECT (jobs.pipeline.*.<workspaceId>).
 */
describe('pipeline.run v2: the load stage (worker process, JetStream)', () => {
  const e2e = new WarehouseWorkspace({
    name: 'pipeline',
    sourceDatabase: true,
    fileStorage: true,
    workerEnv: { SYNC_BATCH_DELAY_MS: '40', WORKER_CONCURRENCY: '2', JOB_ACK_WAIT_MS: '3000', JOB_BACKOFF_BASE_MS: '100' },
    runs: { timeoutMs: 50000, settleMs: 200 },
  });
  const { workspaceId, masterKey, hex, schema, role, durable } = e2e;
  const pgConnectionId = randomUUID();
  const fileConnectionId = randomUUID();
  let srcc: Client;
  let whc: Client;

  beforeAll(async () => {
    await e2e.start();
    ({ srcc, whc } = e2e);
    expect((await e2e.provision()).state).toBe('SUCCESS');

    await srcc.query(`CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric(10,2), status text)`);
    await srcc.query(`INSERT INTO public.orders SELECT g, g * 1.5, 'new' FROM generate_series(1, 250) g`);
    await srcc.query(`CREATE TABLE public.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL, kind text)`);
    await srcc.query(`INSERT INTO public.events SELECT g, '2024-01-01'::timestamptz + g * interval '1 second', 'k' || (g % 3) FROM generate_series(1, 400) g`);
    // Listed by the source, never selected by the pipelines below.
    await srcc.query(`CREATE TABLE public.audit_log (id int PRIMARY KEY, note text)`);
    await srcc.query(`INSERT INTO public.audit_log VALUES (1, 'not loaded')`);
  }, 60000);

  afterAll(() => e2e.stop(), 60000);

  const pgConfig = () => postgresSource(e2e.src.name);

  // Lines 3 and 5 are malformed (too few fields, too many).
  const PEOPLE_CSV = ['id,name,age', '1,ann,31', '2,bob', '3,cid,33', '4,dan,34,extra', '5,eve,35'].join('\n') + '\n';
  const peopleFile = (() => {
    let config: object | undefined;
    return () => (config ??= e2e.upload('people.csv', 'CSV', PEOPLE_CSV));
  })();

  interface SourceSpec {
    connectionId: string;
    name: string;
    config: object;
    /** The definition source (tables, patterns, incremental). */
    def?: object;
    /** Seal the secrets with this AAD instead of the pipeline's (a replayed or misrouted secret). */
    aad?: (jobId: string) => string;
    secrets?: object;
  }

  const shop = (def: object = {}, o: Partial<SourceSpec> = {}): SourceSpec => ({
    connectionId: pgConnectionId,
    name: 'shop db',
    config: pgConfig(),
    def,
    ...o,
  });
  const people = (): SourceSpec => ({ connectionId: fileConnectionId, name: 'people upload', config: peopleFile() });

  async function run(
    sources: SourceSpec[],
    o: { drift?: string; onMalformed?: string; targets?: string[]; batchRows?: number; maxRows?: number } = {},
  ): Promise<{ runId: string; pipelineId: string; result: Promise<RunResult> }> {
    const jobId = randomUUID();
    const runId = randomUUID();
    const pipelineId = randomUUID();
    const key = parseKey(masterKey);
    const secretsOf = (s: SourceSpec) => {
      const type = (s.config as { type: string }).type;
      const secrets = s.secrets ?? (type === 'POSTGRES' ? postgresSourceSecrets() : type === 'MYSQL' ? mysqlSourceSecrets() : null);
      return secrets ? seal(key, JSON.stringify(secrets), s.aad ? s.aad(jobId) : pipelineSecretAad(jobId, s.connectionId)) : null;
    };
    await e2e.publish({
      kind: 'pipeline.run',
      v: 2,
      jobId,
      runId,
      payload: {
        trigger: 'MANUAL',
        pipelineId,
        definition: {
          sources: sources.map((s) => ({ connectionId: s.connectionId, ...s.def })),
          targets: o.targets ?? [],
          checks: [],
          exports: [],
          schemaDriftPolicy: o.drift ?? 'PROPAGATE',
          ...(o.onMalformed ? { onMalformed: o.onMalformed } : {}),
        },
        load: {
          destination: { schema, role },
          sources: sources.map((s) => ({ connectionId: s.connectionId, name: s.name, config: s.config, secrets: secretsOf(s) })),
          batchRows: o.batchRows ?? 50_000,
          statementTimeoutMs: 60_000,
        },
      },
      extra: o.maxRows !== undefined ? { limits: { maxRows: o.maxRows } } : {},
    });
    return { runId, pipelineId, result: e2e.finished(runId) };
  }

  const q = async <T = Record<string, unknown>>(sql: string) => (await whc.query(sql)).rows as T[];
  const one = async (c: Client, sql: string) => Object.values((await c.query(sql)).rows[0])[0];
  const tableExists = async (name: string) =>
    Number(await one(whc, `SELECT count(*) FROM pg_tables WHERE schemaname = '${schema}' AND tablename = '${name}'`)) === 1;
  const stepOf = (r: RunResult, step: string) => r.steps.find((s) => s.step === step);

  const SHOP = { tables: ['public.events'], patterns: ['public.ord*'], incremental: [{ table: 'public.events', cursorColumn: 'updated_at' }] };

  it('the pipeline consumer (<durable>-pipeline) takes jobs.pipeline.*.<workspace>, derived from WORKER_FILTER_SUBJECT', async () => {
    expect(defaultPipelineFilter('jobs.connection.>')).toBe('jobs.pipeline.>');
    expect(defaultPipelineFilter(`jobs.connection.*.${workspaceId}`)).toBe(`jobs.pipeline.*.${workspaceId}`);
    // A main filter over every domain of a workspace runs pipeline jobs itself (no second, overlapping consumer).
    expect(defaultPipelineFilter(`jobs.*.*.${workspaceId}`)).toBe('jobs.pipeline.>');
    expect(subjectsOverlap(`jobs.*.*.${workspaceId}`, 'jobs.pipeline.>')).toBe(true);
    const info = await e2e.nats.jsm.consumers.info('JOBS', `${durable}-pipeline`);
    expect(info.config.filter_subject).toBe(`jobs.pipeline.*.${workspaceId}`);
  });

  it('PostgreSQL (a pattern + an incremental table) and a CSV with malformed lines, SKIP_AND_REPORT: exactly the rows, stamped with the run; steps prefixed by source; later stages SKIPPED', async () => {
    const { runId, pipelineId, result } = await run([shop(SHOP), people()], { onMalformed: 'SKIP_AND_REPORT', batchRows: 150 });
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.state).toBe('SUCCESS');
    expect(r.subjectId).toBe(pipelineId);

    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__orders WHERE _dlx_run_id = '${runId}'`)).toBe(250);
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__events WHERE _dlx_run_id = '${runId}'`)).toBe(400);
    expect(await one(whc, `SELECT sum(amount)::text FROM ${schema}.raw_public__orders`)).toBe(await one(srcc, `SELECT sum(amount)::text FROM public.orders`));
    expect(await q(`SELECT id, name, age, _dlx_run_id::text AS run FROM ${schema}.raw_files__people ORDER BY id`)).toEqual([
      { id: 1, name: 'ann', age: 31, run: runId },
      { id: 3, name: 'cid', age: 33, run: runId },
      { id: 5, name: 'eve', age: 35, run: runId },
    ]);
    expect(await tableExists('raw_public__audit_log')).toBe(false);

    expect(stepOf(r, 'shop db: tables selected')).toMatchObject({
      status: 'SUCCESS',
      message: '2 tables: public.events (incremental by updated_at), public.orders (full refresh)',
    });
    expect(stepOf(r, 'people upload: tables selected')).toMatchObject({ status: 'SUCCESS', message: '1 table: files.people (full refresh)' });
    expect(stepOf(r, 'shop db: public.events: loaded')?.message).toMatch(/^incremental: 400 rows upserted .* in 3 batch\(es\)/);
    expect(stepOf(r, 'shop db: public.orders: loaded')?.message).toMatch(/^full refresh: 250 rows/);
    expect(stepOf(r, 'people upload: files.people: malformed input')?.message).toMatch(/^2 malformed lines skipped: line 3: .*; line 5: /);
    // Every step of the load is prefixed with its source's name; the later stages are the pipeline's own.
    for (const s of r.steps) expect(s.step).toMatch(/^(shop db|people upload): |^(models|checks|exports)$/);
    expect(r.steps.filter((s) => ['models', 'checks', 'exports'].includes(s.step))).toEqual([
      { step: 'models', status: 'SKIPPED', message: 'no target tables in this pipeline', attempt: 1 },
      { step: 'checks', status: 'SKIPPED', message: 'no checks in this pipeline', attempt: 1 },
      { step: 'exports', status: 'SKIPPED', message: 'no exports in this pipeline', attempt: 1 },
    ]);
    expect(r.summary).toMatch(/^653 rows loaded from 2 sources in \d+ ms: shop db \(650 rows\), people upload \(3 rows\)$/);

    // A second run: the incremental table continues after the first run's checkpoint.
    await srcc.query(`UPDATE public.events SET kind = 'changed', updated_at = now() WHERE id <= 5`);
    const second = await run([shop(SHOP)]);
    const r2 = await second.result;
    expect(r2.state).toBe('SUCCESS');
    expect(stepOf(r2, 'shop db: public.events: checkpoint')?.message).toMatch(new RegExp(`^continuing after the checkpoint of run ${runId}`));
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__events WHERE _dlx_run_id = '${second.runId}'`)).toBe(5);
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__events`)).toBe(400);
  }, 90000);

  it('onMalformed FAIL: the run fails INPUT_MALFORMED naming the line, the CSV table is unchanged, and the sources after it are not loaded', async () => {
    const before = await q<{ run: string; n: number }>(`SELECT _dlx_run_id::text AS run, count(*)::int AS n FROM ${schema}.raw_files__people GROUP BY 1`);
    expect(before).toHaveLength(1);
    const { runId, result } = await run([people(), shop(SHOP)], { onMalformed: 'FAIL' });
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('INPUT_MALFORMED');
    expect(r.error?.message).toMatch(/^Source people upload: .*line 3\b/);
    expect(r.error?.message).not.toMatch(/line 5\b/);
    expect(r.summary).toBe('people upload failed (INPUT_MALFORMED); not loaded: shop db');
    expect(await q(`SELECT _dlx_run_id::text AS run, count(*)::int AS n FROM ${schema}.raw_files__people GROUP BY 1`)).toEqual(before);
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__orders WHERE _dlx_run_id = '${runId}'`)).toBe(0);
    expect(r.steps.some((s) => s.step.startsWith('shop db: public.'))).toBe(false);
  }, 60000);

  it('schemaDriftPolicy BLOCK: a new source column after a first run fails the run with SCHEMA_DRIFT (recorded as a step), the table unchanged', async () => {
    await srcc.query(`CREATE TABLE public.customers (id int PRIMARY KEY, name text)`);
    await srcc.query(`INSERT INTO public.customers SELECT g, 'c' || g FROM generate_series(1, 20) g`);
    const def = { tables: ['customers'] };
    const first = await (await run([shop(def)], { drift: 'BLOCK' })).result;
    expect(first.state).toBe('SUCCESS');
    await srcc.query(`ALTER TABLE public.customers ADD COLUMN email text`);
    await srcc.query(`INSERT INTO public.customers VALUES (21, 'c21', 'c21@x.org')`);
    const blocked = await (await run([shop(def)], { drift: 'BLOCK' })).result;
    expect(blocked.state).toBe('FAILURE');
    expect(blocked.error?.code).toBe('SCHEMA_DRIFT');
    expect(blocked.error?.message).toMatch(/^Source shop db: new source column\(s\) email in public\.customers/);
    expect(stepOf(blocked, 'shop db: public.customers: schema drift')?.status).toBe('FAILURE');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__customers`)).toBe(20);
  }, 60000);

  it('a target table in the definition: the sources are loaded, then the run fails STAGE_NOT_AVAILABLE saying so', async () => {
    const { runId, result } = await run([shop({ tables: ['public.orders'] })], { targets: [randomUUID()] });
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('STAGE_NOT_AVAILABLE');
    expect(r.error?.message).toMatch(
      /^The sources were loaded \(250 rows: shop db \(250 rows\)\), but this version cannot run the pipeline's dbt models \(1 target table\) yet\./,
    );
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__orders WHERE _dlx_run_id = '${runId}'`)).toBe(250);
    expect(stepOf(r, 'models')?.status).toBe('FAILURE');
    expect(stepOf(r, 'checks')?.status).toBe('SKIPPED');
    expect(stepOf(r, 'exports')?.status).toBe('SKIPPED');
  }, 60000);

  it('a job of a version no contract has (v1: the definition without a load stage) is refused: FAILURE INVALID_MESSAGE, never started (no step: nothing loaded)', async () => {
    const runId = randomUUID();
    const pipelineId = randomUUID();
    const definition = { sources: [{ connectionId: pgConnectionId }], targets: [], checks: [], exports: [], schemaDriftPolicy: 'PROPAGATE' };
    await e2e.publish({ kind: 'pipeline.run', v: 1, runId, payload: { trigger: 'MANUAL', pipelineId, definition } });
    const r = await e2e.finished(runId);
    expect([r.state, r.states, r.error?.code, r.subjectId, r.steps]).toEqual(['FAILURE', ['FAILURE'], 'INVALID_MESSAGE', pipelineId, []]);
    expect(r.error?.message).toMatch(/^job message pipeline\.run v1 does not match its contract: v: Invalid literal value, expected 2/);
  }, 60000);

  it('a secret sealed with another AAD (job:<jobId>, not the pipeline source’s): FAILURE SECRET_UNREADABLE naming the source, nothing loaded', async () => {
    const { runId, result } = await run([shop({ tables: ['public.orders'] }, { secrets: { password: 'whatever' }, aad: (jobId) => `job:${jobId}` })]);
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('SECRET_UNREADABLE');
    expect(r.error?.message).toMatch(/^the secrets of source shop db cannot be opened/);
    expect(r.error?.message).not.toContain('whatever');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__orders WHERE _dlx_run_id = '${runId}'`)).toBe(0);
  }, 60000);

  it('a pattern that matches nothing: FAILURE NO_TABLES_SELECTED naming the connection and its tables', async () => {
    const r = await (await run([people(), shop({ patterns: ['sales_*'] })])).result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('NO_TABLES_SELECTED');
    expect(r.error?.message).toContain(`No table of source shop db (connection ${pgConnectionId}) matches pattern(s) sales_*`);
    expect(r.error?.message).toMatch(/Its tables are: .*public\.audit_log, .*public\.events, public\.orders/);
    expect(stepOf(r, 'shop db: tables selected')?.status).toBe('FAILURE');
    // Planned before anything is loaded: the file (first) was not loaded either.
    expect(r.steps.some((s) => s.step.startsWith('people upload: files.'))).toBe(false);

    // An exact table the source does not have, and an incremental table outside the selection, fail the same way (before loading).
    const missing = await (await run([shop({ tables: ['public.orders', 'public.nope'] })])).result;
    expect(missing.error?.code).toBe('TABLE_NOT_FOUND');
    expect(missing.error?.message).toMatch(/^Source shop db has no table public\.nope; its tables are: .*public\.orders/);
    const outside = await (await run([shop({ tables: ['public.orders'], incremental: [{ table: 'public.events', cursorColumn: 'updated_at' }] })])).result;
    expect(outside.error?.code).toBe('INCREMENTAL_TABLE_NOT_SELECTED');
    expect(outside.error?.message).toMatch(/^Source shop db: incremental table\(s\) public\.events are not among the selected tables \(public\.orders\)/);
  }, 60000);

  it('two sources loading the same warehouse table: FAILURE DESTINATION_CONFLICT naming both, nothing loaded', async () => {
    const other = shop({ tables: ['public.orders'] }, { connectionId: randomUUID(), name: 'shop replica' });
    const { runId, result } = await run([shop({ patterns: ['public.ord*'] }), other]);
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('DESTINATION_CONFLICT');
    expect(r.error?.message).toMatch(
      /table public\.orders of source shop db and the table public\.orders of source shop replica would both load into ws_[0-9a-f]{12}\.raw_public__orders/,
    );
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__orders WHERE _dlx_run_id = '${runId}'`)).toBe(0);
  }, 60000);

  it('the row limit is per run: a later source gets what the earlier ones left', async () => {
    const { result } = await run([people(), shop({ tables: ['public.orders'] })], { maxRows: 100 });
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('QUOTA_EXCEEDED');
    expect(r.error?.message).toMatch(/^Source shop db: the run's limit is 100 rows and the sources before it loaded 3, leaving 97: .*at most 97 rows/);
    expect(r.summary).toBe('shop db failed (QUOTA_EXCEEDED); loaded before it: people upload (3 rows)');
  }, 60000);

  (MYSQL_UP ? it : it.skip)(
    'a MySQL (MariaDB) source: a bare pattern and an incremental table, listed from its database and loaded as raw_<database>__<table>',
    async () => {
      const db = `dlx_pl_${hex}`;
      const root = await mysql.createConnection({ ...MYSQL, multipleStatements: true });
      try {
        await root.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}; USE ${db};
        CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40));
        CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2), updated_at DATETIME(3) NOT NULL);
        CREATE TABLE ignored (id INT PRIMARY KEY);`);
        await root.query(`INSERT INTO ${db}.customers VALUES ${Array.from({ length: 30 }, (_, i) => `(${i + 1}, 'c${i + 1}')`).join(', ')}`);
        await root.query(
          `INSERT INTO ${db}.orders VALUES ${Array.from({ length: 120 }, (_, i) => `(${i + 1}, ${i + 1}.25, '2024-01-01 00:00:00' + INTERVAL ${i} SECOND)`).join(', ')}`,
        );
        const maria: SourceSpec = {
          connectionId: randomUUID(),
          name: 'maria',
          config: mysqlSource(db),
          def: { patterns: ['cust*'], tables: ['orders'], incremental: [{ table: `${db}.orders`, cursorColumn: 'updated_at' }] },
        };
        const { runId, result } = await run([maria], { batchRows: 50 });
        const r = await result;
        expect(r.error).toBeUndefined();
        expect(r.state).toBe('SUCCESS');
        expect(stepOf(r, 'maria: tables selected')?.message).toBe(`2 tables: ${db}.customers (full refresh), ${db}.orders (incremental by updated_at)`);
        expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_${db}__customers WHERE _dlx_run_id = '${runId}'`)).toBe(30);
        expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_${db}__orders WHERE _dlx_run_id = '${runId}'`)).toBe(120);
        expect(stepOf(r, `maria: ${db}.orders: loaded`)?.message).toMatch(/^incremental: 120 rows upserted .* in 3 batch\(es\)/);
        expect(await tableExists(`raw_${db}__ignored`)).toBe(false);
        expect(r.summary).toMatch(/^150 rows loaded from 1 source in \d+ ms: maria \(150 rows\)$/);
      } finally {
        await root.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
        await root.end();
      }
    },
    60000,
  );

  it('a worker killed (SIGKILL) mid-run: the redelivered job lists the tables again, skips what this run completed and resumes the incremental checkpoint', async () => {
    await srcc.query(`CREATE TABLE public.clicks (id int PRIMARY KEY, seq bigint NOT NULL, payload text)`);
    await srcc.query(`INSERT INTO public.clicks SELECT g, g, repeat('x', 40) || g FROM generate_series(1, 16000) g`);
    const def = { tables: ['public.clicks'], incremental: [{ table: 'public.clicks', cursorColumn: 'seq' }] };
    const { runId, result } = await run([people(), shop(def)], { batchRows: 400 });
    let committed = 0;
    for (const until = Date.now() + 30000; Date.now() < until && committed < 1600; await sleep(20)) {
      committed = Number(
        (await q<{ rows: string }>(`SELECT rows FROM ${schema}._dlx_sync_state WHERE run_id = '${runId}' AND table_name = 'raw_public__clicks'`))[0]?.rows ?? 0,
      );
    }
    expect(committed).toBeGreaterThanOrEqual(1600);
    await e2e.stopWorker('SIGKILL');
    e2e.startWorker();
    const r = await result;
    expect(r.state).toBe('SUCCESS');
    expect(await one(whc, `SELECT count(*)::int FROM ${schema}.raw_public__clicks`)).toBe(16000);
    const last = Math.max(...r.steps.map((s) => s.attempt));
    expect(last).toBeGreaterThanOrEqual(2);
    const again = r.steps.filter((s) => s.attempt === last);
    expect(again.find((s) => s.step === 'people upload: tables selected')?.status).toBe('SUCCESS');
    expect(again.find((s) => s.step === 'people upload: files.people: loaded')).toMatchObject({
      status: 'SKIPPED',
      message: 'already loaded by an earlier attempt of this run (3 rows)',
    });
    expect(again.find((s) => s.step === 'shop db: public.clicks: resumed')?.message).toMatch(
      /^resumed from checkpoint seq=\d+, id=\d+ after \d+ rows committed by an earlier attempt$/,
    );
    expect(r.summary).toMatch(/^16003 rows loaded from 2 sources/);
  }, 90000);
});
