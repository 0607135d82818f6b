import { Client } from 'pg';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { canonicalizeColumnJobV1, type CanonicalizeColumnJobV1 } from '@datalinx/contracts';
import { OutboxRelay } from '@datalinx/messaging';
import { viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { CanonicalTypeRefDao } from '../src/daos/canonical-type-ref.dao';
import { startCanonicalTypeReplica } from '../src/jobs/canonical-type-replica.consumer';
import { SYNC_CONNECTION, WarehousePlatform, newPostgresConnection, sql, type DispatchPayload } from './support/warehouse-platform';

const CANONICALIZE = `mutation($i: CanonicalizeColumnInput!){ canonicalizeColumn(input: $i) { runId errors { code field message } } }`;
const CREATE_TYPE = `mutation($i: CreateCanonicalTypeInput!){ createCanonicalType(input: $i) { canonicalType { id name } errors { code field message } } }`;

type Payload = DispatchPayload;

/**
 * `canonicalizeColumn` end to end: createWorkspace → the real worker provisions the warehouse
 * (READY) → syncConnection loads `raw_public__customer` → canonicalizeColumn (one transaction:
 * checks, the type resolved, quota admission, the column.canonicalize job and its QUEUED event in
 * the outbox) → JOBS → the same worker normalizes the column and quarantines the rejects → run(id)
 * SUCCESS. Custom types: created through the schema subgraph, published by the schema outbox's
 * relay, recorded by the workspace's replica consumer, then dispatched as `type` = the built-in and
 * `custom` = { name, pattern }. Plus the typed refusals: unknown type (another org's custom type
 * included), archived workspace, warehouse not ready, another org's workspace, VIEWERs, bad names.
 */
describe('canonicalizeColumn → column.canonicalize through the worker', () => {
  const env = new WarehousePlatform({ name: 'canon', orgName: 'Canon' });
  const { suffix, whUrl, gql, waitFor } = env;
  let p: Platform;
  let orgId: string;
  let otherOrg: string;
  let source: TestDatabase;
  let src: Client;
  let schemaRelay: OutboxRelay | undefined;
  let replica: Awaited<ReturnType<typeof startCanonicalTypeReplica>> | undefined;
  const replicaDurable = `ws-canonical-types-${suffix}`;
  /** A: the worker provisions its warehouse (READY). Pending: no worker for it (its warehouse stays PENDING). */
  const ws: Record<'A' | 'pending', { id: string; schema: string; role: string }> = {} as never;
  const TABLE = 'raw_public__customer';

  async function canonicalize(input: Record<string, unknown>, headers = env.admin): Promise<Payload> {
    const res = await gql<{ canonicalizeColumn: Payload }>(CANONICALIZE, { i: input }, headers);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.canonicalizeColumn;
  }

  const emailOf = (canonicalType: string, workspaceId = ws.A.id) => ({ workspaceId, table: TABLE, column: 'email', canonicalType });

  const jobsInOutbox = async (): Promise<number> =>
    (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE subject LIKE 'jobs.column.canonicalize.%'`))[0].n;

  async function jobOf(runId: string): Promise<CanonicalizeColumnJobV1> {
    return canonicalizeColumnJobV1.parse(await env.dispatched('column.canonicalize', ws.A.id, runId));
  }

  async function runState(
    runId: string,
  ): Promise<{ state: string; kind: string; subjectId: string; error: { code: string; message: string } | null } | undefined> {
    const res = await gql<{ run: { state: string; kind: string; subjectId: string; error: { code: string; message: string } | null } | null }>(
      `query($id: ID!){ run(id: $id) { state kind subjectId error { code message } } }`,
      { id: runId },
    );
    return res.body.data?.run ?? undefined;
  }

  const finished = (runId: string) =>
    waitFor(
      `run ${runId} to finish`,
      async () => {
        const s = await runState(runId);
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );

  const emails = async () => (await sql(whUrl, `SELECT email FROM ${ws.A.schema}.${TABLE} ORDER BY id`)).map((r) => r.email as string | null);
  const quarantined = async (runId: string) =>
    (
      await sql(
        whUrl,
        `SELECT value, rule FROM ${ws.A.schema}._dlx_quarantine WHERE run_id = $1 AND table_name = $2 AND column_name = 'email' ORDER BY value`,
        [runId, TABLE],
      )
    ).map((r) => [r.value, r.rule]);

  async function createType(i: Record<string, unknown>, headers = env.admin): Promise<void> {
    const res = await gql<{ createCanonicalType: { errors: unknown[] } }>(CREATE_TYPE, { i: { examples: [], ...i } }, headers);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.createCanonicalType.errors).toEqual([]);
  }

  const replicated = (org: string, name: string) =>
    waitFor(
      `${name} in the workspace's replica`,
      async () => {
        const [row] = await p.sources.workspace.query(`SELECT base_type, patterns FROM workspace.canonical_type_ref WHERE org_id = $1 AND name = $2`, [
          org,
          name,
        ]);
        return row as { base_type: string; patterns: string[] } | undefined;
      },
      30000,
    );

  beforeAll(async () => {
    await env.start();
    ({ p, orgId } = env);
    [{ id: otherOrg }] = await p.sources.auth.query(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Other','eu','UTC') RETURNING id`,
      [`canon-other-${suffix}`],
    );

    // What production runs next to the schema and workspace subgraphs (services/*/src/index.ts):
    // the schema outbox's relay and the workspace's replica of custom types (this platform's orgs only).
    const log = createLogger('canonicalize-test', process.env.TEST_LOG_LEVEL ?? 'silent');
    schemaRelay = new OutboxRelay(p.app.schema, p.nats.js, log).start();
    replica = await startCanonicalTypeReplica({
      js: p.nats.js,
      jsm: p.nats.jsm,
      dao: new CanonicalTypeRefDao(p.app.workspace),
      log,
      durable: replicaDurable,
      accept: async (ev) => (await p.sources.auth.query(`SELECT 1 FROM auth.organization WHERE id = $1`, [ev.orgId])).length > 0,
    });

    source = await createTestDatabase();
    src = new Client({ connectionString: source.url });
    await src.connect();
    await src.query(`CREATE TABLE customer (id int PRIMARY KEY, email text, updated_at timestamptz NOT NULL DEFAULT now())`);
    await src.query(
      `INSERT INTO customer (id, email) VALUES (1, ' Ada@Example.COM '), (2, 'grace@acme.test'), (3, 'not-an-email'), (4, NULL), (5, 'Bob@ACME.test'), (6, 'eve@gmail.com')`,
    );

    const a = await env.createWorkspace('canon-a');
    const pending = await env.createWorkspace('canon-pending');
    env.startWorker(a.id, {
      durable: `canon-${suffix}`,
      domains: ['connection', 'source', 'warehouse', 'column'],
      env: { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' },
    });
    ws.A = a;
    ws.pending = pending;
    expect(await env.warehouseProvisioned(a.id, 'A')).toEqual({ status: 'READY', last_error: null });

    // The table to canonicalize: the source's customers, synced into the warehouse.
    const connectionId = await newPostgresConnection(env, a.id, source.url, { name: 'source', kind: 'SOURCE' });
    await env.discover(connectionId);
    const synced = await gql<{ syncConnection: Payload }>(SYNC_CONNECTION, {
      i: { connectionId, tables: [{ schema: 'public', name: 'customer', mode: 'FULL' }] },
    });
    expect(synced.body.data?.syncConnection.errors).toEqual([]);
    expect(await finished(synced.body.data!.syncConnection.runId!)).toMatchObject({ state: 'SUCCESS' });
  }, 240000);

  afterAll(async () => {
    await env.stopWorkers();
    await replica?.stop();
    if (p) await p.nats.jsm.consumers.delete('EVENTS', replicaDurable).catch(() => undefined);
    await schemaRelay?.stop();
    // The pending workspace's provision job has no worker: drop it (and anything else of it) from the JOBS work queue.
    if (p && ws.pending) await env.purgeJobsOf(ws.pending.id);
    await src?.end();
    await source?.drop();
    await env.stop();
  }, 60000);

  it('a built-in type: the run succeeds, values are normalized and the rejects are in _dlx_quarantine', async () => {
    expect(await emails()).toEqual([' Ada@Example.COM ', 'grace@acme.test', 'not-an-email', null, 'Bob@ACME.test', 'eve@gmail.com']);
    const r = await canonicalize(emailOf(' Email '));
    expect(r.errors).toEqual([]);
    const runId = r.runId!;
    // The job as dispatched: the contract's shape, the warehouse's schema and role, the quota limits.
    const job = await jobOf(runId);
    expect(job.payload).toEqual({
      destination: { schema: ws.A.schema, role: ws.A.role },
      table: TABLE,
      column: 'email',
      type: 'email',
      statementTimeoutMs: 600000,
    });
    expect(job.limits?.maxRows).toBeGreaterThan(0);

    expect(await finished(runId)).toEqual({ state: 'SUCCESS', kind: 'column.canonicalize', subjectId: `${TABLE}.email`, error: null });
    expect(await emails()).toEqual(['ada@example.com', 'grace@acme.test', 'not-an-email', null, 'bob@acme.test', 'eve@gmail.com']);
    expect(await quarantined(runId)).toEqual([['not-an-email', 'email.format']]);
    // The run no longer counts against the concurrent-runs quota.
    await waitFor('the run to be released', async () =>
      (await p.sources.workspace.query(`SELECT 1 FROM workspace.active_run WHERE run_id = $1`, [runId])).length ? undefined : true,
    );
  }, 120000);

  it('a custom type: created in the schema subgraph, replicated, dispatched as its built-in plus its pattern', async () => {
    await createType({ name: 'acme_email', label: 'ACME e-mail', parent: 'email', pattern: '^[^@]+@acme\\.test$' });
    expect(await replicated(orgId, 'acme_email')).toEqual({ base_type: 'email', patterns: ['^[^@]+@acme\\.test$'] });
    const r = await canonicalize(emailOf('acme_email'));
    expect(r.errors).toEqual([]);
    expect((await jobOf(r.runId!)).payload).toMatchObject({ type: 'email', custom: { name: 'acme_email', pattern: '^[^@]+@acme\\.test$' } });
    expect(await finished(r.runId!)).toMatchObject({ state: 'SUCCESS' });
    expect(await quarantined(r.runId!)).toEqual([
      ['ada@example.com', 'acme_email.pattern'],
      ['eve@gmail.com', 'acme_email.pattern'],
      ['not-an-email', 'email.format'],
    ]);
    // Rejected values stay as they were.
    expect(await emails()).toEqual(['ada@example.com', 'grace@acme.test', 'not-an-email', null, 'bob@acme.test', 'eve@gmail.com']);

    // A custom type of a custom type: a value must match every pattern of the chain.
    await createType({ name: 'acme_grace', label: 'Grace at ACME', parent: 'acme_email', pattern: '^grace@.*$' });
    expect(await replicated(orgId, 'acme_grace')).toEqual({ base_type: 'email', patterns: ['^[^@]+@acme\\.test$', '^grace@.*$'] });
    const chained = await canonicalize(emailOf('acme_grace'));
    expect(chained.errors).toEqual([]);
    expect((await jobOf(chained.runId!)).payload).toMatchObject({
      type: 'email',
      custom: { name: 'acme_grace', pattern: '(?=^[^@]+@acme\\.test$)(?=^grace@.*$)' },
    });
    expect(await finished(chained.runId!)).toMatchObject({ state: 'SUCCESS' });
    expect((await quarantined(chained.runId!)).map(([v]) => v)).toEqual(['ada@example.com', 'bob@acme.test', 'eve@gmail.com', 'not-an-email']);
  }, 120000);

  it("an unknown type, or another org's custom type: CANONICAL_TYPE_NOT_FOUND saying what to do, nothing dispatched", async () => {
    await createType(
      { name: 'beta_email', label: 'Beta', parent: 'email', pattern: '^[^@]+@beta\\.test$' },
      viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' })),
    );
    await replicated(otherOrg, 'beta_email');
    const before = await jobsInOutbox();
    for (const name of ['no_such_type', 'beta_email', 'Not A Name']) {
      const r = await canonicalize(emailOf(name));
      expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'CANONICAL_TYPE_NOT_FOUND', field: 'canonicalType' })] });
      expect(r.errors[0]!.message).toMatch(/canonicalTypes.*try again/s);
    }
    expect(await jobsInOutbox()).toBe(before);
  });

  it('bad table or column names: typed field errors, nothing dispatched, the table unchanged', async () => {
    const before = await jobsInOutbox();
    const rows = await emails();
    const bad = async (input: Record<string, unknown>) => (await canonicalize({ ...emailOf('email'), ...input })).errors.map((e) => [e.code, e.field]);
    expect(await bad({ table: `${TABLE}"; DROP TABLE ${TABLE}; --` })).toEqual([['INVALID_IDENTIFIER', 'table']]);
    expect(await bad({ table: 'public.customer' })).toEqual([['INVALID_IDENTIFIER', 'table']]);
    expect(await bad({ column: 'e mail' })).toEqual([['INVALID_IDENTIFIER', 'column']]);
    expect(await bad({ column: '' })).toEqual([['INVALID_IDENTIFIER', 'column']]);
    expect(await bad({ table: 'x'.repeat(64), column: '1st' })).toEqual([
      ['INVALID_IDENTIFIER', 'table'],
      ['INVALID_IDENTIFIER', 'column'],
    ]);
    expect(await bad({ column: '_dlx_run_id' })).toEqual([['RESERVED_IDENTIFIER', 'column']]);
    expect(await bad({ table: '_dlx_quarantine', column: 'value' })).toEqual([['RESERVED_IDENTIFIER', 'table']]);
    expect(await jobsInOutbox()).toBe(before);
    expect(await emails()).toEqual(rows);
  });

  it('archived workspace: WORKSPACE_ARCHIVED, nothing dispatched', async () => {
    const archive = await gql<{ archiveWorkspace: { errors: unknown[] } }>(`mutation($id: ID!){ archiveWorkspace(id: $id) { errors { code } } }`, {
      id: ws.A.id,
    });
    expect(archive.body.data!.archiveWorkspace.errors).toEqual([]);
    try {
      const before = await jobsInOutbox();
      expect(await canonicalize(emailOf('email'))).toEqual({
        runId: null,
        errors: [expect.objectContaining({ code: 'WORKSPACE_ARCHIVED', field: 'workspaceId' })],
      });
      expect(await jobsInOutbox()).toBe(before);
    } finally {
      await gql(`mutation($id: ID!){ unarchiveWorkspace(id: $id) { errors { code } } }`, { id: ws.A.id });
    }
  });

  it('warehouse not provisioned yet: WAREHOUSE_NOT_READY saying what to do, nothing dispatched', async () => {
    const before = await jobsInOutbox();
    const r = await canonicalize(emailOf('email', ws.pending.id));
    expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'WAREHOUSE_NOT_READY', field: 'workspaceId' })] });
    expect(r.errors[0]!.message).toMatch(/still being provisioned; try again/);
    expect(await jobsInOutbox()).toBe(before);
  });

  it("another org's workspace: WORKSPACE_NOT_FOUND for its ADMIN, nothing dispatched", async () => {
    const before = await jobsInOutbox();
    const r = await canonicalize(emailOf('email'), viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' })));
    expect(r).toEqual({ runId: null, errors: [expect.objectContaining({ code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' })] });
    expect(await canonicalize({ ...emailOf('email'), workspaceId: 'not-a-uuid' })).toEqual({
      runId: null,
      errors: [expect.objectContaining({ code: 'WORKSPACE_NOT_FOUND' })],
    });
    expect(await jobsInOutbox()).toBe(before);
  });

  it('a VIEWER of the workspace (an org VIEWER with an EDITOR grant too), or a member without a grant: FORBIDDEN, nothing dispatched', async () => {
    const before = await jobsInOutbox();
    for (const v of [
      userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: ws.A.id, role: 'VIEWER' }] }),
      userViewer({ orgId, orgRole: 'VIEWER', grants: [{ workspaceId: ws.A.id, role: 'EDITOR' }] }),
      userViewer({ orgId, orgRole: 'MEMBER' }),
    ]) {
      const res = await gql<{ canonicalizeColumn: Payload | null }>(CANONICALIZE, { i: emailOf('email') }, viewerHeader(v));
      expect(res.body.errors?.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(['FORBIDDEN']);
      expect(res.body.data?.canonicalizeColumn ?? null).toBeNull();
    }
    // An EDITOR of the workspace may.
    const editor = await canonicalize(
      emailOf('email'),
      viewerHeader(userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: ws.A.id, role: 'EDITOR' }] })),
    );
    expect(editor.errors).toEqual([]);
    expect(await jobsInOutbox()).toBe(before + 1);
    expect(await finished(editor.runId!)).toMatchObject({ state: 'SUCCESS' });
  }, 120000);
});
