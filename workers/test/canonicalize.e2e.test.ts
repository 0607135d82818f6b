import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { canonicalizeColumnJobV1 } from '@datalinx/contracts';
import type { TestDatabase } from '@datalinx/db';
import type { Nats } from '@datalinx/messaging';
import { canonicalizeColumn } from '../src/jobs/canonicalize';
import { RunReporter } from '../src/run-reporter';
import { defaultColumnFilter } from '../src/column-runner';
import { jobEnvelope, publishJob } from './support/jobs';
import type { RunResult } from './support/run-events';
import { WarehouseWorkspace } from './support/warehouse-workspace';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * column.canonicalize through the real worker process and JetStream, on a throwaway warehouse
 * database whose workspace schema and role are planted like warehouse.provision makes them: a
 * column of good and bad e-mails and one of countries are normalized, the rejects land in
 * `<schema>._dlx_quarantine` with their rule, and running the job again changes nothing.
 */
describe('column.canonicalize (worker process, JetStream, warehouse)', () => {
  const e2e = new WarehouseWorkspace({
    name: 'canon',
    workerEnv: { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '100' },
    runs: { timeoutMs: 40000, settleMs: 150 },
  });
  const { workspaceId, schema, role } = e2e;
  let wh: TestDatabase;
  let whc: Client;
  let nats: Nats;

  beforeAll(async () => {
    await e2e.start();
    ({ wh, whc, nats } = e2e);
    // The workspace's role and schema, as warehouse.provision leaves them (the role owns only its schema).
    await whc.query(`CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOINHERIT NOBYPASSRLS`);
    await whc.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
    await whc.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    await whc.query(`SET ROLE ${role}`);
    await whc.query(`CREATE TABLE ${schema}.customers (id int PRIMARY KEY, email text, country text)`);
    await whc.query(`CREATE TABLE ${schema}.nokey (email text)`);
    await whc.query(`RESET ROLE`);
    await whc.query(`CREATE TABLE public.secret_table (email text)`);
    await whc.query(
      `INSERT INTO ${schema}.customers (id, email, country) VALUES
        (1, ' Ada@Example.COM ', 'Germany'), (2, 'grace@example.org', 'us'), (3, 'not-an-email', 'Atlantis'),
        (4, NULL, 'FRA'), (5, 'bob@@example.com', 'DE'), (6, 'linus@kernel.org', NULL)`,
    );
    await whc.query(`INSERT INTO ${schema}.nokey (email) VALUES ('A@B.CO'), ('broken')`);
  }, 60000);

  afterAll(() => e2e.stop(), 60000);

  const jobOf = (runId: string, payload: Record<string, unknown>, jobId = randomUUID()) =>
    jobEnvelope(e2e, { kind: 'column.canonicalize', jobId, runId, payload: { destination: { schema, role }, ...payload } });

  async function run(payload: Record<string, unknown>, runId = randomUUID()): Promise<{ runId: string; result: RunResult }> {
    await publishJob(nats, jobOf(runId, payload));
    return { runId, result: await e2e.finished(runId) };
  }

  const table = async () => (await whc.query(`SELECT id, email, country FROM ${schema}.customers ORDER BY id`)).rows;
  const quarantine = async (runId: string) =>
    (
      await whc.query(`SELECT table_name, column_name, row_key, value, rule FROM ${schema}._dlx_quarantine WHERE run_id = $1 ORDER BY column_name, row_key`, [
        runId,
      ])
    ).rows;

  it('scopes the column consumer like the main one, so workers of other workspaces never overlap', () => {
    expect(defaultColumnFilter('jobs.connection.>')).toBe('jobs.column.>');
    expect(defaultColumnFilter(`jobs.connection.*.${workspaceId}`)).toBe(`jobs.column.*.${workspaceId}`);
    expect(defaultColumnFilter(`jobs.*.*.${workspaceId}`)).toBe('jobs.column.>');
  });

  it('the contract accepts the job and refuses unsafe names', () => {
    expect(canonicalizeColumnJobV1.safeParse(jobOf(randomUUID(), { table: 'customers', column: 'email', type: 'email' })).success).toBe(true);
    expect(canonicalizeColumnJobV1.safeParse(jobOf(randomUUID(), { table: 'customers"; DROP TABLE x; --', column: 'email', type: 'email' })).success).toBe(
      false,
    );
    expect(
      canonicalizeColumnJobV1.safeParse({
        ...jobOf(randomUUID(), { table: 'customers', column: 'email', type: 'email' }),
        payload: { destination: { schema: 'public', role }, table: 'customers', column: 'email', type: 'email' },
      }).success,
    ).toBe(false);
  });

  it('normalizes good e-mails and quarantines bad ones with their rule, reporting the steps', async () => {
    const { runId, result } = await run({ table: 'customers', column: 'email', type: 'email' });
    expect(result.state).toBe('SUCCESS');
    expect(result.steps.map((s) => [s.step, s.status])).toEqual([
      ['rows checked', 'SUCCESS'],
      ['quarantined', 'SUCCESS'],
      ['normalized', 'SUCCESS'],
    ]);
    expect(result.steps[0]!.message).toMatch(/^6 row\(s\), 5 non-null/);
    expect(result.summary).toBe('customers.email as email: 5 checked, 1 normalized, 2 quarantined');
    // No value appears in what is reported.
    expect(JSON.stringify(result)).not.toMatch(/not-an-email|bob@@|ada@/i);
    expect((await table()).map((r) => r.email)).toEqual(['ada@example.com', 'grace@example.org', 'not-an-email', null, 'bob@@example.com', 'linus@kernel.org']);
    expect(await quarantine(runId)).toEqual([
      { table_name: 'customers', column_name: 'email', row_key: '3', value: 'not-an-email', rule: 'email.format' },
      { table_name: 'customers', column_name: 'email', row_key: '5', value: 'bob@@example.com', rule: 'email.format' },
    ]);

    // The same job again (redelivered under a new message id): the run is already finished and nothing changes.
    const again = jobOf(runId, { table: 'customers', column: 'email', type: 'email' });
    await publishJob(nats, again);
    await sleep(1500);
    expect((await table()).map((r) => r.email)).toEqual(['ada@example.com', 'grace@example.org', 'not-an-email', null, 'bob@@example.com', 'linus@kernel.org']);
    expect(await quarantine(runId)).toHaveLength(2);
  });

  it('normalizes country names, codes and alpha-3 to ISO alpha-2 and quarantines the unknown', async () => {
    const { runId, result } = await run({ table: 'customers', column: 'country', type: 'iso_country' });
    expect(result.state).toBe('SUCCESS');
    expect((await table()).map((r) => r.country)).toEqual(['DE', 'US', 'Atlantis', 'FR', 'DE', null]);
    expect(await quarantine(runId)).toEqual([{ table_name: 'customers', column_name: 'country', row_key: '3', value: 'Atlantis', rule: 'country.iso3166' }]);
  });

  it('is idempotent when the handler itself runs twice for one run (a crash between commit and report)', async () => {
    const runId = randomUUID();
    const job = canonicalizeColumnJobV1.parse(jobOf(runId, { table: 'nokey', column: 'email', type: 'email' }));
    const report = new RunReporter(nats.js, job, workspaceId, 1);
    const first = await canonicalizeColumn(job, wh.url, report);
    expect(first).toMatchObject({ ok: true, checked: 2, normalized: 1, quarantined: 1 });
    const rows1 = (await whc.query(`SELECT email FROM ${schema}.nokey ORDER BY email`)).rows;
    const q1 = await quarantine(runId);
    const second = await canonicalizeColumn(job, wh.url, new RunReporter(nats.js, job, workspaceId, 2));
    expect(second).toMatchObject({ ok: true, checked: 2, normalized: 0, quarantined: 1 });
    expect((await whc.query(`SELECT email FROM ${schema}.nokey ORDER BY email`)).rows).toEqual(rows1);
    expect(rows1).toEqual([{ email: 'a@b.co' }, { email: 'broken' }]);
    // No primary key: the row is keyed by its ctid, which a rejected (never updated) row keeps.
    expect(await quarantine(runId)).toEqual(q1);
    expect(q1).toEqual([{ table_name: 'nokey', column_name: 'email', row_key: expect.stringMatching(/^\(\d+,\d+\)$/), value: 'broken', rule: 'email.format' }]);
  });

  it('applies a custom type (parent normalizer plus a narrower pattern) with its own rule', async () => {
    await whc.query(`CREATE TABLE ${schema}.staff (id int PRIMARY KEY, email text)`);
    await whc.query(`ALTER TABLE ${schema}.staff OWNER TO ${role}`);
    await whc.query(`INSERT INTO ${schema}.staff VALUES (1, 'Ada@ACME.test'), (2, 'eve@gmail.com'), (3, 'nope')`);
    const { runId, result } = await run({ table: 'staff', column: 'email', type: 'email', custom: { name: 'work_email', pattern: '^[^@]+@acme\\.test$' } });
    expect(result.state).toBe('SUCCESS');
    expect((await whc.query(`SELECT email FROM ${schema}.staff ORDER BY id`)).rows.map((r) => r.email)).toEqual(['ada@acme.test', 'eve@gmail.com', 'nope']);
    expect((await quarantine(runId)).map((r) => [r.row_key, r.rule])).toEqual([
      ['2', 'work_email.pattern'],
      ['3', 'email.format'],
    ]);
  });

  it('runs with the workspace role only: a table outside its schema is refused', async () => {
    const { result } = await run({ table: 'missing_table', column: 'email', type: 'email' });
    expect(result.state).toBe('FAILURE');
    expect(result.error?.code).toBe('COLUMN_NOT_FOUND');
    // The role cannot reach public.secret_table even though the worker connects as an admin.
    const c = new Client({ connectionString: wh.url });
    await c.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL ROLE ${role}`);
      await expect(c.query(`SELECT * FROM public.secret_table`)).rejects.toThrow(/permission denied/);
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      await c.end();
    }
  });

  it('fails an unknown type permanently', async () => {
    const { result } = await run({ table: 'customers', column: 'email', type: 'no_such_type' });
    expect(result.state).toBe('FAILURE');
    expect(result.error?.code).toBe('UNKNOWN_CANONICAL_TYPE');
  });
});
