import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { unseal } from '@datalinx/common';
import {
  canonicalizeColumnJobV1,
  isExternalDestination,
  pipelineRunJobV2,
  pipelineSecretAad,
  sourceSyncJobV1,
  type ExternalWarehouseDestination,
  type WarehouseDestination,
} from '@datalinx/contracts';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import type { Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { CanonicalizeManager } from '../src/managers/canonicalize.manager';
import { quotaPolicy } from '../src/managers/quota.manager';
import type { WorkspaceManager } from '../src/managers/workspace.manager';
import { CanonicalTypeRefDao } from '../src/daos/canonical-type-ref.dao';
import { ConnectionDao } from '../src/daos/connection.dao';
import { WarehouseDao } from '../src/daos/warehouse.dao';
import { jobDispatchSettings } from '../src/jobs/job-dispatch-settings';
import { SYNC_CONNECTION, WarehousePlatform, newPostgresConnection, type DispatchPayload } from './support/warehouse-platform';

type Errors = DispatchPayload['errors'];

const CANONICALIZE = `mutation($i: CanonicalizeColumnInput!){ canonicalizeColumn(input: $i) { runId errors { code field message } } }`;
const CREATE_PIPELINE = `mutation($i: CreatePipelineInput!){ createPipeline(input: $i) { pipeline { id } errors { code field message } } }`;
const RUN_PIPELINE = `mutation($id: ID!){ runPipeline(id: $id) { runId errors { code field message } } }`;
const USE_EXTERNAL = `mutation($w: ID!, $c: ID!){ useExternalWarehouse(workspaceId: $w, connectionId: $c) { workspace { warehouse { mode status schema role database } } errors { code field message } } }`;

/**
 * An EXTERNAL warehouse through the gateway: useExternalWarehouse points a workspace at its
 * DESTINATION PostgreSQL connection (a throwaway "customer" database owned by a login role with a
 * password); syncConnection, runPipeline and canonicalizeColumn then dispatch jobs whose
 * destination is that connection, its password sealed for the data plane with the job's own AAD
 * (never in clear in the message), without the platform storage quota; a real worker (without
 * WAREHOUSE_ADMIN_URL) loads the source into the customer's database. A destination connection
 * that is gone: WAREHOUSE_CONNECTION_NOT_FOUND, nothing dispatched.
 */
describe('EXTERNAL warehouse: dispatch through the gateway', () => {
  // No platform warehouse database: this file's workspaces load into the customer's database only.
  const env = new WarehousePlatform({ name: 'extwh', orgName: 'ExtWh', warehouseDatabase: false });
  const { suffix, gql, waitFor } = env;
  let p: Platform;
  let orgId: string;
  let source: TestDatabase;
  let pg: Client;
  const hex = randomBytes(6).toString('hex');
  const owner = `dlx_cust_${hex}`;
  const ownerPassword = `pw-${randomBytes(12).toString('hex')}`;
  const customerDb = `dlx_customer_${hex}`;
  const customerUrl = new URL(process.env.DATABASE_URL!);
  customerUrl.pathname = `/${customerDb}`;
  /** The customer's database as its owner, with the password: what the DESTINATION connections point at. */
  const ownerUrl = new URL(customerUrl);
  ownerUrl.username = owner;
  ownerUrl.password = ownerPassword;
  const workspaces: string[] = [];
  /** The workspace loading into the customer's database, and its connections. */
  const ws = { id: '', schema: '', sourceId: '', destinationId: '' };
  /** A workspace whose external warehouse's destination connection was deleted (by the test 'the destination connection is gone'). */
  let gone = '';

  const data = <T>(res: { body: { data?: unknown; errors?: unknown } }, field: string): T => {
    expect(res.body.errors).toBeUndefined();
    return (res.body.data as Record<string, T>)[field]!;
  };

  /** createWorkspace (its warehouse.provision job has no worker here: the afterAll purges it). */
  async function createWorkspace(slug: string) {
    const created = await env.createWorkspace(slug);
    workspaces.push(created.id);
    return created;
  }

  /** A POSTGRES connection of a workspace: the throwaway source database, or the customer's database as its owner (DESTINATION). */
  const createConnection = (workspaceId: string, name: string, kind: 'SOURCE' | 'DESTINATION', schema?: string) =>
    newPostgresConnection(env, workspaceId, kind === 'SOURCE' ? source.url : ownerUrl.toString(), { name, kind, schema });

  const sync = async (connectionId: string) =>
    data<DispatchPayload>(
      await gql(SYNC_CONNECTION, {
        i: {
          connectionId,
          tables: [{ schema: 'public', name: 'customer', mode: 'FULL' }],
        },
      }),
      'syncConnection',
    );

  /** The job a dispatch wrote to the outbox (as the relay publishes it), and its JSON text. */
  async function outboxJob(kind: string, workspaceId: string, runId: string): Promise<{ raw: string; payload: unknown }> {
    const payload = await env.dispatched(kind, workspaceId, runId);
    return { raw: JSON.stringify(payload), payload };
  }

  const jobsInOutbox = async (): Promise<number> =>
    (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.outbox WHERE subject LIKE 'jobs.%' AND subject NOT LIKE 'jobs.warehouse.%'`))[0]
      .n;

  /** The destination's secrets open with the job's AAD (and only with it) and hold the customer's password. */
  function expectSealedFor(d: WarehouseDestination, aad: string): void {
    expect(isExternalDestination(d)).toBe(true);
    const ext = (d as ExternalWarehouseDestination).external;
    const key = Buffer.from(p.masterKey, 'base64');
    expect(JSON.parse(unseal(key, ext.secrets!, aad))).toEqual({
      password: ownerPassword,
    });
    expect(() => unseal(key, ext.secrets!, `job:${randomUUID()}`)).toThrow();
  }

  beforeAll(async () => {
    pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    await pg.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${ownerPassword}'`);
    await pg.query(`CREATE DATABASE ${customerDb} OWNER ${owner}`);
    await env.start();
    ({ p, orgId } = env);

    source = await createTestDatabase();
    const src = new Client({ connectionString: source.url });
    await src.connect();
    await src.query(`CREATE TABLE customer (id int PRIMARY KEY, email text)`);
    await src.query(`INSERT INTO customer SELECT i, 'c' || i || '@example.org' FROM generate_series(1, 12) i`);
    await src.end();

    ({ id: ws.id, schema: ws.schema } = await createWorkspace('extwh-a'));
    ws.sourceId = await createConnection(ws.id, 'crm', 'SOURCE');
    // No schema on the connection: loads go to the workspace's generated schema name, created in the customer's database by the first run.
    ws.destinationId = await createConnection(ws.id, 'customer-warehouse', 'DESTINATION');
    const used = data<{
      workspace: { warehouse: Record<string, unknown> };
      errors: Errors;
    }>(await gql(USE_EXTERNAL, { w: ws.id, c: ws.destinationId }), 'useExternalWarehouse');
    expect(used.errors).toEqual([]);
    expect(used.workspace.warehouse).toEqual({
      mode: 'EXTERNAL',
      status: 'READY',
      schema: ws.schema,
      role: owner,
      database: customerDb,
    });

    // A worker for this workspace's connection and source jobs only, without WAREHOUSE_ADMIN_URL: an external load does not need it.
    env.startWorker(ws.id, {
      durable: `extwh-dispatch-${suffix}`,
      domains: ['connection', 'source'],
      env: { WAREHOUSE_ADMIN_URL: undefined, JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' },
    });
    // syncConnection checks its tables against what discovery found.
    await env.discover(ws.sourceId);
  }, 180000);

  afterAll(async () => {
    await env.stopWorkers();
    // Provision, pipeline and column jobs of these workspaces have no worker here: drop them from the JOBS work queue.
    if (p) for (const id of workspaces) await env.purgeJobsOf(id);
    await source?.drop();
    // The platform, then the workspaces' roles (env.stop), then the customer's database and role.
    await env.stop();
    if (pg) {
      await pg.query(`DROP DATABASE IF EXISTS ${customerDb} WITH (FORCE)`);
      await pg.query(`DROP ROLE IF EXISTS ${owner}`);
      await pg.end();
    }
  }, 60000);

  it('syncConnection: the job carries the external destination, its password sealed for the job only; the worker loads into the customer database', async () => {
    const r = await sync(ws.sourceId);
    expect(r.errors).toEqual([]);
    const { raw, payload } = await outboxJob('source.sync', ws.id, r.runId!);
    expect(raw).not.toContain(ownerPassword);
    const job = sourceSyncJobV1.parse(payload);
    const d = job.payload.destination;
    expect(d).toMatchObject({
      schema: ws.schema,
      external: {
        connectionId: ws.destinationId,
        config: {
          type: 'POSTGRES',
          database: customerDb,
          user: owner,
          sslMode: 'prefer',
        },
      },
    });
    expectSealedFor(d, `job:${job.jobId}`);
    // The platform storage quota is not handed to a load into the customer's own database; the row limit is.
    expect(job.limits?.maxRows).toBeGreaterThan(0);
    expect(job.limits?.maxStorageBytes).toBeUndefined();

    const final = await waitFor(
      'the sync run to finish',
      async () => {
        const res = await gql<{
          run: {
            state: string;
            error: { code: string; message: string } | null;
          } | null;
        }>(`query($id: ID!){ run(id: $id) { state error { code message } } }`, {
          id: r.runId,
        });
        const s = res.body.data?.run;
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );
    expect(final).toEqual({ state: 'SUCCESS', error: null });
    const c = new Client({ connectionString: customerUrl.toString() });
    await c.connect();
    try {
      const { rows } = await c.query(
        `SELECT count(*)::int AS n, array_agg(DISTINCT _dlx_run_id::text) AS runs, (SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'raw_public__customer') AS owner FROM ${ws.schema}.raw_public__customer`,
        [ws.schema],
      );
      expect(rows[0]).toEqual({ n: 12, runs: [r.runId], owner });
    } finally {
      await c.end();
    }
  }, 120000);

  it('runPipeline: the load destination is the external connection, sealed with the pipeline AAD of the destination connection', async () => {
    const created = data<{ pipeline: { id: string }; errors: Errors }>(
      await gql(CREATE_PIPELINE, {
        i: {
          workspaceId: ws.id,
          name: 'to the customer',
          definition: { sources: [{ connectionId: ws.sourceId }] },
        },
      }),
      'createPipeline',
    );
    expect(created.errors).toEqual([]);
    const r = data<DispatchPayload>(await gql(RUN_PIPELINE, { id: created.pipeline.id }), 'runPipeline');
    expect(r.errors).toEqual([]);
    const { raw, payload } = await outboxJob('pipeline.run', ws.id, r.runId!);
    expect(raw).not.toContain(ownerPassword);
    const job = pipelineRunJobV2.parse(payload);
    expect(job.payload.load.destination).toMatchObject({
      schema: ws.schema,
      external: { connectionId: ws.destinationId },
    });
    expectSealedFor(job.payload.load.destination, pipelineSecretAad(job.jobId, ws.destinationId));
    expect(job.limits?.maxStorageBytes).toBeUndefined();
  });

  it('the destination connection is gone: WAREHOUSE_CONNECTION_NOT_FOUND saying what to do, nothing dispatched', async () => {
    const { id } = await createWorkspace('extwh-gone');
    const src = await createConnection(id, 'crm', 'SOURCE');
    const dest = await createConnection(id, 'doomed-warehouse', 'DESTINATION', 'gone_here');
    expect(data<{ errors: Errors }>(await gql(USE_EXTERNAL, { w: id, c: dest }), 'useExternalWarehouse').errors).toEqual([]);
    const pipeline = data<{ pipeline: { id: string } }>(
      await gql(CREATE_PIPELINE, {
        i: {
          workspaceId: id,
          name: 'gone',
          definition: { sources: [{ connectionId: src }] },
        },
      }),
      'createPipeline',
    ).pipeline.id;
    // The warehouse row keeps the connection from being deleted (foreign key): the row is removed behind the service's back.
    const admin = new Client({ connectionString: p.db.url });
    await admin.connect();
    try {
      await admin.query(`SET session_replication_role = replica`);
      await admin.query(`DELETE FROM workspace.connection WHERE id = $1`, [dest]);
    } finally {
      await admin.end();
    }
    const before = await jobsInOutbox();
    const s = await sync(src);
    expect(s.runId).toBeNull();
    expect(s.errors).toEqual([
      expect.objectContaining({
        code: 'WAREHOUSE_CONNECTION_NOT_FOUND',
        field: 'connectionId',
      }),
    ]);
    expect(s.errors[0]!.message).toMatch(/no longer exists.*useExternalWarehouse/);
    const run = data<DispatchPayload>(await gql(RUN_PIPELINE, { id: pipeline }), 'runPipeline');
    expect(run.errors.map((e) => e.code)).toEqual(['WAREHOUSE_CONNECTION_NOT_FOUND']);
    gone = id;
    expect(await jobsInOutbox()).toBe(before);
  });

  it('canonicalizeColumn: the job carries the external destination sealed with AAD job:<jobId>; its destination connection gone: WAREHOUSE_CONNECTION_NOT_FOUND', async () => {
    const r = data<DispatchPayload>(
      await gql(CANONICALIZE, {
        i: {
          workspaceId: ws.id,
          table: 'raw_public__customer',
          column: 'email',
          canonicalType: 'email',
        },
      }),
      'canonicalizeColumn',
    );
    expect(r.errors).toEqual([]);
    const { raw, payload } = await outboxJob('column.canonicalize', ws.id, r.runId!);
    expect(raw).not.toContain(ownerPassword);
    const job = canonicalizeColumnJobV1.parse(payload);
    expectSealedFor(job.payload.destination, `job:${job.jobId}`);

    const before = await jobsInOutbox();
    const c = data<DispatchPayload>(
      await gql(CANONICALIZE, { i: { workspaceId: gone, table: 'raw_public__customer', column: 'email', canonicalType: 'email' } }),
      'canonicalizeColumn',
    );
    expect(c.errors.map((e) => `${e.code}@${e.field}`)).toEqual(['WAREHOUSE_CONNECTION_NOT_FOUND@workspaceId']);
    expect(await jobsInOutbox()).toBe(before);
  });

  it('CanonicalizeManager wired with the connection DAO and data-plane key (as app.ts should): the job carries the external destination sealed with AAD job:<jobId>', async () => {
    const ds = p.app.workspace;
    const viewer = userViewer({ orgId, orgRole: 'ADMIN' });
    // The runs the tests above dispatched are still active (no worker runs them to the end): room for one more.
    const room = await gql<{ updateWorkspaceQuotas: { errors: unknown[] } }>(
      `mutation($ws: ID!, $i: UpdateWorkspaceQuotasInput!){ updateWorkspaceQuotas(workspaceId: $ws, input: $i) { errors { code field message } } }`,
      { ws: ws.id, i: { concurrentRuns: 100 } },
    );
    expect(room.body.data?.updateWorkspaceQuotas.errors).toEqual([]);
    const workspacesStub = { archivedError: () => ({ code: 'WORKSPACE_ARCHIVED', field: 'workspaceId', message: 'archived' }) } as unknown as WorkspaceManager;
    const settings = jobDispatchSettings({ masterKey: Buffer.from(p.masterKey, 'base64'), testTimeoutMs: 10000 });
    const manager = new CanonicalizeManager(
      ds,
      new CanonicalTypeRefDao(ds),
      new WarehouseDao(ds),
      workspacesStub,
      () => undefined,
      quotaPolicy(ds),
      new ConnectionDao(ds),
      settings,
    );
    const r = await manager.canonicalize(viewer, { workspaceId: ws.id, table: 'raw_public__customer', column: 'email', canonicalType: 'email' });
    expect(r.errors).toEqual([]);
    const { raw, payload } = await outboxJob('column.canonicalize', ws.id, r.runId!);
    expect(raw).not.toContain(ownerPassword);
    const job = canonicalizeColumnJobV1.parse(payload);
    expect(job.payload.destination).toMatchObject({ schema: ws.schema, external: { connectionId: ws.destinationId } });
    expectSealedFor(job.payload.destination, `job:${job.jobId}`);
    expect(job.limits?.maxStorageBytes).toBeUndefined();
    const gone_ = await manager.canonicalize(viewer, { workspaceId: gone, table: 'raw_public__customer', column: 'email', canonicalType: 'email' });
    expect(gone_.errors.map((e) => `${e.code}@${e.field}`)).toEqual(['WAREHOUSE_CONNECTION_NOT_FOUND@workspaceId']);
  });

  it('the destination connection turned into a SOURCE: WAREHOUSE_CONNECTION_INVALID; a schema loads cannot use: refused by useExternalWarehouse', async () => {
    const { id } = await createWorkspace('extwh-turned');
    const src = await createConnection(id, 'crm', 'SOURCE');
    const dest = await createConnection(id, 'turned-warehouse', 'DESTINATION');
    expect(data<{ errors: Errors }>(await gql(USE_EXTERNAL, { w: id, c: dest }), 'useExternalWarehouse').errors).toEqual([]);
    const updated = data<{ errors: Errors }>(
      await gql(`mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { errors { code field message } } }`, {
        id: dest,
        i: { kind: 'SOURCE' },
      }),
      'updateConnection',
    );
    expect(updated.errors).toEqual([]);
    const before = await jobsInOutbox();
    const s = await sync(src);
    expect(s.errors.map((e) => e.code)).toEqual(['WAREHOUSE_CONNECTION_INVALID']);
    expect(s.errors[0]!.message).toContain('SOURCE');
    expect(await jobsInOutbox()).toBe(before);

    const odd = await createConnection(id, 'odd-schema', 'DESTINATION', 'pg_mine');
    const refused = data<{ errors: Errors }>(await gql(USE_EXTERNAL, { w: id, c: odd }), 'useExternalWarehouse');
    expect(refused.errors.map((e) => `${e.code}@${e.field}`)).toEqual(['WAREHOUSE_SCHEMA_INVALID@connectionId']);
  });
});
