import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { sourceSyncJobV1 } from '@datalinx/contracts';
import { viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { SYNC_CONNECTION, WarehousePlatform, newPostgresConnection, sql, type DispatchPayload } from './support/warehouse-platform';
import { customersDoc, serveApi } from '../../../workers/test/support/rest-api';

/**
 * `syncConnection` end to end: createWorkspace → the real worker provisions the workspace's
 * warehouse (READY) → syncConnection (one transaction: checks, quota admission, the source.sync
 * job with re-sealed secrets and the QUEUED event in the outbox) → JOBS → the same worker copies a
 * table of a throwaway source database into `<ws schema>.raw_public__customer` → run(id) SUCCESS.
 * Plus the typed refusals: archived workspace, warehouse not ready / external, VIEWER, another
 * org's connection, bad input, and the checks against what discovery found (the workspace
 * service's replica of the connection's latest snapshot, fed by the schema service's outbox):
 * an undiscovered connection, unknown tables and columns — typed per table, nothing dispatched;
 * `allTables` / `scope` sync every discovered table (of the scope).
 */
describe('syncConnection → source.sync through the worker', () => {
  const env = new WarehousePlatform({ name: 'sync', orgName: 'Sync' });
  const { suffix, whUrl, gql, waitFor } = env;
  let p: Platform;
  let orgId: string;
  let source: TestDatabase;
  let src: Client;
  /** A: the worker provisions its warehouse (READY). Pending: no worker for it (its warehouse stays PENDING). */
  const ws: Record<'A' | 'pending', { id: string; schema: string; role: string; connectionId: string }> = {} as never;

  async function sync(input: Record<string, unknown>, headers = env.admin): Promise<DispatchPayload> {
    const res = await gql<{ syncConnection: DispatchPayload }>(SYNC_CONNECTION, { i: input }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.syncConnection;
  }

  const fullCustomer = (connectionId: string) => ({ connectionId, tables: [{ schema: 'public', name: 'customer', mode: 'FULL' }] });

  const syncJobsInOutbox = async (): Promise<number> =>
    (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE subject LIKE 'jobs.source.sync.%'`))[0].n;

  /** Everything a dispatch writes: outbox rows (job, QUEUED event) and the run ledger's active runs. */
  const dispatchTrace = async () =>
    (
      await p.sources.workspace.query(
        `SELECT (SELECT count(*)::int FROM workspace.outbox) AS outbox, (SELECT count(*)::int FROM workspace.active_run) AS active`,
      )
    )[0] as { outbox: number; active: number };

  async function finished(runId: string) {
    return waitFor(
      `run ${runId} to finish`,
      async () => {
        const s = await runState(runId);
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );
  }

  /** A POSTGRES connection to the throwaway source database, with a password secret (PREFER TLS: the sync must fall back to plain). */
  const createConnection = (workspaceId: string, kind: 'SOURCE' | 'DESTINATION' = 'SOURCE') =>
    newPostgresConnection(env, workspaceId, source.url, { name: `source-${kind.toLowerCase()}`, kind });

  async function runState(runId: string): Promise<{ state: string; kind: string; error: { code: string; message: string } | null } | undefined> {
    const res = await gql<{ run: { state: string; kind: string; error: { code: string; message: string } | null } | null }>(
      `query($id: ID!){ run(id: $id) { state kind error { code message } } }`,
      { id: runId },
    );
    return res.body.data?.run ?? undefined;
  }

  beforeAll(async () => {
    await env.start();
    ({ p, orgId } = env);

    source = await createTestDatabase();
    src = new Client({ connectionString: source.url });
    await src.connect();
    await src.query(`CREATE TABLE customer (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL DEFAULT now())`);
    await src.query(`INSERT INTO customer (id, email) SELECT i, 'c' || i || '@example.org' FROM generate_series(1, 25) i`);
    await src.query(`CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2))`);
    await src.query(`INSERT INTO orders SELECT i, 1 + i % 25, i * 1.5 FROM generate_series(1, 12) i`);

    const a = await env.createWorkspace('sync-a');
    const pending = await env.createWorkspace('sync-pending');
    env.startWorker(a.id, {
      durable: `sync-${suffix}`,
      domains: ['connection', 'source', 'warehouse', 'column'],
      env: { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' },
    });

    // The pending workspace: a worker for its discovery jobs only (its warehouse stays PENDING; its syncs are never run).
    env.startWorker(pending.id, {
      durable: `sync-pending-${suffix}`,
      domains: ['connection', 'source'],
      env: { SOURCE_FILTER_SUBJECT: `jobs.source.discover.${pending.id}`, WAREHOUSE_ADMIN_URL: undefined, JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' },
    });

    ws.A = { ...a, connectionId: await createConnection(a.id) };
    ws.pending = { ...pending, connectionId: await createConnection(pending.id) };
    expect(await env.warehouseProvisioned(a.id, 'A')).toEqual({ status: 'READY', last_error: null });
    // syncConnection checks requests against what discovery found.
    await env.discover(ws.A.connectionId);
  }, 180000);

  afterAll(async () => {
    await env.stopWorkers();
    // The pending workspace's provision job has no worker: drop it (and anything else of it) from the JOBS work queue.
    if (p && ws.pending) await env.purgeJobsOf(ws.pending.id);
    await src?.end();
    await source?.drop();
    await env.stop();
  }, 60000);

  it('FULL: the run succeeds and the rows are in <ws schema>.raw_public__customer with the run id', async () => {
    const r = await sync(fullCustomer(ws.A.connectionId));
    expect(r.errors).toEqual([]);
    const runId = r.runId!;
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);

    // The job as dispatched: the contract's shape, destination = the warehouse's schema and role, secrets sealed for the job.
    const job = sourceSyncJobV1.parse(await env.dispatched('source.sync', ws.A.id, runId));
    expect(job.payload).toMatchObject({
      connectionId: ws.A.connectionId,
      destination: { schema: ws.A.schema, role: ws.A.role },
      driftPolicy: 'BLOCK',
      onMalformed: 'SKIP_AND_REPORT',
      tables: [{ schema: 'public', name: 'customer', mode: 'FULL' }],
    });
    expect(job.limits?.maxRows).toBeGreaterThan(0);
    expect(JSON.stringify(job)).not.toContain('trust-ignores-this-password');

    const final = await waitFor(
      'the sync run to finish',
      async () => {
        const s = await runState(runId);
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );
    expect(final).toEqual({ state: 'SUCCESS', kind: 'source.sync', error: null });

    const rows = await sql(
      whUrl,
      `SELECT count(*)::int AS n, array_agg(DISTINCT _dlx_run_id::text) AS runs, min(email) AS first FROM ${ws.A.schema}.raw_public__customer`,
    );
    expect(rows[0]).toEqual({ n: 25, runs: [runId], first: 'c10@example.org' });
  }, 120000);

  it('checked against the latest discovery: an undiscovered connection, unknown tables and columns are typed errors per table; nothing is dispatched', async () => {
    const undiscovered = await newPostgresConnection(env, ws.A.id, source.url, { name: 'never-discovered', kind: 'SOURCE' });
    const before = await dispatchTrace();
    const none = await sync(fullCustomer(undiscovered));
    expect(none).toEqual({
      runId: null,
      errors: [
        expect.objectContaining({ code: 'CONNECTION_NOT_DISCOVERED', field: 'connectionId', message: expect.stringMatching(/discoverConnection first/) }),
      ],
    });

    const r = await sync({
      connectionId: ws.A.connectionId,
      tables: [
        { schema: 'public', name: 'customer', mode: 'INCREMENTAL', cursorColumn: 'changed_at', primaryKey: ['id', 'no_such_key'] },
        { schema: 'public', name: 'no_such_table', mode: 'FULL' },
        { schema: 'public', name: 'customer; drop table x', mode: 'FULL' },
        { schema: 'public', name: 'Customer', mode: 'FULL' },
        { schema: 'public', name: 'orders', mode: 'FULL' },
      ],
    });
    expect(r.runId).toBeNull();
    expect(r.errors).toEqual([
      expect.objectContaining({
        code: 'COLUMN_NOT_FOUND',
        field: 'tables.0.primaryKey.1',
        message: expect.stringMatching(/public\.customer has no column "no_such_key" \(its columns: id, email, updated_at\)/),
      }),
      expect.objectContaining({ code: 'COLUMN_NOT_FOUND', field: 'tables.0.cursorColumn', message: expect.stringContaining('"changed_at"') }),
      expect.objectContaining({
        code: 'TABLE_NOT_DISCOVERED',
        field: 'tables.1.name',
        message: expect.stringMatching(
          /"public\.no_such_table" is not a table of the connection's latest discovery version 1 .*public\.customer, public\.orders.*run discoverConnection again/,
        ),
      }),
      expect.objectContaining({ code: 'TABLE_NOT_DISCOVERED', field: 'tables.2.name', message: expect.stringContaining('"public.customer; drop table x"') }),
      expect.objectContaining({
        code: 'TABLE_NOT_DISCOVERED',
        field: 'tables.3.name',
        message: expect.stringMatching(/Did you mean public\.customer\? Names are case-sensitive/),
      }),
    ]);
    // No job, no QUEUED event, no run admitted.
    expect(await dispatchTrace()).toEqual(before);
  });

  it('allTables: every discovered table, FULL (tables named as well keep their settings); the run loads each', async () => {
    const r = await sync({
      connectionId: ws.A.connectionId,
      allTables: true,
      tables: [{ schema: 'public', name: 'orders', mode: 'INCREMENTAL', cursorColumn: 'id' }],
    });
    expect(r.errors).toEqual([]);
    const job = sourceSyncJobV1.parse(await env.dispatched('source.sync', ws.A.id, r.runId!));
    expect(job.payload.tables).toEqual([
      { schema: 'public', name: 'orders', mode: 'INCREMENTAL', cursorColumn: 'id' },
      { schema: 'public', name: 'customer', mode: 'FULL' },
    ]);
    expect(await finished(r.runId!)).toEqual({ state: 'SUCCESS', kind: 'source.sync', error: null });
    const counts = await sql(
      whUrl,
      `SELECT (SELECT count(*)::int FROM ${ws.A.schema}.raw_public__customer WHERE _dlx_run_id = $1) AS customers, (SELECT count(*)::int FROM ${ws.A.schema}.raw_public__orders) AS orders`,
      [r.runId],
    );
    expect(counts[0]).toEqual({ customers: 25, orders: 12 });

    // A scope: the discovered tables it matches; one matching nothing, or given with allTables, is refused.
    const scoped = await sync({ connectionId: ws.A.connectionId, scope: { patterns: ['public.ord*'] } });
    expect(scoped.errors).toEqual([]);
    expect(sourceSyncJobV1.parse(await env.dispatched('source.sync', ws.A.id, scoped.runId!)).payload.tables).toEqual([
      { schema: 'public', name: 'orders', mode: 'FULL' },
    ]);
    expect(await finished(scoped.runId!)).toMatchObject({ state: 'SUCCESS' });
    const before = await dispatchTrace();
    expect((await sync({ connectionId: ws.A.connectionId, scope: { schemas: ['Public'] } })).errors).toEqual([
      expect.objectContaining({ code: 'SCOPE_MATCHES_NOTHING', field: 'scope', message: expect.stringMatching(/public\.customer, public\.orders/) }),
    ]);
    expect((await sync({ connectionId: ws.A.connectionId, allTables: true, scope: { schemas: ['public'] } })).errors.map((e) => e.code)).toEqual([
      'SCOPE_CONFLICT',
    ]);
    expect(await dispatchTrace()).toEqual(before);
  }, 180000);

  it('INCREMENTAL without a cursorColumn: CURSOR_REQUIRED, nothing dispatched', async () => {
    const before = await syncJobsInOutbox();
    const r = await sync({ connectionId: ws.A.connectionId, tables: [{ schema: 'public', name: 'customer', mode: 'INCREMENTAL' }] });
    expect(r.runId).toBeNull();
    expect(r.errors).toEqual([expect.objectContaining({ code: 'CURSOR_REQUIRED', field: 'tables.0.cursorColumn' })]);
    expect(await syncJobsInOutbox()).toBe(before);
  });

  it('FILE / REST_API INCREMENTAL: without a primaryKey PRIMARY_KEY_REQUIRED (nothing dispatched); with one the job carries it to the worker', async () => {
    // A local API to discover; closed before the sync, so nothing listens there any more: the accepted run reaches the worker and fails reading the API (not refused up front).
    const api = await serveApi(
      customersDoc({ id: { type: 'integer' }, name: { type: 'string' }, updated_at: { type: 'string', format: 'date-time' } }),
      () => [],
    );
    const { baseUrl, openApiUrl } = api.config as { baseUrl: string; openApiUrl: string };
    const created = await gql<{ createConnection: { connection: { id: string }; errors: unknown[] } }>(
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code field message } } }`,
      { i: { workspaceId: ws.A.id, name: 'api', kind: 'SOURCE', type: 'REST_API', restApi: { baseUrl, auth: 'NONE', openApiUrl } } },
    );
    expect(created.body.data?.createConnection.errors).toEqual([]);
    const connectionId = created.body.data!.createConnection.connection.id;
    try {
      await env.discover(connectionId);
    } finally {
      await api.close();
    }
    const table = { schema: 'api', name: 'customers', mode: 'INCREMENTAL', cursorColumn: 'updated_at' };
    const before = await syncJobsInOutbox();
    const refused = await sync({ connectionId, tables: [{ schema: 'api', name: 'orders', mode: 'FULL' }, table] });
    expect(refused).toEqual({
      runId: null,
      errors: [
        expect.objectContaining({
          code: 'PRIMARY_KEY_REQUIRED',
          field: 'tables.1.primaryKey',
          message: expect.stringMatching(/no primary key of its own.*primaryKey/),
        }),
      ],
    });
    expect(await syncJobsInOutbox()).toBe(before);

    const accepted = await sync({ connectionId, tables: [{ ...table, primaryKey: ['id'] }] });
    expect(accepted.errors).toEqual([]);
    expect(sourceSyncJobV1.parse(await env.dispatched('source.sync', ws.A.id, accepted.runId!)).payload.tables).toEqual([{ ...table, primaryKey: ['id'] }]);
    const final = await waitFor(
      'the REST sync run to finish',
      async () => {
        const s = await runState(accepted.runId!);
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );
    // The API's server is closed: its port refuses the worker's connection.
    expect(final).toMatchObject({ state: 'FAILURE', error: { code: 'CONNECTION_REFUSED' } });
  }, 120000);

  it('no tables, or a blank identifier: typed field errors', async () => {
    expect((await sync({ connectionId: ws.A.connectionId, tables: [] })).errors).toEqual([
      expect.objectContaining({ code: 'TABLES_REQUIRED', field: 'tables' }),
    ]);
    const r = await sync({ connectionId: ws.A.connectionId, tables: [{ schema: ' ', name: 'customer', mode: 'FULL' }] });
    expect(r.errors).toEqual([expect.objectContaining({ code: 'INVALID_IDENTIFIER', field: 'tables.0.schema' })]);
  });

  it('archived workspace: WORKSPACE_ARCHIVED, nothing dispatched', async () => {
    const archive = await gql<{ archiveWorkspace: { errors: unknown[] } }>(`mutation($id: ID!){ archiveWorkspace(id: $id) { errors { code } } }`, {
      id: ws.A.id,
    });
    expect(archive.body.data!.archiveWorkspace.errors).toEqual([]);
    try {
      const before = await syncJobsInOutbox();
      const r = await sync(fullCustomer(ws.A.connectionId));
      expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'WORKSPACE_ARCHIVED' })] });
      expect(await syncJobsInOutbox()).toBe(before);
    } finally {
      await gql(`mutation($id: ID!){ unarchiveWorkspace(id: $id) { errors { code } } }`, { id: ws.A.id });
    }
  });

  it('a VIEWER of the workspace: FORBIDDEN (an org VIEWER with a grant too); without a grant: CONNECTION_NOT_FOUND', async () => {
    const viewers = [
      userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: ws.A.id, role: 'VIEWER' }] }),
      userViewer({ orgId, orgRole: 'VIEWER', grants: [{ workspaceId: ws.A.id, role: 'EDITOR' }] }),
    ];
    const noGrant = await sync(fullCustomer(ws.A.connectionId), viewerHeader(userViewer({ orgId, orgRole: 'VIEWER' })));
    expect(noGrant.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_FOUND']);
    for (const v of viewers) {
      const r = await sync(fullCustomer(ws.A.connectionId), viewerHeader(v));
      expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'FORBIDDEN', field: 'connectionId' })] });
    }
  });

  it("another org's connection: CONNECTION_NOT_FOUND, nothing dispatched", async () => {
    const [{ id: otherOrg }] = await p.sources.auth.query(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Other','eu','UTC') RETURNING id`,
      [`sync-other-${suffix}`],
    );
    const before = await syncJobsInOutbox();
    const r = await sync(fullCustomer(ws.A.connectionId), viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' })));
    expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'CONNECTION_NOT_FOUND', field: 'connectionId' })] });
    expect(await syncJobsInOutbox()).toBe(before);
  });

  it('warehouse not provisioned yet: WAREHOUSE_NOT_READY saying what to do; EXTERNAL: dispatched to the destination connection', async () => {
    const before = await syncJobsInOutbox();
    const r = await sync(fullCustomer(ws.pending.connectionId));
    expect(r.runId).toBeNull();
    expect(r.errors).toEqual([expect.objectContaining({ code: 'WAREHOUSE_NOT_READY', field: 'connectionId' })]);
    expect(r.errors[0]!.message).toMatch(/still being provisioned; try again/);

    // Discovered (by the pending workspace's discovery-only worker): the EXTERNAL sync below is checked against it.
    await env.discover(ws.pending.connectionId);
    const destination = await createConnection(ws.pending.id, 'DESTINATION');
    const ext = await gql<{ useExternalWarehouse: { errors: unknown[] } }>(
      `mutation($w: ID!, $c: ID!){ useExternalWarehouse(workspaceId: $w, connectionId: $c) { errors { code } } }`,
      { w: ws.pending.id, c: destination },
    );
    expect(ext.body.data!.useExternalWarehouse.errors).toEqual([]);
    const e = await sync(fullCustomer(ws.pending.connectionId));
    expect(e.errors).toEqual([]);
    const [row] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1 AND payload->>'runId' = $2`, [
      `jobs.source.sync.${ws.pending.id}`,
      e.runId,
    ]);
    expect(sourceSyncJobV1.parse(row.payload).payload.destination).toMatchObject({ schema: ws.pending.schema, external: { connectionId: destination } });
    // A DESTINATION connection is not a source.
    const d = await sync(fullCustomer(destination));
    expect(d.errors.map((x) => x.code)).toEqual(['CONNECTION_KIND_INVALID']);
    expect(await syncJobsInOutbox()).toBe(before + 1);
  });
});
