import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource, withTenant } from '@datalinx/db';
import { warehouseProvisionJobV1, warehousePurgeJobV1 } from '@datalinx/contracts';
import { viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL } from '../../../test/support/http';
import { Keyring, type WorkspaceSealed } from '../src/secrets/keyring';
import { PostgresSchemaStorageUsage, platformSchemaOf } from '../src/managers/quota.manager';
import { WarehouseDao } from '../src/daos/warehouse.dao';
import { warehousePasswordAad } from '../src/managers/warehouse.manager';
import { provisionWarehouse, purgeWarehouse } from '../../../workers/src/jobs/warehouse';
import { RunReporter } from '../../../workers/src/run-reporter';
import { JobSecrets } from '../../../workers/src/job-secrets';
import { WarehousePlatform, sql } from './support/warehouse-platform';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../test/support/connections';

/**
 * Warehouse provisioning end to end (a workspace role cannot read
 * another workspace's warehouse schema — tested as that role): createWorkspace → outbox → JOBS →
 * the real worker process (WAREHOUSE_ADMIN_URL on a throwaway warehouse database of this test)
 * → RUNS → the workspace service marks the warehouse READY. Then each role's password is read
 * (unsealed with the keyring, as the platform would) and the test logs in as each role.
 */
describe('warehouse provisioning through the worker', () => {
  const env = new WarehousePlatform({ name: 'test', orgName: 'Wh' });
  const { suffix, whDb, whUrl, workerOutput, waitFor } = env;
  let p: Platform;
  let orgId: string;
  const ws: Record<'A' | 'B', { id: string; schema: string; role: string; password: string }> = {} as never;

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) => env.gql<T>(query, variables);

  /**
   * One worker per workspace, narrowed to its connection and warehouse jobs (JOBS is shared with
   * other test files); at debug level, so the test can check that no password reaches the logs.
   */
  const startWorker = (workspaceId: string) =>
    env.startWorker(workspaceId, {
      durable: `wh-${suffix}-${workspaceId.slice(0, 8)}`,
      domains: ['connection', 'warehouse'],
      env: { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200', LOG_LEVEL: 'debug' },
    });

  const warehouseStatus = async (workspaceId: string): Promise<{ status: string; last_error: string | null }> =>
    (await p.sources.workspace.query(`SELECT status, last_error FROM workspace.warehouse WHERE workspace_id = $1`, [workspaceId]))[0];

  async function unsealPassword(workspaceId: string): Promise<string> {
    const [row] = await p.sources.workspace.query(`SELECT password_sealed FROM workspace.warehouse WHERE workspace_id = $1`, [workspaceId]);
    const keyring = new Keyring(Buffer.from(p.masterKey, 'base64'));
    return withTenant(p.app.workspace, orgId, (em) =>
      keyring.unseal(em, orgId, workspaceId, row.password_sealed as WorkspaceSealed, warehousePasswordAad(workspaceId)),
    );
  }

  const loginAs = async (o: { role: string; password: string }) => {
    // The warehouse URL with the role's credentials: its TLS settings (sslmode, sslrootcert) stay, as the server npm test starts accepts TLS only.
    const url = new URL(whUrl.toString());
    url.username = encodeURIComponent(o.role);
    url.password = encodeURIComponent(o.password);
    url.pathname = `/${whDb}`;
    const c = new Client({ connectionString: url.toString() });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    await env.start();
    ({ p, orgId } = env);
    for (const [k, slug] of [
      ['A', 'alpha'],
      ['B', 'beta'],
    ] as const) {
      ws[k] = { ...(await env.createWorkspace(slug)), password: '' };
      startWorker(ws[k].id);
    }
    for (const k of ['A', 'B'] as const) {
      expect(await env.warehouseProvisioned(ws[k].id, k)).toEqual({ status: 'READY', last_error: null });
      ws[k].password = await unsealPassword(ws[k].id);
    }
  }, 180000);

  afterAll(async () => {
    await env.stopWorkers();
    // Roles are cluster-wide: the workspaces' roles are dropped with the warehouse database.
    await env.stop();
  }, 60000);

  it('shows the warehouse (READY, host, database, schema, role) but never the password', async () => {
    const res = await gql<{ workspace: { warehouse: Record<string, unknown> } }>(
      `query($id: ID!){ workspace(id: $id) { warehouse { mode status host port database schema role passwordSet lastError updatedAt } } }`,
      { id: ws.A.id },
    );
    expect(res.body.data!.workspace.warehouse).toMatchObject({
      mode: 'PLATFORM',
      status: 'READY',
      host: whUrl.hostname,
      database: whDb,
      schema: ws.A.schema,
      role: ws.A.role,
      passwordSet: true,
      lastError: null,
    });
    expect(JSON.stringify(res.body)).not.toContain(ws.A.password);
    // Nor in the worker's logs (debug level), nor in clear in the outbox or the database row.
    expect(workerOutput.join('')).not.toContain(ws.A.password);
    expect(workerOutput.join('')).not.toContain(ws.B.password);
    const [row] = await p.sources.workspace.query(`SELECT password_sealed::text AS s FROM workspace.warehouse WHERE workspace_id = $1`, [ws.A.id]);
    expect(row.s).not.toContain(ws.A.password);
    const outbox: Array<{ p: string }> = await p.sources.workspace.query(`SELECT payload::text AS p FROM workspace.outbox`);
    expect(outbox.some((o) => o.p.includes(ws.A.password))).toBe(false);
    // The run reported every step (monitoring records them on its own consumer: wait for it).
    const steps = await waitFor(
      'monitoring to record the provision steps',
      async () => {
        const rows: Array<{ name: string; status: string }> = await p.sources.monitoring.query(
          `SELECT s.name, s.status FROM monitoring.run_step s JOIN monitoring.run r ON r.id = s.run_id WHERE r.workspace_id = $1 AND r.kind = 'warehouse.provision' ORDER BY s.seq`,
          [ws.A.id],
        );
        return rows.length >= 3 ? rows : undefined;
      },
      20000,
    );
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['role ready', 'SUCCESS'],
      ['schema ready', 'SUCCESS'],
      ['isolation checked', 'SUCCESS'],
    ]);
  });

  it('a workspace role uses its own schema and gets "permission denied" on the other workspace\'s schema and on public (both ways)', async () => {
    for (const me of ['A', 'B'] as const) {
      const c = await loginAs(ws[me]);
      try {
        // search_path is the role's schema: an unqualified table lands there.
        await c.query(`CREATE TABLE orders (id int PRIMARY KEY, note text)`);
        await c.query(`INSERT INTO orders VALUES (1, $1)`, [`from ${me}`]);
        const { rows } = await c.query(`SELECT note FROM ${ws[me].schema}.orders`);
        expect(rows).toEqual([{ note: `from ${me}` }]);
        const [{ s }] = (await c.query(`SELECT current_setting('statement_timeout') AS s`)).rows;
        expect(s).toBe('5min');
      } finally {
        await c.end();
      }
    }
    for (const [me, other] of [
      ['A', 'B'],
      ['B', 'A'],
    ] as const) {
      const c = await loginAs(ws[me]);
      try {
        await expect(c.query(`SELECT * FROM ${ws[other].schema}.orders`)).rejects.toThrow(/permission denied/);
        await expect(c.query(`CREATE TABLE public.leak (x int)`)).rejects.toThrow(/permission denied/);
        await expect(c.query(`CREATE TABLE ${ws[other].schema}.leak (x int)`)).rejects.toThrow(/permission denied/);
      } finally {
        await c.end();
      }
    }
  });

  it("measures each workspace's storage as the size of its own warehouse schema (the storage quota's usage)", async () => {
    const warehouseDb = await createDataSource({ url: whUrl.toString(), schema: 'public', entities: [], poolMax: 1 }).initialize();
    try {
      const usage = new PostgresSchemaStorageUsage(warehouseDb, platformSchemaOf(new WarehouseDao(p.app.workspace)));
      const before = await usage.bytesUsed(orgId, [ws.A.id, ws.B.id, randomUUID()]);
      const c = await loginAs(ws.A);
      try {
        await c.query(`CREATE TABLE bulk AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 5000) g`);
      } finally {
        await c.end();
      }
      const after = await usage.bytesUsed(orgId, [ws.A.id, ws.B.id]);
      expect(after.get(ws.A.id)!).toBeGreaterThan(before.get(ws.A.id)! + 1_000_000);
      expect(after.get(ws.B.id)).toBe(before.get(ws.B.id));
      // A workspace without a platform warehouse schema is not measured (null: not enforced).
      expect([...before.values()][2]).toBeNull();
    } finally {
      await warehouseDb.destroy();
    }
  });

  it('re-running provision (a redelivered job) changes nothing: same password works, data and isolation unchanged', async () => {
    const [{ payload }] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`jobs.warehouse.provision.${ws.A.id}`]);
    const job = warehouseProvisionJobV1.parse(payload);
    const before = await sql(
      whUrl,
      `SELECT nspname, nspacl::text AS acl, (SELECT datacl::text FROM pg_database WHERE datname = current_database()) AS db FROM pg_namespace WHERE nspname IN ('${ws.A.schema}', '${ws.B.schema}', 'public') ORDER BY 1`,
    );
    const secrets = new JobSecrets(p.masterKey);
    const result = await provisionWarehouse(
      job,
      whUrl.toString(),
      () => secrets.value(job.jobId, job.payload.password),
      new RunReporter(p.nats.js, job, ws.A.id, 2),
    );
    expect(result.ok).toBe(true);
    const after = await sql(
      whUrl,
      `SELECT nspname, nspacl::text AS acl, (SELECT datacl::text FROM pg_database WHERE datname = current_database()) AS db FROM pg_namespace WHERE nspname IN ('${ws.A.schema}', '${ws.B.schema}', 'public') ORDER BY 1`,
    );
    expect(after).toEqual(before);
    const c = await loginAs(ws.A);
    try {
      expect((await c.query(`SELECT note FROM orders`)).rows).toEqual([{ note: 'from A' }]);
      await expect(c.query(`SELECT * FROM ${ws.B.schema}.orders`)).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
    expect(await warehouseStatus(ws.A.id)).toEqual({ status: 'READY', last_error: null });
  });

  it('provisions and purges many workspaces at once (they share the database and public ACLs): every job succeeds', async () => {
    const [{ payload }] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`jobs.warehouse.provision.${ws.A.id}`]);
    const template = warehouseProvisionJobV1.parse(payload);
    const jobs = Array.from({ length: 6 }, () => {
      const hex = randomUUID().replace(/-/g, '').slice(0, 12);
      return { ...template, jobId: randomUUID(), payload: { ...template.payload, schema: `ws_${hex}`, role: `dlx_ws_${hex}` } };
    });
    const password = `pw-${randomUUID()}`;
    try {
      const results = await Promise.all(
        jobs.map((job) => provisionWarehouse(job, whUrl.toString(), () => password, new RunReporter(p.nats.js, job, ws.A.id, 2))),
      );
      expect(results.map((r) => r.error ?? r.ok)).toEqual(jobs.map(() => true));
      for (const job of jobs) {
        const c = await loginAs({ role: job.payload.role, password });
        try {
          await expect(c.query(`SELECT * FROM ${ws.A.schema}.orders`)).rejects.toThrow(/permission denied/);
          expect((await c.query(`SELECT current_schema() AS s`)).rows).toEqual([{ s: job.payload.schema }]);
        } finally {
          await c.end();
        }
      }
    } finally {
      const purged = await Promise.all(
        jobs.map((job) => {
          const { database, schema, role } = job.payload;
          const purge = warehousePurgeJobV1.parse({ ...job, jobId: randomUUID(), kind: 'warehouse.purge', payload: { database, schema, role } });
          return purgeWarehouse(purge, whUrl.toString(), new RunReporter(p.nats.js, purge, ws.A.id, 2));
        }),
      );
      expect(purged.map((r) => r.error ?? r.ok)).toEqual(jobs.map(() => true));
    }
    const left = await sql(whUrl, `SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY($1)`, [jobs.map((j) => j.payload.role)]);
    expect(left).toEqual([{ n: 0 }]);
  });

  it('switches to an EXTERNAL warehouse only for a DESTINATION PostgreSQL connection of the same workspace', async () => {
    const conn = async (workspaceId: string, name: string, kind: string) => {
      const res = await gql<CreateConnectionResult>(CREATE_CONNECTION, {
        i: postgresConnectionInput({
          workspaceId,
          name,
          kind: kind as 'SOURCE' | 'DESTINATION',
          databaseUrl: 'postgres://loader:secret@dest.example:6543/analytics',
        }),
      });
      return res.body.data!.createConnection.connection!.id;
    };
    const use = (workspaceId: string, connectionId: string) =>
      gql<{ useExternalWarehouse: { workspace: { warehouse: Record<string, unknown> } | null; errors: Array<{ code: string }> } }>(
        `mutation($w: ID!, $c: ID!){ useExternalWarehouse(workspaceId: $w, connectionId: $c) { workspace { warehouse { mode status host port database role connection { id } } } errors { code field } } }`,
        { w: workspaceId, c: connectionId },
      );
    const source = await conn(ws.B.id, 'src', 'SOURCE');
    const destOfA = await conn(ws.A.id, 'dest-a', 'DESTINATION');
    const dest = await conn(ws.B.id, 'dest', 'DESTINATION');
    expect((await use(ws.B.id, source)).body.data?.useExternalWarehouse.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_DESTINATION']);
    expect((await use(ws.B.id, destOfA)).body.data?.useExternalWarehouse.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_FOUND']);
    expect((await use(ws.B.id, randomUUID())).body.data?.useExternalWarehouse.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_FOUND']);
    const [{ mode }] = await p.sources.workspace.query(`SELECT mode FROM workspace.warehouse WHERE workspace_id = $1`, [ws.B.id]);
    expect(mode).toBe('PLATFORM');
    const ok = await use(ws.B.id, dest);
    expect(ok.body.data?.useExternalWarehouse.errors).toEqual([]);
    expect(ok.body.data?.useExternalWarehouse.workspace?.warehouse).toEqual({
      mode: 'EXTERNAL',
      status: 'READY',
      host: 'dest.example',
      port: 6543,
      database: 'analytics',
      role: 'loader',
      connection: { id: dest },
    });
    // The warehouse's connection cannot be deleted from under it: a typed error, nothing changed.
    const del = await gql<{ deleteConnection: { deletedId: string | null; errors: Array<{ code: string; field: string; message: string }> } }>(
      `mutation($id: ID!){ deleteConnection(id: $id) { deletedId errors { code field message } } }`,
      { id: dest },
    );
    expect(del.body.errors).toBeUndefined();
    expect(del.body.data!.deleteConnection).toMatchObject({ deletedId: null, errors: [{ code: 'CONNECTION_IN_USE', field: 'id' }] });
    expect(del.body.data!.deleteConnection.errors[0]!.message).toMatch(/useExternalWarehouse/);
    expect(await p.sources.workspace.query(`SELECT id FROM workspace.connection WHERE id = $1`, [dest])).toHaveLength(1);
    // A MEMBER cannot choose the warehouse.
    const member = viewerHeader(userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: ws.A.id, role: 'EDITOR' }] }));
    const denied = await postGraphQL<unknown>(
      p.gatewayUrl,
      `mutation($w: ID!, $c: ID!){ useExternalWarehouse(workspaceId: $w, connectionId: $c) { errors { code } } }`,
      { w: ws.A.id, c: destOfA },
      member,
    );
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('deleting a workspace purges its schema and role (PURGED); the other workspace is untouched', async () => {
    const del = await gql<{ deleteWorkspace: { purgeRunId: string; errors: unknown[] } }>(
      `mutation($id: ID!){ deleteWorkspace(id: $id) { purgeRunId errors { code } } }`,
      { id: ws.A.id },
    );
    expect(del.body.data?.deleteWorkspace.errors).toEqual([]);
    await waitFor('warehouse A to be purged', async () => ((await warehouseStatus(ws.A.id)).status === 'PURGED' ? true : undefined));
    expect(await sql(whUrl, `SELECT nspname FROM pg_namespace WHERE nspname = '${ws.A.schema}'`)).toEqual([]);
    expect(await sql(whUrl, `SELECT rolname FROM pg_roles WHERE rolname = '${ws.A.role}'`)).toEqual([]);
    await expect(loginAs(ws.A)).rejects.toThrow();
    const c = await loginAs(ws.B);
    try {
      expect((await c.query(`SELECT note FROM ${ws.B.schema}.orders`)).rows).toEqual([{ note: 'from B' }]);
    } finally {
      await c.end();
    }
  }, 90000);
});
