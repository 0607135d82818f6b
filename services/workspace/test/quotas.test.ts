import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { createLogger, QuotaExceededError } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, withTenant, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { connectNats, encodeJson, ensureStreams, OutboxRelay, type Nats } from '@datalinx/messaging';
import { apiCountKey, apiLimitKey, apiLimitSubject, epochMinute, runSubject, type RunStateChangedV1 } from '@datalinx/contracts';
import { workspaceDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createWorkspaceServer } from '../src/app';
import { ConnectionDao } from '../src/daos/connection.dao';
import { ActiveRunDao } from '../src/daos/active-run.dao';
import { QuotaDao } from '../src/daos/quota.dao';
import { startConnectionTestResultsConsumer } from '../src/jobs/connection-test-results.consumer';
import { WarehouseDao } from '../src/daos/warehouse.dao';
import {
  DEFAULT_QUOTA_LIMITS,
  KvApiLimitPublisher,
  KvApiUsage,
  PostgresSchemaStorageUsage,
  QuotaPolicy,
  openQuotaBuckets,
} from '../src/managers/quota.manager';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { urlOf, gqlViewerClient } from '../../../test/support/http';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../test/support/connections';

/**
 * Per-workspace quotas in the workspace service, on a real database (as the
 * runtime role, row-level security on) and the test NATS: the model and its API, the published
 * API limit, concurrent runs at dispatch (released by the terminal run event on RUNS), storage
 * measured on a real schema, and the rows-per-run limit handed to the data plane.
 *
 * The outbox relay runs only in the API-limit test, after every other pending row was set aside:
 * this file never publishes jobs to the shared JOBS stream, where a worker of another test file
 * could pick them up and end our runs behind the test's back.
 */
const QUOTA_FIELDS = `storageBytes { quota limit used } concurrentRuns { quota limit used } rowsPerRun { quota limit used } apiRequestsPerMinute { quota limit used } updatedAt`;
const QUOTAS_SELECTION = `quotas { ${QUOTA_FIELDS} }`;
const UPDATE = `mutation($ws: ID!, $i: UpdateWorkspaceQuotasInput!){ updateWorkspaceQuotas(workspaceId: $ws, input: $i) { quotas { ${QUOTA_FIELDS} } errors { code field message } } }`;

interface QuotaUsage {
  quota: string;
  limit: number;
  used: number | null;
}
interface Quotas {
  storageBytes: QuotaUsage;
  concurrentRuns: QuotaUsage;
  rowsPerRun: QuotaUsage;
  apiRequestsPerMinute: QuotaUsage;
  updatedAt: string | null;
}

describe('workspace quotas', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  /** The admin: inspects rows and plants the warehouse schema. */
  let ds: ReturnType<typeof workspaceDataSource>;
  /** The runtime role the service runs as. */
  let app: ReturnType<typeof workspaceDataSource>;
  let nats: Nats;
  let kv: { limits: KV; counts: KV };
  let relay: OutboxRelay | null = null;
  let results: Awaited<ReturnType<typeof startConnectionTestResultsConsumer>>;
  let server: Awaited<ReturnType<typeof createWorkspaceServer>>;
  let httpServer: http.Server;
  let url: string;
  const durable = `ws-quota-results-${randomUUID().slice(0, 8)}`;
  const masterKey = randomBytes(32);
  const log = createLogger('quotas-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  /** Workspace → warehouse schema the storage measurement reads (what provisioning will record). */
  const warehouseSchemas = new Map<string, string>();
  let wsA: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await workspaceDataSource(db.url, 2).initialize();
    app = await workspaceDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 4).initialize();
    nats = await connectNats(process.env.NATS_URL!, 'workspace-quotas-test');
    await ensureStreams(nats.jsm);
    kv = await openQuotaBuckets(nats.nc);
    results = await startConnectionTestResultsConsumer({
      js: nats.js,
      jsm: nats.jsm,
      dao: new ConnectionDao(app),
      activeRuns: new ActiveRunDao(app),
      warehouses: new WarehouseDao(app),
      log,
      durable,
    });
    server = await createWorkspaceServer({
      ds: app,
      verifier: keys.verifier,
      log,
      settings: { masterKey, testTimeoutMs: 5000 },
      files: { dir: path.join(os.tmpdir(), `dlx-files-${randomUUID()}`), maxBytes: 1024 * 1024 },
      onOutboxCommit: () => relay?.kick(),
      quotas: {
        defaults: DEFAULT_QUOTA_LIMITS,
        // Storage measured for real: the size of the schema the test says is the workspace's warehouse.
        storage: new PostgresSchemaStorageUsage(ds, async (_org, id) => warehouseSchemas.get(id) ?? null),
        api: new KvApiUsage(kv.counts),
        publisher: new KvApiLimitPublisher(kv.limits, log),
      },
    });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
    wsA = await newWorkspace(adminA, 'quota-a');
  });

  afterAll(async () => {
    await server?.stop();
    await relay?.stop();
    await results?.stop();
    await nats?.jsm.consumers.delete('RUNS', durable).catch(() => undefined);
    for (const s of warehouseSchemas.values()) await ds?.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await nats?.close();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const gql = gqlViewerClient(
    () => url,
    async (viewer: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) }),
  );

  async function newWorkspace(viewer: Viewer, slug: string): Promise<string> {
    const res = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      viewer,
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      { i: { name: slug, slug } },
    );
    return res.body.data!.createWorkspace.workspace.id;
  }
  async function newConnection(ws: string, name: string): Promise<string> {
    const res = await gql<CreateConnectionResult>(adminA, CREATE_CONNECTION, {
      i: postgresConnectionInput({ workspaceId: ws, name, databaseUrl: `postgres://loader:pw@db.example:5432/${name}` }),
    });
    if (!res.body.data?.createConnection.connection) throw new Error(`createConnection failed: ${JSON.stringify(res.body)}`);
    return res.body.data.createConnection.connection.id;
  }
  const quotasOf = async (viewer: Viewer, ws: string) =>
    (await gql<{ workspace: { quotas: Quotas } | null }>(viewer, `query($id: ID!){ workspace(id: $id) { ${QUOTAS_SELECTION} } }`, { id: ws })).body;
  const update = (viewer: Viewer, ws: string, i: Record<string, unknown>) =>
    gql<{ updateWorkspaceQuotas: { quotas: Quotas | null; errors: Array<{ code: string; field: string | null; message: string }> } | null }>(viewer, UPDATE, {
      ws,
      i,
    });
  const testConnection = (id: string) =>
    gql<{ testConnection: { runId: string | null; errors: Array<{ code: string }> } | null }>(
      adminA,
      `mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`,
      { id },
    );
  const activeRuns = async (ws: string): Promise<string[]> =>
    (await ds.query(`SELECT run_id FROM workspace.active_run WHERE workspace_id = $1 ORDER BY started_at`, [ws])).map((r: { run_id: string }) => r.run_id);
  async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
    for (const deadline = Date.now() + timeoutMs; ;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** The terminal run event a worker would publish to RUNS. */
  async function finishRun(ws: string, runId: string, state: 'SUCCESS' | 'FAILURE' | 'CANCELED' = 'SUCCESS'): Promise<void> {
    const ev: RunStateChangedV1 = {
      v: 1,
      type: 'run.state',
      eventId: `${runId}:${state.toLowerCase()}`,
      runId,
      jobId: randomUUID(),
      orgId: orgA,
      workspaceId: ws,
      kind: 'connection.test',
      subjectId: randomUUID(),
      at: new Date().toISOString(),
      state,
      attempt: 1,
    };
    await nats.js.publish(runSubject(ws, runId), encodeJson(ev), { msgID: ev.eventId });
  }

  it('shows the defaults, with usage, until an admin sets the workspace’s own quotas', async () => {
    const body = await quotasOf(adminA, wsA);
    expect(body.errors).toBeUndefined();
    expect(body.data?.workspace?.quotas).toEqual({
      storageBytes: { quota: 'STORAGE_BYTES', limit: 10 * 1024 ** 3, used: null },
      concurrentRuns: { quota: 'CONCURRENT_RUNS', limit: 4, used: 0 },
      rowsPerRun: { quota: 'ROWS_PER_RUN', limit: 50_000_000, used: null },
      apiRequestsPerMinute: { quota: 'API_REQUESTS_PER_MINUTE', limit: 600, used: 0 },
      updatedAt: null,
    });
    // Another org's admin sees nothing of it.
    expect((await quotasOf(adminB, wsA)).data?.workspace).toBeNull();
  });

  it('updateWorkspaceQuotas: org ADMINs of the workspace’s own org only, validated with typed field errors', async () => {
    const editor = userViewer({ orgId: orgA, orgRole: 'MEMBER', grants: [{ workspaceId: wsA, role: 'EDITOR' }] });
    const denied = await update(editor, wsA, { concurrentRuns: 9 });
    expect(denied.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(denied.body.data?.updateWorkspaceQuotas ?? null).toBeNull();
    // The editor still reads the quotas (any member of the workspace may).
    expect((await quotasOf(editor, wsA)).data?.workspace?.quotas.concurrentRuns.limit).toBe(4);

    const other = await update(adminB, wsA, { concurrentRuns: 9 });
    expect(other.body.data?.updateWorkspaceQuotas).toMatchObject({ quotas: null, errors: [{ code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' }] });

    const invalid = await update(adminA, wsA, { storageBytes: -1, concurrentRuns: 1001, rowsPerRun: 1.5, apiRequestsPerMinute: 0 });
    expect(invalid.body.data?.updateWorkspaceQuotas?.quotas).toBeNull();
    const errors = invalid.body.data!.updateWorkspaceQuotas!.errors;
    expect(errors.map((e) => `${e.field}:${e.code}`).sort()).toEqual([
      'apiRequestsPerMinute:INVALID_QUOTA',
      'concurrentRuns:INVALID_QUOTA',
      'rowsPerRun:INVALID_QUOTA',
      'storageBytes:INVALID_QUOTA',
    ]);
    expect(errors.find((e) => e.field === 'concurrentRuns')!.message).toMatch(/whole number from 0 to 1000/);
    // Neither refusal wrote anything.
    expect(await ds.query(`SELECT * FROM workspace.quota`)).toEqual([]);

    const ok = await update(adminA, wsA, { rowsPerRun: 1234 });
    expect(ok.body.data?.updateWorkspaceQuotas?.errors).toEqual([]);
    expect(ok.body.data?.updateWorkspaceQuotas?.quotas).toMatchObject({
      rowsPerRun: { quota: 'ROWS_PER_RUN', limit: 1234, used: null },
      // Fields left out keep their value (the defaults here).
      concurrentRuns: { limit: 4 },
      storageBytes: { limit: 10 * 1024 ** 3 },
      apiRequestsPerMinute: { limit: 600 },
    });
    expect(ok.body.data?.updateWorkspaceQuotas?.quotas?.updatedAt).toEqual(expect.any(String));
    expect(await ds.query(`SELECT org_id, rows_per_run::int AS rows, version::int AS version FROM workspace.quota WHERE workspace_id = $1`, [wsA])).toEqual([
      { org_id: orgA, rows: 1234, version: 1 },
    ]);
  });

  it('API requests per minute: the limit reaches the dlx-quotas bucket directly and through the outbox; usage is the gateways’ shared count', async () => {
    const res = await update(adminA, wsA, { apiRequestsPerMinute: 42 });
    expect(res.body.data?.updateWorkspaceQuotas?.errors).toEqual([]);
    // Fast path: written right after the commit.
    const direct = await kv.limits.get(apiLimitKey(wsA));
    expect(JSON.parse(direct!.string())).toEqual({ orgId: orgA, limit: 42, version: 2 });
    // Durable path: the same value in the outbox, in the same transaction, addressed to the bucket.
    const outboxed = await ds.query(`SELECT payload FROM workspace.outbox WHERE subject = $1 ORDER BY seq`, [apiLimitSubject(wsA)]);
    expect(outboxed.map((r: { payload: unknown }) => r.payload)).toEqual([
      { orgId: orgA, limit: 600, version: 1 },
      { orgId: orgA, limit: 42, version: 2 },
    ]);

    // A change whose direct write never happened (here: made behind the manager's back) still
    // arrives, through the relay.
    await kv.limits.purge(apiLimitKey(wsA));
    await ds.query(`UPDATE workspace.quota SET api_requests_per_minute = 77, version = version + 1 WHERE workspace_id = $1`, [wsA]);
    // Everything else pending (workspace events, warehouse.provision jobs) is set aside first, so
    // the relay publishes only the quota rows: see the docblock above.
    await ds.query(`UPDATE workspace.outbox SET sent_at = now() WHERE sent_at IS NULL AND subject NOT LIKE '$KV.dlx-quotas.%'`);
    relay = new OutboxRelay(app, nats.js, log, { pollIntervalMs: 100 }).start();
    const relayed = await until('the relayed API limit', async () => {
      const e = await kv.limits.get(apiLimitKey(wsA));
      return e?.operation === 'PUT' ? (JSON.parse(e.string()) as { limit: number }) : null;
    });
    expect(relayed).toEqual({ orgId: orgA, limit: 77, version: 3 });
    await relay.stop();
    relay = null;

    // Usage: this minute's count in the gateways' counter bucket.
    for (;;) {
      const minute = epochMinute(Date.now());
      await kv.counts.put(apiCountKey(orgA, wsA, minute), '5');
      const q = (await quotasOf(adminA, wsA)).data!.workspace!.quotas;
      if (epochMinute(Date.now()) !== minute) continue; // the minute turned while reading: again
      expect(q.apiRequestsPerMinute).toEqual({ quota: 'API_REQUESTS_PER_MINUTE', limit: 77, used: 5 });
      break;
    }
  });

  it('concurrent runs: with a limit of 1, a second testConnection is refused with QUOTA_EXCEEDED CONCURRENT_RUNS until the first run ends', async () => {
    const ws = await newWorkspace(adminA, 'quota-runs');
    const connA = await newConnection(ws, 'first');
    const connB = await newConnection(ws, 'second');
    expect((await update(adminA, ws, { concurrentRuns: 1 })).body.data?.updateWorkspaceQuotas?.errors).toEqual([]);

    const first = await testConnection(connA);
    const runId = first.body.data?.testConnection?.runId;
    expect(runId).toEqual(expect.any(String));
    expect(await activeRuns(ws)).toEqual([runId]);

    const refused = await testConnection(connB);
    expect(refused.body.data?.testConnection ?? null).toBeNull();
    expect(refused.body.errors).toHaveLength(1);
    expect(refused.body.errors![0]!.extensions).toEqual({ code: 'QUOTA_EXCEEDED', quota: 'CONCURRENT_RUNS', limit: 1, used: 1 });
    expect(refused.body.errors![0]!.message).toMatch(/1 run\(s\) active at once and 1 are active.*Wait for one to finish/);
    // The refusal rolled the whole dispatch back: still one job, one active run, connB untouched.
    expect(await ds.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE subject = $1`, [`jobs.connection.test.${ws}`])).toEqual([{ n: 1 }]);
    expect(await activeRuns(ws)).toEqual([runId]);
    expect(await ds.query(`SELECT status FROM workspace.connection WHERE id = $1`, [connB])).toEqual([{ status: 'UNTESTED' }]);
    expect((await quotasOf(adminA, ws)).data?.workspace?.quotas.concurrentRuns).toEqual({ quota: 'CONCURRENT_RUNS', limit: 1, used: 1 });

    // The worker reports the run's end on RUNS: it stops counting (a redelivery changes nothing).
    await finishRun(ws, runId!);
    await until('the run released', async () => (await activeRuns(ws)).length === 0);
    const again = await testConnection(connB);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data?.testConnection?.runId).toEqual(expect.any(String));
    await finishRun(ws, runId!, 'FAILURE');

    // Two dispatches at once against one free slot: the workspace lock lets exactly one through.
    await finishRun(ws, again.body.data!.testConnection!.runId!, 'CANCELED');
    await until('the second run released', async () => (await activeRuns(ws)).length === 0);
    const raced = await Promise.all([testConnection(connA), testConnection(connB)]);
    const codes = raced.map((r) => (r.body.errors?.[0]?.extensions?.code as string | undefined) ?? 'OK').sort();
    expect(codes).toEqual(['OK', 'QUOTA_EXCEEDED']);
    expect(await activeRuns(ws)).toHaveLength(1);
  });

  it('rows per run: the limit is validated, shown, and handed to the data plane with the dispatch', async () => {
    const ws = await newWorkspace(adminA, 'quota-rows');
    const conn = await newConnection(ws, 'rows');
    expect((await update(adminA, ws, { rowsPerRun: -5 })).body.data?.updateWorkspaceQuotas?.errors.map((e) => e.field)).toEqual(['rowsPerRun']);
    expect((await update(adminA, ws, { rowsPerRun: 250_000 })).body.data?.updateWorkspaceQuotas?.quotas?.rowsPerRun).toEqual({
      quota: 'ROWS_PER_RUN',
      limit: 250_000,
      used: null,
    });
    const tested = await testConnection(conn);
    expect(tested.body.errors).toBeUndefined();
    const [job] = await ds.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`jobs.connection.test.${ws}`]);
    expect(job.payload.limits).toEqual({ maxRows: 250_000, maxStorageBytes: 10 * 1024 ** 3 });
    expect(job.payload.runId).toBe(tested.body.data!.testConnection!.runId);
  });

  it('storage: a dispatch that loads data is refused with QUOTA_EXCEEDED STORAGE_BYTES when the measured warehouse schema is at its limit', async () => {
    const ws = await newWorkspace(adminA, 'quota-storage');
    const schema = `wh_quota_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    await ds.query(`CREATE SCHEMA "${schema}"`);
    await ds.query(`CREATE TABLE "${schema}".raw_orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 2000) g`);
    warehouseSchemas.set(ws, schema);
    const [{ bytes }] = await ds.query(
      `SELECT sum(pg_total_relation_size(c.oid))::bigint::text AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [schema],
    );
    const measured = Number(bytes);
    expect(measured).toBeGreaterThan(0);

    // Shown as used.
    expect((await quotasOf(adminA, ws)).data?.workspace?.quotas.storageBytes).toEqual({ quota: 'STORAGE_BYTES', limit: 10 * 1024 ** 3, used: measured });

    const policy = new QuotaPolicy(
      new QuotaDao(app),
      new ActiveRunDao(app),
      DEFAULT_QUOTA_LIMITS,
      new PostgresSchemaStorageUsage(ds, async (_o, id) => warehouseSchemas.get(id) ?? null),
    );
    const dispatch = (writesData: boolean) => withTenant(app, orgA, (em) => policy.assertCanDispatch(em, orgA, ws, { writesData }));
    // Below the limit: allowed.
    await expect(dispatch(true)).resolves.toEqual({ limits: { maxRows: 50_000_000, maxStorageBytes: 10 * 1024 ** 3 } });

    // Exactly at the limit (used ≥ limit): refused, naming the limit and the usage.
    expect((await update(adminA, ws, { storageBytes: measured })).body.data?.updateWorkspaceQuotas?.errors).toEqual([]);
    const err = await dispatch(true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as QuotaExceededError).extensions).toEqual({ code: 'QUOTA_EXCEEDED', quota: 'STORAGE_BYTES', limit: measured, used: measured });
    expect((err as QuotaExceededError).message).toMatch(/storage quota is .* and .* are used, so a run may not load more into it/);
    // A connection test loads nothing: not refused for storage.
    await expect(dispatch(false)).resolves.toEqual({ limits: { maxRows: 50_000_000, maxStorageBytes: measured } });
    // A workspace whose warehouse is not provisioned (not measured) is not refused.
    warehouseSchemas.delete(ws);
    await expect(dispatch(true)).resolves.toBeDefined();
    warehouseSchemas.set(ws, schema);
  });
});
