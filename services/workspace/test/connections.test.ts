import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import mysql from 'mysql2/promise';
import { REDACT_PATHS, unseal } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { encodeJson } from '@datalinx/messaging';
import type { Viewer } from '@datalinx/graphql-kit';
import { CONNECTION_FAILED_V1, connectionFailedV1, connectionTestJobV2, runSubject, STREAMS, type RunStateChangedV1 } from '@datalinx/contracts';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL } from '../../../test/support/http';
import { Keyring } from '../src/secrets/keyring';
import { ConnectionDao } from '../src/daos/connection.dao';
import { ConnectionRetestLoop } from '../src/jobs/connection-retest.loop';
import { jobDispatchSettings } from '../src/jobs/job-dispatch-settings';
import { rotateMasterKey } from '../src/rotate-master-key';
import { deleteWorkerConsumers } from '../../../test/support/worker-consumers';
import { LOOPBACK_ALLOWED } from '../../../workers/test/support/worker-process';
import { MYSQL } from '../../../workers/test/support/sources';

const WORKER = path.resolve(__dirname, '..', '..', '..', 'workers', 'dist', 'index.js');

/** Every secret this file sets: none may ever appear in a response or a log line. */
const SECRETS = {
  pg: `pg-${randomBytes(12).toString('hex')}`,
  pgRotated: `pg2-${randomBytes(12).toString('hex')}`,
  mysql: `my-${randomBytes(12).toString('hex')}`,
  token: `tok-${randomBytes(12).toString('hex')}`,
};

const CONNECTION_FIELDS = `id name kind type endpoint secretSet secretUpdatedAt status lastTestedAt lastError
  config {
    __typename
    ... on PostgresConnectionConfig { host port database user sslMode schema }
    ... on MysqlConnectionConfig { host port database user ssl }
    ... on FileConnectionConfig { fileId fileName format sizeBytes delimiter encoding }
    ... on RestApiConnectionConfig { baseUrl auth apiKeyHeader username openApiUrl openApiFileId }
  }`;

interface Conn {
  id: string;
  name: string;
  kind: string;
  type: string;
  endpoint: string;
  secretSet: boolean;
  secretUpdatedAt: string | null;
  status: string;
  config: Record<string, unknown>;
}
type Payload = { connection: Conn | null; errors: Array<{ code: string; field: string | null; message: string }> };

/**
 * Connections of every type through the real gateway and the real subgraphs:
 * typed settings per type with field-level errors, secrets sealed under the workspace's data key
 * and never returned or logged, rotation in place, updates, deletes, tenant isolation; the test
 * dispatch (connection.test v2) carrying the secrets sealed for the data plane — and, where
 * MariaDB runs on this machine, the real worker opening them and connecting; the periodic
 * re-test loop, and the workspace.connection.failed.v1 event.
 */
describe('connections of every type (gateway + workspace subgraph)', () => {
  let p: Platform;
  const logs: string[] = [];
  const responses: string[] = [];
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  let wsA: string;
  let wsA2: string;
  let wsB: string;

  beforeAll(async () => {
    // The services' logger, configured as in production (createLogger: pino with REDACT_PATHS), at trace, captured.
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    p = await startPlatform({ log: pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink) });
    wsA = await newWorkspace(adminA, 'conn-a');
    wsA2 = await newWorkspace(adminA, 'conn-a2');
    wsB = await newWorkspace(adminB, 'conn-b');
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
  });

  const gql = async <T = Record<string, unknown>>(viewer: Viewer | undefined, query: string, variables: Record<string, unknown> = {}) => {
    const res = await postGraphQL<T>(p.gatewayUrl, query, variables, viewer ? viewerHeader(viewer) : {});
    responses.push(JSON.stringify(res.body));
    return res;
  };

  async function newWorkspace(viewer: Viewer, slug: string): Promise<string> {
    const res = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      viewer,
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      {
        i: { name: slug, slug },
      },
    );
    return res.body.data!.createWorkspace.workspace.id;
  }

  const create = async (viewer: Viewer, input: Record<string, unknown>): Promise<Payload> => {
    const res = await gql<{ createConnection: Payload }>(
      viewer,
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { ${CONNECTION_FIELDS} } errors { code field message } } }`,
      { i: input },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.createConnection;
  };
  const read = async (viewer: Viewer, id: string): Promise<Conn | null> => {
    const res = await gql<{ connection: Conn | null }>(viewer, `query($id: ID!){ connection(id: $id) { ${CONNECTION_FIELDS} } }`, { id });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.connection;
  };
  const upload = async (viewer: Viewer, workspaceId: string, name: string, body: string, contentType: string) => {
    const url = new URL('/files', p.gatewayUrl);
    url.searchParams.set('workspaceId', workspaceId);
    url.searchParams.set('name', name);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, ...viewerHeader(viewer) }, body });
    const json = (await res.json()) as { fileId: string };
    responses.push(JSON.stringify(json));
    expect(res.status).toBe(201);
    return json.fileId;
  };
  const countConnections = async () => (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.connection`))[0].n as number;
  const storedSecret = async (id: string) =>
    (await p.sources.workspace.query(`SELECT secret_sealed, secret_updated_at FROM workspace.connection WHERE id = $1`, [id]))[0];
  /** Opens a stored secret the way the service does: the workspace's data key, AAD `connection:<id>`. */
  const openStored = async (orgId: string, workspaceId: string, id: string) => {
    const { secret_sealed: sealed } = await storedSecret(id);
    const keyring = new Keyring(Buffer.from(p.masterKey, 'base64'));
    return JSON.parse(await withTenant(p.sources.workspace, orgId, (em) => keyring.unseal(em, orgId, workspaceId, sealed, `connection:${id}`)));
  };
  const outboxJobsFor = async (connectionId: string) =>
    (
      await p.sources.workspace.query(
        `SELECT payload FROM workspace.outbox WHERE subject LIKE 'jobs.connection.test.%' AND payload->'payload'->>'connectionId' = $1 ORDER BY seq`,
        [connectionId],
      )
    ).map((r: { payload: unknown }) => connectionTestJobV2.parse(r.payload));

  it('creates a connection of every type with its typed settings; secrets only show as secretSet', async () => {
    const pg = await create(adminA, {
      workspaceId: wsA,
      name: 'warehouse',
      kind: 'DESTINATION',
      type: 'POSTGRES',
      postgres: { host: 'pg.internal', port: 6543, database: 'dwh', user: 'loader', sslMode: 'VERIFY_FULL', schema: 'raw' },
      secrets: { password: SECRETS.pg },
    });
    expect(pg.errors).toEqual([]);
    expect(pg.connection).toMatchObject({
      kind: 'DESTINATION',
      type: 'POSTGRES',
      endpoint: 'pg.internal:6543/dwh',
      secretSet: true,
      status: 'UNTESTED',
      config: {
        __typename: 'PostgresConnectionConfig',
        host: 'pg.internal',
        port: 6543,
        database: 'dwh',
        user: 'loader',
        sslMode: 'VERIFY_FULL',
        schema: 'raw',
      },
    });
    expect(Date.parse(pg.connection!.secretUpdatedAt!)).toBeGreaterThan(Date.now() - 60_000);

    const my = await create(adminA, {
      workspaceId: wsA,
      name: 'shop',
      type: 'MYSQL',
      mysql: { host: 'my.internal', database: 'shop', user: 'reader' },
      secrets: { password: SECRETS.mysql },
    });
    expect(my.errors).toEqual([]);
    expect(my.connection).toMatchObject({
      kind: 'SOURCE',
      type: 'MYSQL',
      secretSet: true,
      config: { __typename: 'MysqlConnectionConfig', host: 'my.internal', port: 3306, ssl: false },
    });

    const fileId = await upload(adminA, wsA, 'customers.csv', 'id,email\n1,a@example.test\n', 'text/csv');
    const file = await create(adminA, { workspaceId: wsA, name: 'customers file', type: 'FILE', file: { fileId, delimiter: ',' } });
    expect(file.errors).toEqual([]);
    expect(file.connection).toMatchObject({
      type: 'FILE',
      endpoint: 'customers.csv',
      secretSet: false,
      secretUpdatedAt: null,
      config: { __typename: 'FileConnectionConfig', fileId, fileName: 'customers.csv', format: 'CSV', sizeBytes: 26, delimiter: ',', encoding: null },
    });

    const api = await create(adminA, {
      workspaceId: wsA,
      name: 'crm api',
      type: 'REST_API',
      restApi: { baseUrl: 'https://api.example.test/v2', auth: 'BEARER', openApiUrl: 'https://api.example.test/openapi.json' },
      secrets: { token: SECRETS.token },
    });
    expect(api.errors).toEqual([]);
    expect(api.connection).toMatchObject({
      type: 'REST_API',
      endpoint: 'https://api.example.test/v2',
      secretSet: true,
      config: { __typename: 'RestApiConnectionConfig', auth: 'BEARER', apiKeyHeader: null },
    });

    // Listed on the workspace with the uploaded file; the stored secrets are sealed objects.
    const ws = await gql<{
      workspace: { connections: Array<{ id: string }>; files: Array<{ id: string; name: string; sizeBytes: number; contentType: string }> };
    }>(adminA, `query($id: ID!){ workspace(id: $id) { connections { id } files { id name sizeBytes contentType sha256 createdAt } } }`, { id: wsA });
    expect(ws.body.data!.workspace.connections.map((c) => c.id)).toEqual(
      expect.arrayContaining([pg.connection!.id, my.connection!.id, file.connection!.id, api.connection!.id]),
    );
    expect(ws.body.data!.workspace.files).toEqual([expect.objectContaining({ id: fileId, name: 'customers.csv', sizeBytes: 26, contentType: 'text/csv' })]);
    expect(await openStored(orgA, wsA, api.connection!.id)).toEqual({ token: SECRETS.token });
    expect((await storedSecret(file.connection!.id)).secret_sealed).toBeNull();
  });

  it('treats names differing only by case as one name: NAME_TAKEN on create and rename, and the database index agrees', async () => {
    const ws = await newWorkspace(adminA, `names-${randomUUID().slice(0, 8)}`);
    const input = (name: string) => ({
      workspaceId: ws,
      name,
      type: 'POSTGRES',
      postgres: { host: 'pg.internal', database: 'dwh', user: 'loader' },
      secrets: { password: SECRETS.pg },
    });
    const orders = await create(adminA, input('orders'));
    expect(orders.errors).toEqual([]);
    const before = await countConnections();
    const upper = await create(adminA, input('Orders'));
    expect(upper.connection).toBeNull();
    expect(upper.errors.map((e) => `${e.field}:${e.code}`)).toEqual(['name:NAME_TAKEN']);
    expect(await countConnections()).toBe(before);
    const other = await create(adminA, input('customers'));
    expect(other.errors).toEqual([]);
    const renamed = await gql<{ updateConnection: Payload }>(
      adminA,
      `mutation($id: ID!){ updateConnection(id: $id, input: { name: "ORDERS" }) { connection { id } errors { code field } } }`,
      {
        id: other.connection!.id,
      },
    );
    expect(renamed.body.data!.updateConnection.errors.map((e) => `${e.field}:${e.code}`)).toEqual(['name:NAME_TAKEN']);
    // A connection may change the case of its own name.
    const recased = await gql<{ updateConnection: Payload }>(
      adminA,
      `mutation($id: ID!){ updateConnection(id: $id, input: { name: "Orders" }) { connection { name } errors { code } } }`,
      { id: orders.connection!.id },
    );
    expect(recased.body.data!.updateConnection).toEqual({ connection: { name: 'Orders' }, errors: [] });
    // The unique index on (workspace_id, lower(name)) is the arbiter when two writers race past the check.
    await expect(
      p.sources.workspace.query(
        `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type) VALUES ($1, $2, $3, 'oRdErS', 'SOURCE', 'POSTGRES')`,
        [randomUUID(), orgA, ws],
      ),
    ).rejects.toThrow(/connection_ws_lower_name_uq/);
  });

  it('refuses invalid settings with field-level typed errors and writes nothing', async () => {
    const before = await countConnections();
    const fields = async (input: Record<string, unknown>) => {
      const r = await create(adminA, { workspaceId: wsA, name: `bad-${randomUUID().slice(0, 8)}`, ...input });
      expect(r.connection).toBeNull();
      for (const e of r.errors) expect(e.message.length).toBeGreaterThan(10);
      return r.errors.map((e) => `${e.field}:${e.code}`);
    };
    expect(await fields({ type: 'POSTGRES', postgres: { host: ' ', port: 70000, database: 'd', user: 'u' } })).toEqual(
      expect.arrayContaining(['config.postgres.host:INVALID_CONFIG', 'config.postgres.port:INVALID_CONFIG']),
    );
    expect(await fields({ type: 'POSTGRES', mysql: { host: 'h', database: 'd', user: 'u' } })).toEqual([
      'config.mysql:CONFIG_TYPE_MISMATCH',
      'config.postgres:CONFIG_REQUIRED',
    ]);
    expect(await fields({ type: 'MYSQL', mysql: { host: 'h', database: '', user: 'u', port: 0 } })).toEqual(
      expect.arrayContaining(['config.mysql.database:INVALID_CONFIG', 'config.mysql.port:INVALID_CONFIG']),
    );
    expect(await fields({ type: 'REST_API', restApi: { baseUrl: 'not a url' } })).toEqual(['config.restApi.baseUrl:INVALID_CONFIG']);
    expect(await fields({ type: 'REST_API', restApi: { baseUrl: 'https://x.example.test', auth: 'API_KEY' } })).toEqual(['secrets.apiKey:SECRET_REQUIRED']);
    expect(await fields({ type: 'REST_API', restApi: { baseUrl: 'https://x.example.test', auth: 'BASIC' }, secrets: { password: 'p' } })).toEqual([
      'config.restApi.username:INVALID_CONFIG',
    ]);
    expect(await fields({ type: 'FILE', file: { fileId: randomUUID() } })).toEqual(['config.file.fileId:FILE_NOT_FOUND']);
    // A file of another workspace (of the same org) is not this workspace's.
    const elsewhere = await upload(adminA, wsA2, 'other.json', '[{"a":1}]', 'application/json');
    expect(await fields({ type: 'FILE', file: { fileId: elsewhere } })).toEqual(['config.file.fileId:FILE_NOT_FOUND']);
    expect(await fields({ type: 'FILE', file: { fileId: elsewhere, delimiter: ';;' }, secrets: { password: 'x' } })).toEqual([
      'config.file.fileId:FILE_NOT_FOUND',
    ]);
    expect(await fields({ type: 'POSTGRES', postgres: { host: 'h', database: 'd', user: 'u' }, name: '' })).toEqual(['name:INVALID_NAME']);
    expect(await countConnections()).toBe(before);
  });

  it('rotates a secret in place, updates settings without touching the secret, and deletes', async () => {
    const created = (
      await create(adminA, {
        workspaceId: wsA,
        name: 'rotating',
        type: 'POSTGRES',
        postgres: { host: 'h.internal', database: 'd', user: 'u' },
        secrets: { password: SECRETS.pg },
      })
    ).connection!;
    const before = await storedSecret(created.id);

    const rotated = await gql<{ rotateConnectionSecret: Payload }>(
      adminA,
      `mutation($id: ID!, $s: ConnectionSecretsInput!){ rotateConnectionSecret(id: $id, secrets: $s) { connection { id secretSet secretUpdatedAt } errors { code field } } }`,
      { id: created.id, s: { password: SECRETS.pgRotated } },
    );
    expect(rotated.body.data!.rotateConnectionSecret.errors).toEqual([]);
    const after = await storedSecret(created.id);
    expect(after.secret_sealed.kid).toBe('ws');
    expect(after.secret_sealed.data).not.toBe(before.secret_sealed.data);
    expect(after.secret_updated_at.getTime()).toBeGreaterThan(before.secret_updated_at.getTime());
    expect(await openStored(orgA, wsA, created.id)).toEqual({ password: SECRETS.pgRotated });

    // Update: name, kind and settings; the secret stays (same sealed value, same time); settings changed → UNTESTED.
    await p.sources.workspace.query(`UPDATE workspace.connection SET status = 'HEALTHY' WHERE id = $1`, [created.id]);
    const updated = await gql<{ updateConnection: Payload }>(
      adminA,
      `mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { connection { ${CONNECTION_FIELDS} } errors { code field } } }`,
      {
        id: created.id,
        i: { name: 'rotated', kind: 'DESTINATION', postgres: { host: 'h2.internal', port: 5433, database: 'd2', user: 'u2', sslMode: 'REQUIRE' } },
      },
    );
    expect(updated.body.data!.updateConnection).toMatchObject({
      errors: [],
      connection: {
        name: 'rotated',
        kind: 'DESTINATION',
        status: 'UNTESTED',
        secretSet: true,
        config: { host: 'h2.internal', port: 5433, sslMode: 'REQUIRE' },
      },
    });
    expect(await storedSecret(created.id)).toEqual(after);
    // The type is fixed: another type's settings are refused; a taken name too.
    const wrong = await gql<{ updateConnection: Payload }>(
      adminA,
      `mutation($id: ID!){ updateConnection(id: $id, input: { mysql: { host: "h", database: "d", user: "u" } }) { connection { id } errors { code field } } }`,
      {
        id: created.id,
      },
    );
    expect(wrong.body.data!.updateConnection.errors.map((e) => `${e.field}:${e.code}`)).toEqual([
      'config.mysql:CONFIG_TYPE_MISMATCH',
      'config.postgres:CONFIG_REQUIRED',
    ]);
    const taken = await gql<{ updateConnection: Payload }>(
      adminA,
      `mutation($id: ID!){ updateConnection(id: $id, input: { name: "warehouse" }) { connection { id } errors { code field } } }`,
      { id: created.id },
    );
    expect(taken.body.data!.updateConnection.errors.map((e) => e.code)).toEqual(['NAME_TAKEN']);
    // Secrets given with an update replace the old ones.
    await gql(adminA, `mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { errors { code } } }`, {
      id: created.id,
      i: { secrets: { password: SECRETS.pg } },
    });
    expect(await openStored(orgA, wsA, created.id)).toEqual({ password: SECRETS.pg });

    const del = `mutation($id: ID!){ deleteConnection(id: $id) { deletedId errors { code field } } }`;
    expect((await gql<{ deleteConnection: unknown }>(adminA, del, { id: created.id })).body.data!.deleteConnection).toEqual({
      deletedId: created.id,
      errors: [],
    });
    expect(await read(adminA, created.id)).toBeNull();
    expect((await gql<{ deleteConnection: unknown }>(adminA, del, { id: created.id })).body.data!.deleteConnection).toEqual({
      deletedId: null,
      errors: [{ code: 'CONNECTION_NOT_FOUND', field: 'id' }],
    });
  });

  it('gives another org nothing: reads, updates, rotations, deletes and creates in org A’s workspace', async () => {
    const conn = (
      await create(adminA, {
        workspaceId: wsA,
        name: 'isolated',
        type: 'MYSQL',
        mysql: { host: 'iso.internal', database: 'd', user: 'u' },
        secrets: { password: SECRETS.mysql },
      })
    ).connection!;
    const snapshot = await p.sources.workspace.query(`SELECT * FROM workspace.connection WHERE id = $1`, [conn.id]);
    expect(await read(adminB, conn.id)).toBeNull();
    const ws = await gql<{ workspace: unknown }>(adminB, `query($id: ID!){ workspace(id: $id) { id files { id } connections { id } } }`, { id: wsA });
    expect(ws.body.data).toEqual({ workspace: null });
    for (const [field, query] of [
      ['updateConnection', `mutation($id: ID!){ updateConnection(id: $id, input: { name: "mine now" }) { connection { id } errors { code } } }`],
      ['rotateConnectionSecret', `mutation($id: ID!){ rotateConnectionSecret(id: $id, secrets: { password: "x" }) { connection { id } errors { code } } }`],
      ['deleteConnection', `mutation($id: ID!){ deleteConnection(id: $id) { deletedId errors { code } } }`],
      ['testConnection', `mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`],
    ] as const) {
      const res = await gql<Record<string, { errors: Array<{ code: string }> }>>(adminB, query, { id: conn.id });
      expect(res.body.data![field]!.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_FOUND']);
    }
    const sneaky = await gql<{ createConnection: Payload | null }>(
      adminB,
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code } } }`,
      {
        i: { workspaceId: wsA, name: 'sneaky', type: 'MYSQL', mysql: { host: 'h', database: 'd', user: 'u' } },
      },
    );
    expect(sneaky.body.data?.createConnection?.connection ?? null).toBeNull();
    // Nor can org B point a FILE connection of its own workspace at org A's upload.
    const aFile = await upload(adminA, wsA, 'a-only.csv', 'x\n1\n', 'text/csv');
    const stolen = await create(adminB, { workspaceId: wsB, name: 'stolen file', type: 'FILE', file: { fileId: aFile } });
    expect(stolen).toEqual({ connection: null, errors: [expect.objectContaining({ code: 'FILE_NOT_FOUND', field: 'config.file.fileId' })] });
    expect(await p.sources.workspace.query(`SELECT * FROM workspace.connection WHERE id = $1`, [conn.id])).toEqual(snapshot);
    expect((await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.connection WHERE org_id = $1`, [orgB]))[0].n).toBe(0);
    // A VIEWER of the workspace reads the connection but cannot change it.
    const viewerA = userViewer({ orgId: orgA, orgRole: 'MEMBER', grants: [{ workspaceId: wsA, role: 'VIEWER' }] });
    expect((await read(viewerA, conn.id))?.id).toBe(conn.id);
    const denied = await gql<{ rotateConnectionSecret: Payload }>(
      viewerA,
      `mutation($id: ID!){ rotateConnectionSecret(id: $id, secrets: { password: "x" }) { connection { id } errors { code } } }`,
      { id: conn.id },
    );
    expect(denied.body.data!.rotateConnectionSecret.errors.map((e) => e.code)).toEqual(['CONNECTION_NOT_FOUND']);
  });

  it('rotate-master-key re-wraps every data key with the new master key; the sealed secrets stay as they are and open with it', async () => {
    const conn = (
      await create(adminA, {
        workspaceId: wsA,
        name: 'rotated',
        type: 'POSTGRES',
        postgres: { host: 'old.internal', database: 'd', user: 'u' },
        secrets: { password: SECRETS.pg },
      })
    ).connection!;
    const before = await storedSecret(conn.id);
    expect(before.secret_sealed.kid).toBe('ws');

    const newKey = randomBytes(32);
    const r = await rotateMasterKey(p.app.workspace, newKey, [Buffer.from(p.masterKey, 'base64')]);
    expect(r.rewrapped).toBeGreaterThanOrEqual(1);
    const [{ n: oldWrapped }] = await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.data_key WHERE master_key_id <> $1`, [
      (await import('../src/secrets/keyring')).masterKeyId(newKey),
    ]);
    expect(oldWrapped).toBe(0);
    expect(await storedSecret(conn.id)).toEqual(before);
    const keyring = new Keyring(newKey);
    expect(
      JSON.parse(await withTenant(p.sources.workspace, orgA, (em) => keyring.unseal(em, orgA, wsA, before.secret_sealed, `connection:${conn.id}`))),
    ).toEqual({ password: SECRETS.pg });
    // A second run has nothing left to do.
    expect(await rotateMasterKey(p.app.workspace, newKey, [Buffer.from(p.masterKey, 'base64')])).toEqual({ rewrapped: 0 });
    // The platform's service still holds only the old key: put the old wrapping back for the tests below.
    await rotateMasterKey(p.app.workspace, Buffer.from(p.masterKey, 'base64'), [newKey]);
    // …and a test dispatch opens the secret again and re-seals it for its job.
    const tested = await gql<{ testConnection: { runId: string; errors: unknown[] } }>(
      adminA,
      `mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`,
      { id: conn.id },
    );
    expect(tested.body.data!.testConnection.errors).toEqual([]);
    const [job] = (await outboxJobsFor(conn.id)).filter((j) => j.runId === tested.body.data!.testConnection.runId);
    expect(JSON.parse(unseal(Buffer.from(p.masterKey, 'base64'), job!.payload.secrets!, `job:${job!.jobId}`))).toEqual({ password: SECRETS.pg });
  });

  describe('a secret set on a connection', () => {
    const mysqlUser = `dlx_t_${randomBytes(4).toString('hex')}`;
    const mysqlDb = `dlx_conn_${randomBytes(4).toString('hex')}`;
    let root: mysql.Connection | null = null;
    let worker: ChildProcess | null = null;
    const workerOutput: string[] = [];

    beforeAll(async () => {
      // MYSQL_URL (npm test always sets it); jest run without it skips the real-worker part.
      if (!process.env.MYSQL_URL) {
        process.stderr.write('MYSQL_URL is not set (npm test starts a throwaway MariaDB and sets it): the real-worker part of the secret scan is skipped.\n');
        return;
      }
      root = await mysql.createConnection({ ...MYSQL, connectTimeout: 5000 });
      await root.query(`CREATE DATABASE ${mysqlDb}`);
      await root.query(`CREATE TABLE ${mysqlDb}.customers (id int primary key, email varchar(200))`);
      await root.query(`CREATE USER '${mysqlUser}'@'%' IDENTIFIED BY '${SECRETS.mysql}'`);
      await root.query(`GRANT SELECT ON ${mysqlDb}.* TO '${mysqlUser}'@'%'`);
      if (!existsSync(WORKER)) {
        const built = spawnSync('npx', ['tsc', '-b', 'workers'], { cwd: path.resolve(__dirname, '..', '..', '..'), stdio: 'inherit', timeout: 120_000 });
        if (built.status !== 0 || !existsSync(WORKER)) throw new Error(`the worker could not be built (${WORKER}): run npx tsc -b tsconfig.build.json`);
      }
      worker = spawn(process.execPath, [WORKER], {
        env: {
          ...process.env,
          NATS_URL: process.env.NATS_URL!,
          DLX_MASTER_KEY: p.masterKey,
          CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
          WORKER_DURABLE: `conn-scan-${wsA.slice(0, 8)}`,
          // Only this workspace's jobs: JOBS is a work queue shared with other test files.
          WORKER_FILTER_SUBJECT: `jobs.connection.*.${wsA}`,
          DLX_FILE_STORAGE_DIR: p.fileStorageDir,
          LOG_LEVEL: 'trace',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker.stdout!.on('data', (d) => workerOutput.push(String(d)));
      worker.stderr!.on('data', (d) => workerOutput.push(String(d)));
    }, 150_000);

    afterAll(async () => {
      if (worker && worker.exitCode === null) {
        await new Promise((r) => {
          worker!.once('exit', r);
          worker!.kill('SIGTERM');
        });
      }
      await deleteWorkerConsumers(p.nats.jsm, `conn-scan-${wsA.slice(0, 8)}`);
      if (root) {
        await root.query(`DROP USER IF EXISTS '${mysqlUser}'@'%'`);
        await root.query(`DROP DATABASE IF EXISTS ${mysqlDb}`);
        await root.end();
      }
    }, 30_000);

    it('is found encrypted in the database, never in any API response or log, and still works for the worker', async () => {
      const created = await create(adminA, {
        workspaceId: wsA,
        name: 'scanned',
        type: 'MYSQL',
        mysql: { host: MYSQL.host, port: MYSQL.port, database: mysqlDb, user: mysqlUser },
        secrets: { password: SECRETS.mysql },
      });
      const id = created.connection!.id;
      await read(adminA, id);
      await gql(adminA, `query($id: ID!){ workspace(id: $id) { connections { ${CONNECTION_FIELDS} } } }`, { id: wsA });
      const tested = await gql<{ testConnection: { runId: string; errors: unknown[] } }>(
        adminA,
        `mutation($id: ID!){ testConnection(id: $id) { runId connection { status } errors { code } } }`,
        { id },
      );
      expect(tested.body.data!.testConnection.errors).toEqual([]);
      const runId = tested.body.data!.testConnection.runId;

      // At rest: a sealed object under the workspace's data key, not the secret.
      const { secret_sealed: stored } = await storedSecret(id);
      expect(stored).toEqual({ alg: 'A256GCM', iv: expect.any(String), tag: expect.any(String), data: expect.any(String), kid: 'ws' });
      expect(JSON.stringify(stored)).not.toContain(SECRETS.mysql);

      // In the job (outbox → JOBS): connection.test v2 with the secrets sealed for the data plane (AAD job:<jobId>).
      const [job] = (await outboxJobsFor(id)).filter((j) => j.runId === runId);
      expect(job).toBeDefined();
      expect(job!.payload.config).toMatchObject({ type: 'MYSQL', host: '127.0.0.1', database: mysqlDb, user: mysqlUser });
      const outboxText = JSON.stringify(await p.sources.workspace.query(`SELECT payload FROM workspace.outbox`));
      expect(outboxText).not.toContain(SECRETS.mysql);
      expect(JSON.parse(unseal(Buffer.from(p.masterKey, 'base64'), job!.payload.secrets!, `job:${job!.jobId}`))).toEqual({ password: SECRETS.mysql });
      expect(() => unseal(Buffer.from(p.masterKey, 'base64'), job!.payload.secrets!, `job:${randomUUID()}`)).toThrow();

      if (worker) {
        // The real worker opens it and connects to MariaDB as the password-protected user: HEALTHY.
        let status = '';
        for (
          const until = Date.now() + 45_000;
          Date.now() < until && status !== 'HEALTHY' && status !== 'FAILING';
          await new Promise((r) => setTimeout(r, 200))
        ) {
          status = (await p.sources.workspace.query(`SELECT status FROM workspace.connection WHERE id = $1`, [id]))[0].status;
        }
        const after = await read(adminA, id);
        expect({ status: after!.status, lastError: (after as unknown as { lastError: string | null }).lastError }).toEqual({
          status: 'HEALTHY',
          lastError: null,
        });
        expect(workerOutput.join('')).not.toContain(SECRETS.mysql);
        expect(workerOutput.length).toBeGreaterThan(0);
      }
      expect(logs.length).toBeGreaterThan(0);
      for (const text of [...responses, ...logs]) for (const s of Object.values(SECRETS)) expect(text).not.toContain(s);
    }, 60_000);
  });

  describe('periodic re-tests', () => {
    const loop = () =>
      new ConnectionRetestLoop({
        ds: p.app.workspace,
        dao: new ConnectionDao(p.app.workspace),
        settings: jobDispatchSettings({ masterKey: Buffer.from(p.masterKey, 'base64'), testTimeoutMs: 5000 }),
        quotas: null,
        log: pino({ level: 'silent' }),
        intervalS: 3600,
        onOutboxCommit: () => undefined,
      });

    it('dispatches exactly one test for a HEALTHY connection last tested too long ago, even with two loops running', async () => {
      const due = (
        await create(adminA, {
          workspaceId: wsA,
          name: 'nightly',
          type: 'POSTGRES',
          postgres: { host: 'n.internal', database: 'd', user: 'u' },
          secrets: { password: SECRETS.pg },
        })
      ).connection!;
      const fresh = (await create(adminA, { workspaceId: wsA, name: 'fresh', type: 'POSTGRES', postgres: { host: 'f.internal', database: 'd', user: 'u' } }))
        .connection!;
      const failing = (await create(adminA, { workspaceId: wsA, name: 'broken', type: 'POSTGRES', postgres: { host: 'b.internal', database: 'd', user: 'u' } }))
        .connection!;
      await p.sources.workspace.query(`UPDATE workspace.connection SET status = 'HEALTHY', last_tested_at = now() - interval '2 hours' WHERE id = $1`, [
        due.id,
      ]);
      await p.sources.workspace.query(`UPDATE workspace.connection SET status = 'HEALTHY', last_tested_at = now() - interval '5 minutes' WHERE id = $1`, [
        fresh.id,
      ]);
      await p.sources.workspace.query(`UPDATE workspace.connection SET status = 'FAILING', last_tested_at = now() - interval '2 hours' WHERE id = $1`, [
        failing.id,
      ]);

      // The lookup names due rows of every org to the runtime role, which still sees no row itself.
      const listed = await p.app.workspace.query(`SELECT * FROM workspace.connections_due_for_retest(3600, 100)`);
      expect(listed).toEqual([{ org_id: orgA, connection_id: due.id }]);
      expect(await p.app.workspace.query(`SELECT count(*)::int AS n FROM workspace.connection`)).toEqual([{ n: 0 }]);

      const [a, b] = [loop(), loop()];
      // Both find the row due; one dispatches, the other finds it locked or already TESTING.
      const counts = await Promise.all([a.tick(), b.tick()]);
      expect(counts.sort()).toEqual([0, 1]);
      expect(await Promise.all([a.tick(), b.tick()])).toEqual([0, 0]);
      const jobs = await outboxJobsFor(due.id);
      expect(jobs).toHaveLength(1);
      expect(jobs[0]).toMatchObject({ v: 2, requestedBy: 'system:connection-retest', payload: { config: { type: 'POSTGRES', host: 'n.internal' } } });
      expect(JSON.parse(unseal(Buffer.from(p.masterKey, 'base64'), jobs[0]!.payload.secrets!, `job:${jobs[0]!.jobId}`))).toEqual({ password: SECRETS.pg });
      expect(await outboxJobsFor(fresh.id)).toEqual([]);
      expect(await outboxJobsFor(failing.id)).toEqual([]);
      const [row] = await p.sources.workspace.query(`SELECT status, status_before_test, last_test_run_id FROM workspace.connection WHERE id = $1`, [due.id]);
      expect(row).toEqual({ status: 'TESTING', status_before_test: 'HEALTHY', last_test_run_id: jobs[0]!.runId });
      await Promise.all([a.stop(), b.stop()]);

      // The worker reports FAILURE: HEALTHY → FAILING raises workspace.connection.failed.v1 once (a redelivery changes nothing).
      const failure: RunStateChangedV1 = {
        v: 1,
        type: 'run.state',
        eventId: `${jobs[0]!.runId}:failure`,
        runId: jobs[0]!.runId,
        jobId: jobs[0]!.jobId,
        orgId: orgA,
        workspaceId: wsA,
        kind: 'connection.test',
        subjectId: due.id,
        at: new Date().toISOString(),
        state: 'FAILURE',
        attempt: 1,
        error: { code: 'CONNECTION_REFUSED', message: 'n.internal:5432 refused the connection' },
      };
      await p.nats.js.publish(runSubject(wsA, failure.runId), encodeJson(failure), { msgID: failure.eventId });
      const again = await p.nats.js.publish(runSubject(wsA, failure.runId), encodeJson({ ...failure, eventId: `${failure.runId}:failure-again` }), {
        msgID: `${failure.runId}:failure-again`,
      });
      let events: Array<{ payload: unknown; sent_at: Date | null }> = [];
      for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        events = await p.sources.workspace.query(`SELECT payload, sent_at FROM workspace.outbox WHERE subject = $1 AND payload->>'connectionId' = $2`, [
          CONNECTION_FAILED_V1,
          due.id,
        ]);
        const [{ status }] = await p.sources.workspace.query(`SELECT status FROM workspace.connection WHERE id = $1`, [due.id]);
        if (status === 'FAILING' && events.length && events.every((e) => e.sent_at)) break;
      }
      // The signal that the redelivered event was handled: the results consumer's ack floor has passed
      // it (everything up to it applied and acked; an outbox row it wrote would be committed by then).
      for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 50))) {
        const info = await p.nats.jsm.consumers.info(STREAMS.RUNS.name, p.resultsConsumerDurable);
        if (info.ack_floor.stream_seq >= again.seq) break;
        if (Date.now() > deadline) throw new Error(`the results consumer did not ack stream seq ${again.seq} in 15 s`);
      }
      events = await p.sources.workspace.query(`SELECT payload, sent_at FROM workspace.outbox WHERE subject = $1 AND payload->>'connectionId' = $2`, [
        CONNECTION_FAILED_V1,
        due.id,
      ]);
      expect(events).toHaveLength(1);
      expect(events[0]!.sent_at).not.toBeNull();
      expect(connectionFailedV1.parse(events[0]!.payload)).toEqual({
        orgId: orgA,
        workspaceId: wsA,
        connectionId: due.id,
        name: 'nightly',
        type: 'POSTGRES',
        runId: failure.runId,
        error: 'n.internal:5432 refused the connection',
        failedAt: failure.at,
      });
      expect(await read(adminA, due.id)).toMatchObject({ status: 'FAILING' });
      // A FAILING connection is not re-tested by the loop (only HEALTHY ones are).
      expect(await loop().tick()).toBe(0);
    }, 60_000);
  });
});
