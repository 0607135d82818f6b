import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { gqlClient } from '../../../test/support/http';
import { deleteWorkerConsumers } from '../../../test/support/worker-consumers';
import { LOOPBACK_ALLOWED } from '../../../workers/test/support/worker-process';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../test/support/connections';

const WORKER = path.resolve(__dirname, '..', '..', '..', 'workers', 'dist', 'index.js');

interface Snapshot {
  id: string;
  version: number;
  tableCount: number;
  tables: Array<{
    name: string;
    rowEstimate: number | null;
    rowEstimateSource: string;
    rowEstimateNote: string | null;
    primaryKey: string[];
    foreignKeys: Array<{ columns: string[]; referencedTable: string; referencedColumns: string[] }>;
    metadata: { description: string; status: string } | null;
    columns: Array<{
      name: string;
      type: string;
      nullable: boolean;
      profile: {
        nullCount: number;
        distinctEstimate: number;
        min: string | null;
        max: string | null;
        topValues: Array<{ value: string; count: number }>;
        canonicalType: string | null;
        canonicalShare: number;
      } | null;
      metadata: { description: string; status: string } | null;
    }>;
  }>;
  diff: {
    previousVersion: number | null;
    addedTables: string[];
    removedTables: string[];
    changedTables: Array<{ name: string; addedColumns: string[]; removedColumns: string[]; changedColumns: Array<{ name: string; from: string; to: string }> }>;
  };
}

const SNAPSHOT = `id version tableCount
  tables { name rowEstimate rowEstimateSource rowEstimateNote primaryKey foreignKeys { columns referencedTable referencedColumns } metadata { description status }
    columns { name type nullable metadata { description status } profile { nullCount distinctEstimate min max topValues { value count } canonicalType canonicalShare } } }
  diff { previousVersion addedTables removedTables changedTables { name addedColumns removedColumns changedColumns { name from to } } }`;

/**
 * Discovery end to end (discovery of a changed source shows the diff):
 * discoverConnection (workspace: outbox → JOBS) → the real worker process → discovery events on
 * EVENTS → the schema service's consumers → versioned snapshots read through the gateway. The
 * source is a throwaway PostgreSQL database that the test changes between two discoveries.
 */
describe('source discovery → versioned snapshots with a diff', () => {
  let p: Platform;
  let source: TestDatabase;
  let src: Client;
  let worker: ChildProcess;
  let workspaceId: string;
  let connectionId: string;
  let admin: Record<string, string>;
  let orgId: string;
  let quotaWorkspaceId: string | undefined;

  const gql = gqlClient(() => p.gatewayUrl, { headers: () => admin });

  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async function discover(scope?: { tables?: string[]; patterns?: string[] }): Promise<string> {
    const res = await gql<{ discoverConnection: { runId: string | null; errors: Array<{ code: string }> } }>(
      `mutation($id: ID!, $s: DiscoveryScopeInput){ discoverConnection(id: $id, scope: $s) { runId errors { code field message } } }`,
      { id: connectionId, s: scope ?? null },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.discoverConnection.errors).toEqual([]);
    return res.body.data!.discoverConnection.runId!;
  }

  async function snapshots(): Promise<Array<{ id: string; version: number }>> {
    const res = await gql<{ sourceSnapshots: { nodes: Array<{ id: string; version: number }> } }>(
      `query($c: ID!){ sourceSnapshots(connectionId: $c) { nodes { id version } } }`,
      { c: connectionId },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.sourceSnapshots.nodes;
  }

  async function snapshotVersion(version: number): Promise<Snapshot> {
    const id = await waitFor(`snapshot version ${version}`, async () => (await snapshots()).find((s) => s.version === version)?.id);
    const res = await gql<{ sourceSnapshot: Snapshot }>(`query($id: ID!){ sourceSnapshot(id: $id) { ${SNAPSHOT} } }`, { id });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.sourceSnapshot;
  }

  async function runState(runId: string): Promise<string | undefined> {
    const res = await gql<{ run: { state: string } | null }>(`query($id: ID!){ run(id: $id) { state } }`, { id: runId });
    return res.body.data?.run?.state;
  }

  beforeAll(async () => {
    p = await startPlatform();
    [{ id: orgId }] = await p.sources.auth.query(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Disc','eu','UTC') RETURNING id`, [
      `disc-${randomUUID().slice(0, 6)}`,
    ]);
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
    const ws = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      `mutation { createWorkspace(input: { name: "Disc", slug: "disc" }) { workspace { id } } }`,
    );
    workspaceId = ws.body.data!.createWorkspace.workspace.id;

    source = await createTestDatabase();
    src = new Client({ connectionString: source.url });
    await src.connect();
    await src.query(`CREATE TABLE customer (id int PRIMARY KEY, email text, country char(2) NOT NULL)`);
    await src.query(`CREATE TABLE invoice (id int PRIMARY KEY, customer_id int REFERENCES customer(id), amount int)`);
    await src.query(`CREATE TABLE legacy (id int)`);
    await src.query(
      `INSERT INTO customer SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'c' || i || '@example.org' END, CASE WHEN i % 2 = 0 THEN 'DE' ELSE 'FR' END FROM generate_series(1, 20) i`,
    );
    await src.query(`INSERT INTO invoice SELECT i, 1 + i % 20, i * 100 FROM generate_series(1, 50) i`);
    await src.query(`ANALYZE`);

    const url = new URL(source.url);
    if (!url.password) url.password = 'trust-ignores-this-password';
    const conn = await gql<CreateConnectionResult>(CREATE_CONNECTION, {
      i: postgresConnectionInput({ workspaceId, name: 'source', databaseUrl: url.toString() }),
    });
    expect(conn.body.data?.createConnection.errors).toEqual([]);
    connectionId = conn.body.data!.createConnection.connection!.id;

    worker = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        DLX_MASTER_KEY: p.masterKey,
        CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
        WORKER_DURABLE: `disc-${workspaceId.slice(0, 8)}`,
        WORKER_FILTER_SUBJECT: `jobs.connection.*.${workspaceId}`,
        SOURCE_FILTER_SUBJECT: `jobs.source.*.${workspaceId}`,
        JOB_ACK_WAIT_MS: '5000',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  }, 120000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      await new Promise((r) => {
        worker.once('exit', r);
        worker.kill('SIGTERM');
      });
    }
    const durable = workspaceId ? `disc-${workspaceId.slice(0, 8)}` : undefined;
    if (durable && p) await deleteWorkerConsumers(p.nats.jsm, durable);
    // The quota case's job has no worker: drop it from the JOBS work queue.
    if (quotaWorkspaceId) await p?.nats.jsm.streams.purge('JOBS', { filter: `jobs.source.discover.${quotaWorkspaceId}` }).catch(() => undefined);
    await src?.end();
    await source?.drop();
    await p?.stop();
  });

  it('snapshot v1: every table with columns, keys, estimates and profiles; the run succeeds', async () => {
    const runId = await discover();
    const v1 = await snapshotVersion(1);
    expect(await waitFor('the run to succeed', async () => ((await runState(runId)) === 'SUCCESS' ? true : undefined))).toBe(true);
    expect(v1.tableCount).toBe(3);
    expect(v1.tables.map((t) => t.name)).toEqual(['public.customer', 'public.invoice', 'public.legacy']);
    expect(v1.diff).toEqual({
      previousVersion: null,
      addedTables: ['public.customer', 'public.invoice', 'public.legacy'],
      removedTables: [],
      changedTables: [],
    });
    const customer = v1.tables[0]!;
    expect(customer).toMatchObject({
      rowEstimate: 20,
      rowEstimateSource: 'STATISTICS',
      rowEstimateNote: expect.stringMatching(/reltuples/),
      primaryKey: ['id'],
      foreignKeys: [],
      metadata: null,
    });
    expect(customer.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['id', 'integer', false],
      ['email', 'text', true],
      ['country', 'character(2)', false],
    ]);
    expect(customer.columns[1]!.profile).toMatchObject({ nullCount: 4, distinctEstimate: 16, canonicalType: 'email', canonicalShare: 1 });
    expect(customer.columns[2]!.profile).toMatchObject({
      nullCount: 0,
      distinctEstimate: 2,
      min: 'DE',
      max: 'FR',
      topValues: [
        { value: 'DE', count: 10 },
        { value: 'FR', count: 10 },
      ],
    });
    expect(v1.tables[1]!.foreignKeys).toEqual([{ columns: ['customer_id'], referencedTable: 'public.customer', referencedColumns: ['id'] }]);
  }, 90000);

  it('describes a table and a column (Draft / Accepted); a viewer without schemas:write cannot', async () => {
    const table = await gql<{ describeSourceTable: { table: { name: string; metadata: unknown } | null; errors: unknown[] } }>(
      `mutation($i: DescribeSourceTableInput!){ describeSourceTable(input: $i) { table { name metadata { description status } } errors { code field } } }`,
      { i: { connectionId, table: 'public.customer', description: 'People who buy', status: 'ACCEPTED' } },
    );
    expect(table.body.data?.describeSourceTable).toEqual({
      table: { name: 'public.customer', metadata: { description: 'People who buy', status: 'ACCEPTED' } },
      errors: [],
    });
    const column = await gql<{ describeSourceColumn: { errors: unknown[] } }>(
      `mutation($i: DescribeSourceColumnInput!){ describeSourceColumn(input: $i) { table { name } errors { code field } } }`,
      { i: { connectionId, table: 'public.customer', column: 'email', description: 'Contact address', status: 'DRAFT' } },
    );
    expect(column.body.data?.describeSourceColumn.errors).toEqual([]);
    const missing = await gql<{ describeSourceColumn: { errors: Array<{ code: string }> } }>(
      `mutation($i: DescribeSourceColumnInput!){ describeSourceColumn(input: $i) { table { name } errors { code field } } }`,
      { i: { connectionId, table: 'public.customer', column: 'nope', description: 'x', status: 'DRAFT' } },
    );
    expect(missing.body.data?.describeSourceColumn).toEqual({ table: null, errors: [{ code: 'COLUMN_NOT_FOUND', field: 'column' }] });
    const viewer = viewerHeader(userViewer({ orgId, grants: [{ workspaceId, role: 'VIEWER' }] }));
    const denied = await gql<{ describeSourceTable: { errors: Array<{ code: string }> } }>(
      `mutation($i: DescribeSourceTableInput!){ describeSourceTable(input: $i) { table { name } errors { code } } }`,
      { i: { connectionId, table: 'public.customer', description: 'viewer was here', status: 'ACCEPTED' } },
      viewer,
    );
    expect(denied.body.data?.describeSourceTable).toEqual({ table: null, errors: [{ code: 'CONNECTION_NOT_FOUND' }] });
    // ...but the viewer (schemas:read) sees the snapshots.
    const seen = await gql<{ sourceSnapshots: { nodes: unknown[] } }>(
      `query($c: ID!){ sourceSnapshots(connectionId: $c) { nodes { id } } }`,
      { c: connectionId },
      viewer,
    );
    expect(seen.body.data?.sourceSnapshots.nodes).toHaveLength(1);
  }, 30000);

  it('after the source changes, snapshot v2 shows exactly the changes; metadata carries over', async () => {
    await src.query(`ALTER TABLE customer ADD COLUMN phone text`);
    await src.query(`DROP TABLE legacy`);
    await src.query(`ALTER TABLE invoice ALTER COLUMN amount TYPE numeric(12,2)`);
    await src.query(`ALTER TABLE invoice ALTER COLUMN customer_id SET NOT NULL`);
    await src.query(`CREATE TABLE refund (id int PRIMARY KEY)`);
    await discover();
    const v2 = await snapshotVersion(2);
    expect(v2.diff).toEqual({
      previousVersion: 1,
      addedTables: ['public.refund'],
      removedTables: ['public.legacy'],
      changedTables: [
        { name: 'public.customer', addedColumns: ['phone'], removedColumns: [], changedColumns: [] },
        {
          name: 'public.invoice',
          addedColumns: [],
          removedColumns: [],
          changedColumns: [
            { name: 'customer_id', from: 'integer', to: 'integer NOT NULL' },
            { name: 'amount', from: 'integer', to: 'numeric(12,2)' },
          ],
        },
      ],
    });
    const customer = v2.tables.find((t) => t.name === 'public.customer')!;
    expect(customer.metadata).toEqual({ description: 'People who buy', status: 'ACCEPTED' });
    expect(customer.columns.find((c) => c.name === 'email')!.metadata).toEqual({ description: 'Contact address', status: 'DRAFT' });
    expect(customer.columns.find((c) => c.name === 'phone')!.metadata).toBeNull();
    expect((await snapshots()).map((s) => s.version)).toEqual([2, 1]);
  }, 90000);

  it('goes through the workspace quota: a second discovery over the concurrent-runs limit is refused and writes nothing', async () => {
    // A second workspace with no worker for it: its first run stays active.
    const ws = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      `mutation { createWorkspace(input: { name: "Quota", slug: "quota" }) { workspace { id } } }`,
    );
    quotaWorkspaceId = ws.body.data!.createWorkspace.workspace.id;
    const conn = await gql<{ createConnection: { connection: { id: string }; errors: unknown[] } }>(
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code } } }`,
      { i: { workspaceId: quotaWorkspaceId, name: 'my', type: 'MYSQL', mysql: { host: '127.0.0.1', database: 'nothing', user: 'root' } } },
    );
    expect(conn.body.data?.createConnection.errors).toEqual([]);
    const quota = await gql<{ updateWorkspaceQuotas: { errors: unknown[] } }>(
      `mutation($ws: ID!, $i: UpdateWorkspaceQuotasInput!){ updateWorkspaceQuotas(workspaceId: $ws, input: $i) { errors { code } } }`,
      { ws: quotaWorkspaceId, i: { concurrentRuns: 1 } },
    );
    expect(quota.body.data?.updateWorkspaceQuotas.errors).toEqual([]);
    const mutation = `mutation($id: ID!){ discoverConnection(id: $id) { runId errors { code } } }`;
    const first = await gql<{ discoverConnection: { runId: string; errors: unknown[] } }>(mutation, { id: conn.body.data!.createConnection.connection.id });
    expect(first.body.data?.discoverConnection).toEqual({ runId: expect.any(String), errors: [] });
    const refused = await gql<{ discoverConnection: unknown }>(mutation, { id: conn.body.data!.createConnection.connection.id });
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: 'CONCURRENT_RUNS', limit: 1, used: 1 });
    expect(await p.sources.workspace.query(`SELECT run_id, kind FROM workspace.active_run WHERE workspace_id = $1`, [quotaWorkspaceId])).toEqual([
      { run_id: first.body.data!.discoverConnection.runId, kind: 'source.discover' },
    ]);
    expect(
      await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE subject = $1`, [`jobs.source.discover.${quotaWorkspaceId}`]),
    ).toEqual([{ n: 1 }]);
  }, 30000);

  it('a malformed scope is refused entry by entry (typed payload errors) and dispatches nothing', async () => {
    const outbox = async () => (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.outbox`))[0].n as number;
    const before = await outbox();
    const mutation = `mutation($id: ID!, $s: DiscoveryScopeInput){ discoverConnection(id: $id, scope: $s) { runId errors { code field message } } }`;
    const res = await gql<{ discoverConnection: { runId: string | null; errors: Array<{ code: string; field: string; message: string }> } }>(mutation, {
      id: connectionId,
      s: { tables: ['public.customer', '  ', 'x'.repeat(256)], patterns: Array.from({ length: 101 }, (_, i) => `p${i}*`) },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.discoverConnection).toEqual({
      runId: null,
      errors: [
        { code: 'SCOPE_NAME_EMPTY', field: 'scope.tables.1', message: expect.stringMatching(/cannot be empty/) },
        { code: 'SCOPE_NAME_TOO_LONG', field: 'scope.tables.2', message: 'A table name has at most 255 characters (256 given).' },
        { code: 'TOO_MANY_SCOPE_ENTRIES', field: 'scope.patterns', message: expect.stringMatching(/At most 100 patterns/) },
      ],
    });
    const many = await gql<{ discoverConnection: { errors: Array<{ code: string; field: string }> } }>(mutation, {
      id: connectionId,
      s: { tables: Array.from({ length: 1001 }, (_, i) => `public.t${i}`) },
    });
    expect(many.body.data!.discoverConnection.errors.map((e) => [e.code, e.field])).toEqual([['TOO_MANY_SCOPE_ENTRIES', 'scope.tables']]);
    expect(await outbox()).toBe(before);
  }, 30000);

  it('a scope that matches no table fails the run with DISCOVERY_SCOPE_MATCHES_NOTHING naming the scope, and records no snapshot', async () => {
    const before = await snapshots();
    const runId = await discover({ tables: ['public.Customer'], patterns: ['nothing_*'] });
    const run = await waitFor('the run to end', async () => {
      const res = await gql<{ run: { state: string; error: { code: string; message: string } | null } | null }>(
        `query($id: ID!){ run(id: $id) { state error { code message } } }`,
        { id: runId },
      );
      const r = res.body.data?.run;
      return r && ['SUCCESS', 'FAILURE'].includes(r.state) ? r : undefined;
    });
    expect(run).toEqual({
      state: 'FAILURE',
      error: {
        code: 'DISCOVERY_SCOPE_MATCHES_NOTHING',
        message: expect.stringMatching(
          /^The discovery scope \(tables "public\.Customer" and patterns "nothing_\*"\) matches none of the tables this connection can read: it can read 3 tables, e\.g\. "public\.customer", "public\.invoice", "public\.refund"\. Names are schema\.table .*case-sensitively/,
        ),
      },
    });
    // The run is over and published nothing: no new snapshot, now or later (the completion event is never sent).
    expect(await snapshots()).toEqual(before);
    expect(await p.sources.schema.query(`SELECT count(*)::int AS n FROM schema.discovery_staging WHERE run_id = $1`, [runId])).toEqual([{ n: 0 }]);
  }, 90000);

  it('a scoped discovery refreshes the tables in scope and carries every other table over unchanged (never reported removed)', async () => {
    await src.query(`ALTER TABLE refund ADD COLUMN reason text`);
    await src.query(`ALTER TABLE invoice ADD COLUMN note text`); // out of scope: not seen by this run
    await discover({ tables: ['public.customer'], patterns: ['ref*'] });
    const [v2, v3] = [await snapshotVersion(2), await snapshotVersion(3)];
    expect(v3.tables.map((t) => t.name)).toEqual(['public.customer', 'public.invoice', 'public.refund']);
    expect(v3.diff).toMatchObject({
      previousVersion: 2,
      addedTables: [],
      removedTables: [],
      changedTables: [{ name: 'public.refund', addedColumns: ['reason'] }],
    });
    const invoice = (s: Snapshot) => s.tables.find((t) => t.name === 'public.invoice');
    expect(invoice(v3)).toEqual(invoice(v2));
    await src.query(`ALTER TABLE invoice DROP COLUMN note`);
  }, 90000);

  it('a never-analyzed small table gets an exact count, saying so', async () => {
    // Autovacuum off: nothing analyzes it behind the test's back.
    await src.query(`CREATE TABLE fresh_signup (id int PRIMARY KEY, email text) WITH (autovacuum_enabled = false)`);
    await src.query(`INSERT INTO fresh_signup SELECT i, 's' || i || '@example.org' FROM generate_series(1, 9) i`);
    expect((await src.query(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'fresh_signup'::regclass`)).rows).toEqual([{ n: -1 }]);
    await discover({ tables: ['public.fresh_signup'] });
    const v4 = await snapshotVersion(4);
    expect(v4.tables.filter((t) => t.name === 'public.fresh_signup').map((t) => [t.name, t.rowEstimate, t.rowEstimateSource, t.rowEstimateNote])).toEqual([
      ['public.fresh_signup', 9, 'EXACT_COUNT', 'Counted exactly (never analyzed, and small enough to count; 8 kB on disk).'],
    ]);
  }, 90000);

  it('a table in scope that is gone is reported removed; the tables out of scope stay', async () => {
    await src.query(`DROP TABLE refund`);
    await discover({ tables: ['public.customer'], patterns: ['ref*'] });
    const v5 = await snapshotVersion(5);
    expect(v5.tables.map((t) => t.name)).toEqual(['public.customer', 'public.fresh_signup', 'public.invoice']);
    expect(v5.diff).toMatchObject({ previousVersion: 4, addedTables: [], removedTables: ['public.refund'], changedTables: [] });
  }, 90000);
});
