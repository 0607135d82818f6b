import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { parseKey, seal } from '@datalinx/common';
import { jobMessage, pipelineSecretAad, type JobKind } from '@datalinx/contracts';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { connectNats, ensureStreams, type Nats } from '@datalinx/messaging';
import { deleteWorkerConsumers } from '../../test/support/worker-consumers';
import { jobEnvelope, publishJob } from './support/jobs';
import { RunEvents, type RunResult } from './support/run-events';
import { postgresSource, postgresSourceSecrets } from './support/sources';
import { startWorker, stopWorker, workspaceFilters } from './support/worker-process';

/**
 * Loads into an EXTERNAL PostgreSQL warehouse (a workspace's DESTINATION connection) through the
 * real worker process and JetStream: a throwaway "customer" database owned by a login role of its
 * own (password set), which the jobs reach with that role's credentials — never WAREHOUSE_ADMIN_URL,
 * which points nowhere here — and a throwaway PostgreSQL source. source.sync FULL and INCREMENTAL,
 * a pipeline run and column.canonicalize into the external schema; a destination user that may not
 * create the schema; destination secrets sealed for another job.
 */
describe('EXTERNAL PostgreSQL warehouse (worker process, JetStream)', () => {
  const scope = { workspaceId: randomUUID(), orgId: randomUUID() };
  const { workspaceId } = scope;
  const masterKey = randomBytes(32).toString('base64');
  const key = parseKey(masterKey);
  const hex = randomBytes(6).toString('hex');
  const owner = `dlx_cust_${hex}`;
  const ownerPassword = `pw-${randomBytes(12).toString('hex')}`;
  const noCreate = `dlx_nocreate_${hex}`;
  const customerDb = `dlx_customer_${hex}`;
  const schema = 'analytics';
  const durable = `extwh-${workspaceId.slice(0, 8)}`;
  const pgUrl = new URL(process.env.DATABASE_URL!);
  const customerUrl = new URL(process.env.DATABASE_URL!);
  customerUrl.pathname = `/${customerDb}`;
  const destinationConnectionId = randomUUID();
  let src: TestDatabase;
  let srcc: Client;
  let admin: Client;
  let nats: Nats;
  let worker: ChildProcess | undefined;
  let runs: RunEvents | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    // The customer's database, owned by its own login role (so that role may create schemas in it, and nothing else).
    await admin.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${ownerPassword}'`);
    await admin.query(`CREATE ROLE ${noCreate} LOGIN PASSWORD 'pw-${hex}'`);
    await admin.query(`CREATE DATABASE ${customerDb} OWNER ${owner}`);
    await admin.query(`REVOKE CREATE ON DATABASE ${customerDb} FROM PUBLIC`);
    src = await createTestDatabase();
    srcc = new Client({ connectionString: src.url });
    await srcc.connect();
    await srcc.query(`CREATE TABLE customer (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL)`);
    await srcc.query(
      `INSERT INTO customer SELECT i, '  C' || i || '@Example.ORG ', '2024-01-01'::timestamptz + i * interval '1 minute' FROM generate_series(1, 25) i`,
    );

    nats = await connectNats(process.env.NATS_URL!, 'external-warehouse-test');
    await ensureStreams(nats.jsm);
    runs = new RunEvents(nats, workspaceId, { timeoutMs: 60000, settleMs: 200 });
    worker = startWorker(
      {
        DLX_MASTER_KEY: masterKey,
        WORKER_DURABLE: durable,
        ...workspaceFilters(workspaceId, ['connection', 'source', 'column', 'pipeline', 'warehouse']),
        // The column and pipeline consumers only start with a WAREHOUSE_ADMIN_URL; nothing may dial it for an external warehouse.
        WAREHOUSE_ADMIN_URL: 'postgres://nobody:nothing@127.0.0.1:1/no_platform_warehouse',
        JOB_ACK_WAIT_MS: '5000',
        JOB_BACKOFF_BASE_MS: '100',
        // At info the worker says what it did: `finished` quotes its output when a run does not finish.
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
      },
      { output },
    );
  }, 60000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    runs?.close();
    if (nats) {
      await deleteWorkerConsumers(nats.jsm, durable);
      await nats.jsm.streams.purge('JOBS', { filter: `jobs.*.*.${workspaceId}` }).catch(() => undefined);
      await nats.close();
    }
    await srcc?.end();
    await src?.drop();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${customerDb} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${owner}`);
      await admin.query(`DROP ROLE IF EXISTS ${noCreate}`);
      await admin.end();
    }
  }, 60000);

  /** The destination connection's config, as the control plane stores it (sslMode PREFER: the test server offers no TLS, so the worker falls back). */
  const destinationConfig = (user = owner, schemaName?: string) => ({
    type: 'POSTGRES' as const,
    host: pgUrl.hostname,
    port: Number(pgUrl.port || 5432),
    database: customerDb,
    user,
    sslMode: 'prefer' as const,
    ...(schemaName ? { schema: schemaName } : {}),
  });

  /** An external destination with the password sealed for `aad`. */
  const destination = (aad: string, o: { user?: string; password?: string; schema?: string } = {}) => ({
    schema: o.schema ?? schema,
    external: {
      connectionId: destinationConnectionId,
      config: destinationConfig(o.user),
      secrets: seal(key, JSON.stringify({ password: o.password ?? ownerPassword }), aad),
    },
  });

  const sourceConfig = () => postgresSource(src.name);
  /** The source's secrets sealed for `aad` (null on a trust-auth server, where DATABASE_URL has no password). */
  const sourceSecrets = (aad: string) => {
    const secrets = postgresSourceSecrets();
    return secrets ? seal(key, JSON.stringify(secrets), aad) : null;
  };

  async function publish(
    kind: JobKind,
    payload: object,
    o: { v?: number; jobId?: string; limits?: object } = {},
  ): Promise<{ jobId: string; runId: string; raw: string }> {
    const job = jobEnvelope(scope, { kind, v: o.v, jobId: o.jobId, payload, extra: o.limits ? { limits: o.limits } : {} });
    // The job must match the contract the worker applies (a mismatch would be dropped, not run).
    expect(jobMessage.safeParse(job).success).toBe(true);
    await publishJob(nats, job);
    return { jobId: job.jobId, runId: job.runId, raw: JSON.stringify(job) };
  }

  async function sync(tables: object[], o: { destination?: (jobId: string) => object; limits?: object } = {}) {
    const jobId = randomUUID();
    const { runId, raw } = await publish(
      'source.sync',
      {
        connectionId: randomUUID(),
        config: sourceConfig(),
        secrets: sourceSecrets(`job:${jobId}`),
        tables,
        destination: o.destination ? o.destination(jobId) : destination(`job:${jobId}`),
        driftPolicy: 'PROPAGATE',
        batchRows: 10,
      },
      { jobId, limits: o.limits },
    );
    return { runId, raw, result: await finished(runId) };
  }

  /** The run's end (RunEvents.finished: up to 60 s, listening 200 ms more); when it does not finish, the error quotes the worker's output. */
  const finished = (runId: string): Promise<RunResult> =>
    runs!.finished(runId).catch((e: Error) => {
      throw new Error(`${e.message}; worker output:\n${output.join('').slice(-4000)}`);
    });

  /** A query in the customer's database (as the test's admin: it inspects what the runs left there). */
  async function customer<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: customerUrl.toString() });
    await c.connect();
    try {
      return (await c.query(sql, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  it('FULL: the schema is created as the destination user, rows land with the run id, no platform storage quota', async () => {
    // A storage limit of 1 byte would fail any platform load: it is not applied to the customer's own database.
    const { runId, raw, result } = await sync([{ schema: 'public', name: 'customer', mode: 'FULL' }], { limits: { maxRows: 1000, maxStorageBytes: 1 } });
    expect(result).toMatchObject({ state: 'SUCCESS' });
    expect(raw).not.toContain(ownerPassword);
    const step = result.steps.find((s) => s.step === 'warehouse')!;
    expect(step.status).toBe('SUCCESS');
    expect(step.message).toContain(`database ${customerDb}`);
    expect(step.message).toContain(`as ${owner}`);
    expect(step.message).toContain(`schema ${schema} (created)`);
    expect(step.message).toMatch(/storage quota does not apply/);
    expect(step.message).not.toContain(ownerPassword);
    const rows = await customer<{ n: number; runs: string[] }>(
      `SELECT count(*)::int AS n, array_agg(DISTINCT _dlx_run_id::text) AS runs FROM ${schema}.raw_public__customer`,
    );
    expect(rows[0]).toEqual({ n: 25, runs: [runId] });
    // Everything belongs to the customer's role (no SET ROLE to a platform role, no superuser-owned objects).
    const owners = await customer<{ owner: string }>(`SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname = $1`, [schema]);
    expect(owners).toEqual([{ owner }]);
    const [{ nspowner }] = await customer<{ nspowner: string }>(`SELECT nspowner::regrole::text AS nspowner FROM pg_namespace WHERE nspname = $1`, [schema]);
    expect(nspowner).toBe(owner);
    const [{ completed }] = await customer<{ completed: boolean }>(
      `SELECT completed FROM ${schema}._dlx_sync_state WHERE table_name = 'raw_public__customer' AND run_id = $1`,
      [runId],
    );
    expect(completed).toBe(true);
  }, 90000);

  it('INCREMENTAL: batches upserted with checkpoints in the external schema; the next run continues after the checkpoint', async () => {
    const table = { schema: 'public', name: 'customer', mode: 'INCREMENTAL', cursorColumn: 'updated_at' };
    const first = await sync([table]);
    expect(first.result.state).toBe('SUCCESS');
    const [state] = await customer<{ completed: boolean; keys: string[]; cursor: string[]; rows: string }>(
      `SELECT completed, keys, cursor_values AS cursor, rows FROM ${schema}._dlx_sync_state WHERE table_name = 'raw_public__customer' AND run_id = $1`,
      [first.runId],
    );
    expect(state).toMatchObject({ completed: true, keys: ['updated_at', 'id'], rows: '25' });
    expect(state!.cursor[1]).toBe('25');

    await srcc.query(`UPDATE customer SET email = 'changed' || id || '@example.org', updated_at = '2025-01-01' WHERE id <= 3`);
    await srcc.query(`INSERT INTO customer VALUES (26, 'new26@example.org', '2025-01-02'), (27, 'new27@example.org', '2025-01-02')`);
    const second = await sync([table]);
    expect(second.result.state).toBe('SUCCESS');
    expect(second.result.steps.find((s) => s.step === 'public.customer: checkpoint')?.message).toContain(
      `continuing after the checkpoint of run ${first.runId}`,
    );
    const rows = await customer<{ n: number; mine: number; changed: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE _dlx_run_id = $1)::int AS mine, count(*) FILTER (WHERE email LIKE 'changed%')::int AS changed FROM ${schema}.raw_public__customer`,
      [second.runId],
    );
    expect(rows[0]).toEqual({ n: 27, mine: 5, changed: 3 });
  }, 90000);

  it('pipeline.run: the load goes to the external warehouse, its secrets opened with the pipeline AAD of the destination connection', async () => {
    const jobId = randomUUID();
    const sourceId = randomUUID();
    const { runId, raw } = await publish(
      'pipeline.run',
      {
        trigger: 'MANUAL',
        pipelineId: randomUUID(),
        definition: {
          sources: [{ connectionId: sourceId, tables: ['public.customer'] }],
          targets: [],
          checks: [],
          exports: [],
          schemaDriftPolicy: 'PROPAGATE',
        },
        load: {
          destination: { ...destination(pipelineSecretAad(jobId, destinationConnectionId)), schema: 'pipeline_out' },
          sources: [{ connectionId: sourceId, name: 'crm', config: sourceConfig(), secrets: sourceSecrets(pipelineSecretAad(jobId, sourceId)) }],
        },
      },
      { v: 2, jobId },
    );
    expect(raw).not.toContain(ownerPassword);
    const result = await finished(runId);
    expect(result).toMatchObject({ state: 'SUCCESS' });
    expect(result.steps.find((s) => s.step === 'crm: warehouse')?.message).toContain('schema pipeline_out (created)');
    const [{ n }] = await customer<{ n: number }>(`SELECT count(*)::int AS n FROM pipeline_out.raw_public__customer WHERE _dlx_run_id = $1`, [runId]);
    expect(n).toBe(27);
  }, 90000);

  it('column.canonicalize: normalizes a column of the external schema as the destination user', async () => {
    const jobId = randomUUID();
    const { runId } = await publish(
      'column.canonicalize',
      { destination: destination(`job:${jobId}`, { schema: 'pipeline_out' }), table: 'raw_public__customer', column: 'email', type: 'email' },
      { jobId },
    );
    const result = await finished(runId);
    expect(result).toMatchObject({ state: 'SUCCESS' });
    const rows = await customer<{ email: string }>(`SELECT email FROM pipeline_out.raw_public__customer WHERE id IN (4, 26) ORDER BY id`);
    expect(rows).toEqual([{ email: 'c4@example.org' }, { email: 'new26@example.org' }]);
  }, 90000);

  it('a destination user without CREATE on the database: PERMISSION_DENIED naming the GRANT; nothing created', async () => {
    const { result } = await sync([{ schema: 'public', name: 'customer', mode: 'FULL' }], {
      destination: (jobId) => destination(`job:${jobId}`, { user: noCreate, password: `pw-${hex}`, schema: 'not_allowed' }),
    });
    expect(result.state).toBe('FAILURE');
    expect(result.error?.code).toBe('PERMISSION_DENIED');
    expect(result.error?.message).toContain(`may not create schema "not_allowed" in database "${customerDb}"`);
    expect(result.error?.message).toContain(`GRANT CREATE ON DATABASE "${customerDb}" TO "${noCreate}"`);
    expect(await customer(`SELECT 1 FROM pg_namespace WHERE nspname = 'not_allowed'`)).toEqual([]);

    // An existing schema it was not granted: the same code, naming the schema GRANT.
    const denied = await sync([{ schema: 'public', name: 'customer', mode: 'FULL' }], {
      destination: (jobId) => destination(`job:${jobId}`, { user: noCreate, password: `pw-${hex}` }),
    });
    expect(denied.result.error?.code).toBe('PERMISSION_DENIED');
    expect(denied.result.error?.message).toContain(`GRANT USAGE, CREATE ON SCHEMA "${schema}" TO "${noCreate}"`);
  }, 90000);

  it('destination secrets sealed for another job: SECRET_UNREADABLE, nothing loaded', async () => {
    const before = await customer<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}._dlx_sync_state`);
    const { result } = await sync([{ schema: 'public', name: 'customer', mode: 'FULL' }], { destination: () => destination(`job:${randomUUID()}`) });
    expect(result.state).toBe('FAILURE');
    expect(result.error?.code).toBe('SECRET_UNREADABLE');
    expect(result.error?.message).toMatch(/external warehouse \(destination connection .*\) cannot be opened/);
    expect(await customer(`SELECT count(*)::int AS n FROM ${schema}._dlx_sync_state`)).toEqual(before);
  }, 90000);
});
