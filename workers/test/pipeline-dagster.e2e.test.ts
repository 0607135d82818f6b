import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { Client as PgClient } from 'pg';
import { parseKey, seal } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { pipelineSecretAad, runCancelSubject, runEvent, type RunStateChangedV1 } from '@datalinx/contracts';
import { DagsterClient } from '../src/dagster/client';
import { DagsterInstance } from './support/dagster-instance';
import { postgresSource } from './support/sources';
import type { RunResult } from './support/run-events';
import { WarehouseWorkspace } from './support/warehouse-workspace';

/** Every file under a directory (Dagster's SQLite run and event storage, compute logs, artifacts). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/**
 * pipeline.run through Dagster: the worker process takes the job from JOBS, launches a run of the
 * `pipeline_run` job through Dagster's GraphQL API on a real webserver + daemon (runs and event
 * logs in a throwaway PostgreSQL database through dagster-postgres, QueuedRunCoordinator), whose `load` step runs the TypeScript sync through Dagster Pipes and whose
 * `dbt_build` step runs dbt-core + dbt-postgres on a hand-written dbt project over the loaded raw
 * table; the worker maps Dagster's events to our steps on RUNS.
 */
describe('pipeline.run through Dagster (worker process, Dagster webserver + daemon, Pipes, dbt)', () => {
  const workerEnv: Record<string, string> = { WORKER_CONCURRENCY: '2', JOB_ACK_WAIT_MS: '10000', JOB_BACKOFF_BASE_MS: '200' };
  const e2e = new WarehouseWorkspace({ name: 'pipedag', sourceDatabase: true, workerEnv, runs: { timeoutMs: 150_000, settleMs: 300 } });
  const dagster = new DagsterInstance();
  /** Dagster's run storage and event log, in PostgreSQL through dagster-postgres, as `npm start` has them. */
  let dagsterDb: TestDatabase;
  const { workspaceId, masterKey, schema, role } = e2e;
  const connectionId = randomUUID();
  /**
   * The source connection's user and password as the control plane seals them: a login role of
   * this file, so the password really authenticates (npm test's PostgreSQL checks passwords) and is
   * a value nothing else holds (the no-plaintext check below searches Dagster's storage for it).
   */
  const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
  const SOURCE_USER = `dlx_src_${randomBytes(4).toString('hex')}`;
  const sourceConfig = () => ({ ...postgresSource(e2e.src.name), user: SOURCE_USER });
  let client: DagsterClient;
  let srcc: Client;
  let whc: Client;
  const states = new Map<string, RunStateChangedV1[]>();
  /** The run of the failing model, retried from its failure below. */
  let failedRunId = '';

  beforeAll(async () => {
    workerEnv.DAGSTER_URL = `http://127.0.0.1:${await dagster.reservePort()}`;
    await e2e.start();
    ({ srcc, whc } = e2e);
    dagsterDb = await createTestDatabase();
    const started = dagster.start({
      DAGSTER_PG_URL: dagsterDb.url,
      DLX_MASTER_KEY: masterKey,
      WAREHOUSE_ADMIN_URL: e2e.wh.url,
      CONNECTION_ALLOWED_NETWORKS: '127.0.0.0/8,::1/128',
      NATS_URL: process.env.NATS_URL!,
      // Incremental batches pause, so that the cancel case catches its run mid-load.
      SYNC_BATCH_DELAY_MS: '1500',
    });
    expect((await e2e.provision()).state).toBe('SUCCESS');
    await srcc.query(`CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric(10,2), status text NOT NULL)`);
    await srcc.query(`INSERT INTO public.orders SELECT g, g * 1.5, CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'new' END FROM generate_series(1, 300) g`);
    await srcc.query(`CREATE TABLE public.events (id int PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await srcc.query(`INSERT INTO public.events SELECT g, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 400) g`);
    await srcc.query(`CREATE ROLE ${SOURCE_USER} LOGIN PASSWORD '${PASSWORD}'`);
    await srcc.query(`GRANT USAGE ON SCHEMA public TO ${SOURCE_USER}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${SOURCE_USER}`);
    e2e.nats.nc.subscribe(`runs.${workspaceId}.>`, {
      callback: (_err, m) => {
        const ev = runEvent.safeParse(m.json());
        if (ev.success && ev.data.type === 'run.state') states.set(ev.data.runId, [...(states.get(ev.data.runId) ?? []), ev.data]);
      },
    });
    await started;
    client = new DagsterClient(dagster.url);
    writeProject('v1', {
      orders_by_status: `select status, count(*)::int as n, sum(amount) as total from {{ source('raw', 'raw_public__orders') }} group by status`,
    });
    writeProject('v2', {
      orders_by_status: `select status, count(*)::int as n from {{ source('raw', 'raw_public__orders') }} group by status`,
      broken: `select no_such_column from {{ source('raw', 'raw_public__orders') }}`,
    });
  }, 240_000);

  afterAll(async () => {
    await dagster.stop();
    await dagsterDb?.drop();
    await e2e.stop();
    // Roles are cluster-wide: the source database (and the role's grants in it) went with e2e.stop().
    const admin = new PgClient({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${SOURCE_USER}`).finally(() => admin.end());
  }, 90_000);

  /** A dbt project as the mapping service writes one: `<DLX_DATA_DIR>/dbt/<workspaceId>/<version>/`. */
  function writeProject(version: string, models: Record<string, string>) {
    const dir = path.join(dagster.dataDir, 'dbt', workspaceId, version);
    mkdirSync(path.join(dir, 'models'), { recursive: true });
    writeFileSync(path.join(dir, 'dbt_project.yml'), `name: dlx_test\nversion: '1.0'\nconfig-version: 2\nprofile: datalinx\nmodel-paths: [models]\n`);
    writeFileSync(
      path.join(dir, 'models', 'schema.yml'),
      [
        'version: 2',
        'sources:',
        '  - name: raw',
        `    schema: "{{ env_var('DLX_WH_SCHEMA') }}"`,
        '    tables:',
        '      - name: raw_public__orders',
        'models:',
        '  - name: orders_by_status',
        '    config: { materialized: table }',
        '    columns:',
        '      - name: status',
        '        data_tests: [not_null, unique]',
        '',
      ].join('\n'),
    );
    for (const [name, sql] of Object.entries(models)) writeFileSync(path.join(dir, 'models', `${name}.sql`), `${sql}\n`);
  }

  async function run(o: { dbt?: string; def?: object; batchRows?: number; retryOf?: string } = {}): Promise<{ runId: string; result: Promise<RunResult> }> {
    const jobId = randomUUID();
    const secrets = seal(parseKey(masterKey), JSON.stringify({ password: PASSWORD }), pipelineSecretAad(jobId, connectionId));
    const { runId } = await e2e.publish({
      kind: 'pipeline.run',
      v: 2,
      jobId,
      payload: {
        trigger: 'MANUAL',
        pipelineId: randomUUID(),
        definition: {
          sources: [{ connectionId, ...(o.def ?? { tables: ['public.orders'] }) }],
          targets: [],
          checks: [],
          exports: [],
          schemaDriftPolicy: 'PROPAGATE',
        },
        load: {
          destination: { schema, role },
          sources: [{ connectionId, name: 'shop db', config: sourceConfig(), secrets }],
          batchRows: o.batchRows ?? 50_000,
          statementTimeoutMs: 60_000,
        },
        ...(o.dbt ? { dbt: { project: `${workspaceId}/${o.dbt}` } } : {}),
        ...(o.retryOf ? { retryOf: { runId: o.retryOf } } : {}),
      },
    });
    return { runId, result: e2e.finished(runId) };
  }

  const dagsterOf = (runId: string) => states.get(runId)?.find((s) => s.dagster)?.dagster;

  it('the client drives Dagster: a launched run of dbt_check is followed to SUCCESS through logsForRun with a cursor', async () => {
    const launched = await client.launchRun({ jobName: 'dbt_check', runConfig: {}, tags: { 'datalinx/workspace': workspaceId } });
    expect(['QUEUED', 'NOT_STARTED', 'STARTING', 'STARTED']).toContain(launched.status);
    let cursor: string | null = null;
    const types: string[] = [];
    for (const until = Date.now() + 120_000; Date.now() < until;) {
      const page = await client.logsForRun(launched.runId, cursor, 20);
      types.push(...page.events.map((e) => e.type));
      cursor = page.cursor;
      if (types.includes('RunSuccessEvent') || types.includes('RunFailureEvent')) break;
      if (!page.hasMore) await new Promise((r) => setTimeout(r, 500));
    }
    expect(types).toContain('RunSuccessEvent');
    expect(types.indexOf('ExecutionStepStartEvent')).toBeLessThan(types.indexOf('RunSuccessEvent'));
    // Read in pages of 20, the events arrive once each: the whole log again has the same length.
    expect((await client.logsForRun(launched.runId, null, 10_000)).events).toHaveLength(types.length);
    expect((await client.run(launched.runId))?.status).toBe('SUCCESS');
    expect(await client.run(randomUUID())).toBeNull();
  }, 150_000);

  it('load through Pipes, then dbt build: SUCCESS with the rows, per-model results and the Dagster run (stored in Dagster, tagged, linked)', async () => {
    const { runId, result } = await run({ dbt: 'v1' });
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.state).toBe('SUCCESS');
    expect(await e2e.whc.query(`SELECT count(*)::int AS n FROM ${schema}.raw_public__orders WHERE _dlx_run_id = $1`, [runId]).then((x) => x.rows[0].n)).toBe(
      300,
    );
    expect((await whc.query(`SELECT status, n FROM ${schema}.orders_by_status ORDER BY status`)).rows).toEqual([
      { status: 'new', n: 200 },
      { status: 'paid', n: 100 },
    ]);

    const names = r.steps.map((s) => s.step);
    expect(names).toEqual([
      'shop db: tables selected',
      ...names.filter((n) => n.startsWith('shop db: public.orders')),
      'shop db: load',
      'models: orders_by_status',
      ...names.filter((n) => n.startsWith('tests: ')),
      'models',
      'checks',
      'exports',
    ]);
    const step = (n: string) => r.steps.find((s) => s.step === n)!;
    expect(step('shop db: public.orders: loaded').message).toMatch(/^full refresh: 300 rows/);
    expect(step('shop db: load')).toMatchObject({ status: 'SUCCESS', message: expect.stringMatching(/^300 rows loaded from shop db/) });
    expect(step('models: orders_by_status')).toMatchObject({ status: 'SUCCESS', message: 'success; 2 rows affected' });
    expect(names.filter((n) => n.startsWith('tests: '))).toHaveLength(2);
    expect(step('models')).toMatchObject({ status: 'SUCCESS', message: 'dbt build: 1 model built, 2 tests run' });
    expect(r.progress).toContainEqual(expect.objectContaining({ rows: 300 }));
    expect(r.summary).toMatch(/^300 rows loaded from 1 source; 1 model built, 2 tests passed in \d+ ms \(Dagster run [0-9a-f-]{36}\): shop db \(300 rows\)$/);

    const linked = dagsterOf(runId);
    expect(linked?.url).toBe(`${dagster.url}/runs/${linked?.runId}`);
    const stored = await client.run(linked!.runId);
    expect(stored).toMatchObject({ status: 'SUCCESS', tags: expect.objectContaining({ 'datalinx/run': runId, 'datalinx/workspace': workspaceId }) });
    const log = await client.logsForRun(linked!.runId, null, 10_000);
    // The sync's own lines reached the step's log in Dagster through Pipes.
    expect(log.events.some((e) => e.stepKey?.startsWith('load[') && /public\.orders: loaded: SUCCESS/.test(e.message))).toBe(true);
  }, 180_000);

  it('a failing dbt model: FAILURE with the failing model and dbt’s message; the load before it succeeded', async () => {
    const { runId, result } = await run({ dbt: 'v2' });
    failedRunId = runId;
    const r = await result;
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('DBT_BUILD_FAILED');
    expect(r.error?.message).toMatch(/^dbt build failed: model broken: .*no_such_column/s);
    expect(r.steps.find((s) => s.step === 'shop db: load')?.status).toBe('SUCCESS');
    expect(r.steps.find((s) => s.step === 'models: broken')).toMatchObject({ status: 'FAILURE', message: expect.stringMatching(/no_such_column/) });
    expect(r.steps.find((s) => s.step === 'models: orders_by_status')?.status).toBe('SUCCESS');
    expect(r.steps.find((s) => s.step === 'models')?.status).toBe('FAILURE');
  }, 180_000);

  it('retry from failure: the failed run re-executed in Dagster as a child run; only dbt_build runs again, and succeeds once the model is fixed', async () => {
    expect(failedRunId).not.toBe('');
    writeProject('v2', {
      orders_by_status: `select status, count(*)::int as n from {{ source('raw', 'raw_public__orders') }} group by status`,
      // A table, not a view: a view over a raw table keeps the next full refresh from dropping it (PostgreSQL 2BP01).
      broken: `{{ config(materialized='table') }} select id from {{ source('raw', 'raw_public__orders') }}`,
    });
    const { runId, result } = await run({ dbt: 'v2', retryOf: failedRunId });
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.state).toBe('SUCCESS');
    // The load succeeded in the first run: not run again.
    expect(r.steps.some((s) => s.step.startsWith('shop db: '))).toBe(false);
    expect(r.steps.find((s) => s.step === 'models: broken')).toMatchObject({ status: 'SUCCESS', message: 'success; 300 rows affected' });
    expect(r.summary).toMatch(new RegExp(`re-executing run ${failedRunId} from its failure`));
    const child = await client.run(dagsterOf(runId)!.runId);
    const parent = dagsterOf(failedRunId)!.runId;
    expect(child).toMatchObject({ status: 'SUCCESS', parentRunId: parent, rootRunId: parent, tags: expect.objectContaining({ 'datalinx/run': runId }) });
    // A run that did not fail cannot be retried from its failure.
    const again = await (await run({ retryOf: runId })).result;
    expect(again.state).toBe('FAILURE');
    expect(again.error).toMatchObject({ code: 'RETRY_NOT_POSSIBLE', message: expect.stringMatching(/is SUCCESS, not FAILURE or CANCELED/) });
  }, 180_000);

  it('cancel: a request on dlx.run.cancel.<workspace> terminates the Dagster run mid-load: CANCELING, then CANCELED, the table not swapped in', async () => {
    const { runId, result } = await run({
      def: { tables: ['public.events'], incremental: [{ table: 'public.events', cursorColumn: 'updated_at' }] },
      batchRows: 50,
    });
    // Wait for the load step to be running in Dagster.
    let dagsterRunId = '';
    for (const until = Date.now() + 120_000; Date.now() < until && !dagsterRunId; await new Promise((r) => setTimeout(r, 300))) {
      const [d] = await client.runsTagged('datalinx/run', runId);
      if (!d) continue;
      const log = await client.logsForRun(d.runId, null, 10_000);
      if (log.events.some((e) => e.stepKey?.startsWith('load[') && /shop db: tables selected: SUCCESS/.test(e.message))) dagsterRunId = d.runId;
    }
    expect(dagsterRunId).not.toBe('');
    // A batch or two in (each pauses 1.5 s).
    await new Promise((r) => setTimeout(r, 2500));
    const ask = (body: object) => e2e.nats.nc.request(runCancelSubject(workspaceId), JSON.stringify(body), { timeout: 30_000 }).then((m) => m.json());
    expect(await ask({ v: 1, workspaceId, runId })).toEqual({ ok: true, dagsterRunId, state: 'CANCELING' });
    const r = await result;
    expect(r.state).toBe('CANCELED');
    expect(r.states).toEqual(expect.arrayContaining(['STARTED', 'CANCELING', 'CANCELED']));
    expect(r.error?.code).toBe('CANCELED');
    expect(r.steps.find((s) => s.step === 'shop db: load')).toBeUndefined();
    expect((await client.run(dagsterRunId))?.status).toBe('CANCELED');
    const loaded = await whc
      .query(`SELECT count(*)::int AS n FROM ${schema}.raw_public__events WHERE _dlx_run_id = $1`, [runId])
      .catch(() => ({ rows: [{ n: 0 }] }));
    expect(loaded.rows[0].n).toBeLessThan(400);
    // Finished runs and unknown ones are refused with a reason.
    expect(await ask({ v: 1, workspaceId, runId })).toMatchObject({ ok: false, error: { code: 'RUN_FINISHED' } });
    expect(await ask({ v: 1, workspaceId, runId: randomUUID() })).toMatchObject({ ok: false, error: { code: 'RUN_NOT_FOUND' } });
    expect(await ask({ v: 1, workspaceId: randomUUID(), runId })).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  }, 180_000);

  it('a worker killed while following the run: the redelivered job follows the same Dagster run (no second launch) and every step is reported once', async () => {
    const { runId, result } = await run({
      def: { tables: ['public.events'], incremental: [{ table: 'public.events', cursorColumn: 'updated_at' }] },
      batchRows: 100,
    });
    let dagsterRunId = '';
    for (const until = Date.now() + 120_000; Date.now() < until && !dagsterRunId; await new Promise((r) => setTimeout(r, 300))) {
      const [d] = await client.runsTagged('datalinx/run', runId);
      if (d && ['STARTING', 'STARTED'].includes(d.status)) dagsterRunId = d.runId;
    }
    expect(dagsterRunId).not.toBe('');
    await e2e.stopWorker('SIGKILL');
    e2e.startWorker();
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.state).toBe('SUCCESS');
    expect((await client.runsTagged('datalinx/run', runId)).map((d) => d.runId)).toEqual([dagsterRunId]);
    expect(dagsterOf(runId)?.runId).toBe(dagsterRunId);
    const names = r.steps.map((s) => s.step);
    expect(names.filter((n) => n === 'shop db: load')).toHaveLength(1);
    expect(new Set(names).size).toBe(names.length);
    expect(r.summary).toMatch(/^\d+ rows loaded from 1 source in \d+ ms/);
  }, 240_000);

  it('planned before launching: two sources loading into one warehouse table fail DESTINATION_CONFLICT without a Dagster run', async () => {
    const jobId = randomUUID();
    const other = randomUUID();
    const sealFor = (c: string) => seal(parseKey(masterKey), JSON.stringify({ password: PASSWORD }), pipelineSecretAad(jobId, c));
    const source = (c: string, name: string) => ({ connectionId: c, name, config: sourceConfig(), secrets: sealFor(c) });
    const { runId } = await e2e.publish({
      kind: 'pipeline.run',
      v: 2,
      jobId,
      payload: {
        trigger: 'MANUAL',
        pipelineId: randomUUID(),
        definition: {
          sources: [
            { connectionId, tables: ['public.orders'] },
            { connectionId: other, tables: ['public.orders'] },
          ],
          targets: [],
          checks: [],
          exports: [],
          schemaDriftPolicy: 'PROPAGATE',
        },
        load: {
          destination: { schema, role },
          sources: [source(connectionId, 'shop db'), source(other, 'shop copy')],
          batchRows: 50_000,
          statementTimeoutMs: 60_000,
        },
      },
    });
    const r = await e2e.finished(runId);
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('DESTINATION_CONFLICT');
    expect(r.error?.message).toMatch(/^The table public\.orders of source shop db and the table public\.orders of source shop copy would both load into /);
    expect(r.steps.map((s) => s.step)).toEqual(['shop db: tables selected', 'shop copy: tables selected']);
    expect(await client.runsTagged('datalinx/run', runId)).toEqual([]);
  }, 60_000);

  it('the run’s row limit is shared by its load steps: the second source gets what the first left and fails QUOTA_EXCEEDED saying so', async () => {
    const jobId = randomUUID();
    const other = randomUUID();
    const sealFor = (c: string) => seal(parseKey(masterKey), JSON.stringify({ password: PASSWORD }), pipelineSecretAad(jobId, c));
    const source = (c: string, name: string) => ({ connectionId: c, name, config: sourceConfig(), secrets: sealFor(c) });
    const { runId } = await e2e.publish({
      kind: 'pipeline.run',
      v: 2,
      jobId,
      payload: {
        trigger: 'MANUAL',
        pipelineId: randomUUID(),
        definition: {
          sources: [
            { connectionId, tables: ['public.orders'] },
            { connectionId: other, tables: ['public.events'] },
          ],
          targets: [],
          checks: [],
          exports: [],
          schemaDriftPolicy: 'PROPAGATE',
        },
        load: {
          destination: { schema, role },
          sources: [source(connectionId, 'shop db'), source(other, 'shop events')],
          batchRows: 50_000,
          statementTimeoutMs: 60_000,
        },
      },
      extra: { limits: { maxRows: 500 } },
    });
    const r = await e2e.finished(runId);
    expect(r.state).toBe('FAILURE');
    expect(r.error?.code).toBe('QUOTA_EXCEEDED');
    expect(r.error?.message).toMatch(/^Source shop (db|events): the run's limit is 500 rows and the sources before it loaded (300|400), leaving (200|100): /);
    const loads = r.steps.filter((s) => s.step.endsWith(': load')).map((s) => s.status);
    expect(loads).toEqual(['SUCCESS', 'FAILURE']);
  }, 120_000);

  it('no plaintext secret in Dagster: neither its PostgreSQL storage (runs, run config, event log), nor any file of the instance, nor the event log as GraphQL serves it holds the source password', async () => {
    // Dagster's PostgreSQL storage: every row of every table (runs, event logs, run tags …).
    const db = new PgClient({ connectionString: dagsterDb.url });
    await db.connect();
    try {
      const tables = (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).rows.map((t: { tablename: string }) => t.tablename);
      expect(tables).toEqual(expect.arrayContaining(['runs', 'event_logs']));
      expect(Number((await db.query(`SELECT count(*) FROM event_logs`)).rows[0].count)).toBeGreaterThan(50);
      const holding: string[] = [];
      for (const t of tables) {
        const n = await db.query(`SELECT count(*)::int AS n FROM public."${t}" x WHERE x::text LIKE '%' || $1 || '%'`, [PASSWORD]);
        if (n.rows[0].n > 0) holding.push(t);
      }
      expect(holding).toEqual([]);
    } finally {
      await db.end();
    }
    // The instance's files: compute logs (the steps' stdout/stderr), dbt artifacts, the io manager's outputs.
    const files = filesUnder(dagster.dataDir);
    expect(files.some((f) => f.includes(`${path.sep}storage${path.sep}`))).toBe(true);
    expect(files.filter((f) => readFileSync(f).includes(PASSWORD))).toEqual([]);
    // The same run config, as Dagster holds it: the sealed value only.
    const runs = await client.runsTagged('datalinx/workspace', workspaceId);
    for (const r of runs) {
      const log = await client.logsForRun(r.runId, null, 10_000);
      expect(JSON.stringify(log.events)).not.toContain(PASSWORD);
    }
  }, 60_000);
});
