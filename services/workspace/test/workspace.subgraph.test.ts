import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { REDACT_PATHS, unseal } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { ANONYMOUS, VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { workspaceDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createWorkspaceServer } from '../src/app';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf, gqlViewerClient } from '../../../test/support/http';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../test/support/connections';

const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;

describe('workspace subgraph', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  /** The admin: inspects rows of every org. */
  let ds: ReturnType<typeof workspaceDataSource>;
  /** The runtime role the service runs as (row-level security applies). */
  let app: ReturnType<typeof workspaceDataSource>;
  let server: Awaited<ReturnType<typeof createWorkspaceServer>>;
  let httpServer: http.Server;
  let url: string;
  const masterKey = randomBytes(32);
  const logs: string[] = [];
  const responses: string[] = [];
  const orgA = randomUUID();
  const orgB = randomUUID();
  let kicks = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await workspaceDataSource(db.url).initialize();
    app = await workspaceDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    const log = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    server = await createWorkspaceServer({
      ds: app,
      verifier: keys.verifier,
      log,
      settings: { masterKey, testTimeoutMs: 5000 },
      files: { dir: path.join(os.tmpdir(), `dlx-files-${randomUUID()}`), maxBytes: 1024 * 1024 },
      onOutboxCommit: () => kicks++,
    });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const gql = gqlViewerClient(
    () => url,
    async (viewer: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) }),
    {
      onResponse: (res) => responses.push(JSON.stringify(res.body)),
    },
  );
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });

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

  it('rejects requests without a valid assertion with 401, _entities included', async () => {
    const res = await postGraphQL(url, `query($r:[_Any!]!){ _entities(representations:$r){ ... on Workspace { name } } }`, {
      r: [{ __typename: 'Workspace', id: randomUUID() }],
    });
    expect(res.status).toBe(401);
  });

  it('validates a connection with field-level typed errors and writes nothing', async () => {
    const ws = await newWorkspace(adminA, 'validation');
    const res = await gql<CreateConnectionResult>(adminA, CREATE_CONNECTION, {
      i: { ...postgresConnectionInput({ workspaceId: ws, name: '' }), postgres: { host: '', database: 'd', user: 'u' } },
    });
    expect(res.body.data?.createConnection.connection).toBeNull();
    const codes = res.body.data!.createConnection.errors.map((e) => `${e.field}:${e.code}`);
    expect(codes).toEqual(expect.arrayContaining(['name:INVALID_NAME', 'config.postgres.host:INVALID_CONFIG']));
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM workspace.connection WHERE workspace_id = $1`, [ws]);
    expect(n).toBe(0);
  });

  it('stores the secret sealed, never returns or logs it, and seals it again for the job', async () => {
    const ws = await newWorkspace(adminA, 'secrets');
    const databaseUrl = `postgres://loader:${PASSWORD}@db.internal.example:6543/sales`;
    const created = await gql<{ createConnection: { connection: { id: string; endpoint: string; secretSet: boolean; status: string } } }>(
      adminA,
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id endpoint secretSet secretUpdatedAt status } errors { code } } }`,
      { i: postgresConnectionInput({ workspaceId: ws, name: 'sales', databaseUrl }) },
    );
    const conn = created.body.data!.createConnection.connection;
    expect(conn).toMatchObject({ endpoint: 'db.internal.example:6543/sales', secretSet: true, status: 'UNTESTED' });

    const tested = await gql<{ testConnection: { runId: string; connection: { status: string } } }>(
      adminA,
      `mutation($id: ID!){ testConnection(id: $id) { runId connection { status } errors { code } } }`,
      { id: conn.id },
    );
    expect(tested.body.data?.testConnection.connection.status).toBe('TESTING');
    expect(kicks).toBeGreaterThan(0);

    // At rest: sealed under the workspace's data key (envelope encryption), never with the master key directly.
    const [row] = await ds.query(`SELECT secret_sealed FROM workspace.connection WHERE id = $1`, [conn.id]);
    expect(JSON.stringify(row.secret_sealed)).not.toContain(PASSWORD);
    expect(row.secret_sealed.kid).toBe('ws');
    expect(() => unseal(masterKey, row.secret_sealed, `connection:${conn.id}`)).toThrow();

    // In the job (outbox → JOBS): re-sealed for the data plane with the job id as AAD.
    const outbox = await ds.query(`SELECT subject, payload FROM workspace.outbox ORDER BY seq`);
    const job = outbox.find((o: { subject: string }) => o.subject === `jobs.connection.test.${ws}`);
    expect(job).toBeDefined();
    expect(JSON.stringify(outbox)).not.toContain(PASSWORD);
    expect(job.payload.v).toBe(2);
    expect(job.payload.payload.config).toMatchObject({ type: 'POSTGRES', host: 'db.internal.example', port: 6543, database: 'sales', user: 'loader' });
    expect(JSON.parse(unseal(masterKey, job.payload.payload.secrets, `job:${job.payload.jobId}`))).toEqual({ password: PASSWORD });
    // The QUEUED run event comes first, in the same transaction.
    const queuedIdx = outbox.findIndex((o: { subject: string }) => o.subject === `runs.${ws}.${tested.body.data!.testConnection.runId}`);
    expect(queuedIdx).toBeGreaterThanOrEqual(0);
    expect(queuedIdx).toBeLessThan(outbox.indexOf(job));

    // Every field a client can ask for, then scan all responses and logs.
    await gql(
      adminA,
      `query($id: ID!){ connection(id: $id) { id name kind type endpoint secretSet secretUpdatedAt status lastTestedAt lastError lastTestRun { id } createdAt workspace { id name } } }`,
      { id: conn.id },
    );
    expect(logs.length).toBeGreaterThan(0);
    for (const text of [...responses, ...logs]) expect(text).not.toContain(PASSWORD);
  });

  it('gives org B nothing of org A: root fields, _entities and mutations', async () => {
    const ws = await newWorkspace(adminA, 'private');
    const c = await gql<CreateConnectionResult>(adminA, CREATE_CONNECTION, {
      i: postgresConnectionInput({ workspaceId: ws, name: 'db', databaseUrl: 'postgres://u:p@h/d' }),
    });
    const connId = c.body.data!.createConnection.connection!.id;
    const read = await gql(adminB, `query($w: ID!, $c: ID!){ workspace(id: $w) { id } connection(id: $c) { id } }`, { w: ws, c: connId });
    expect(read.body.data).toEqual({ workspace: null, connection: null });
    const ents = await gql(adminB, `query($r:[_Any!]!){ _entities(representations:$r){ ... on Workspace { name } ... on Connection { name } } }`, {
      r: [
        { __typename: 'Workspace', id: ws },
        { __typename: 'Connection', id: connId },
      ],
    });
    expect(ents.body.data).toEqual({ _entities: [null, null] });
    const test = await gql<{ testConnection: { errors: Array<{ code: string }> } }>(
      adminB,
      `mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`,
      { id: connId },
    );
    expect(test.body.data?.testConnection.errors[0]?.code).toBe('CONNECTION_NOT_FOUND');
    const add = await gql(adminB, `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code } } }`, {
      i: postgresConnectionInput({ workspaceId: ws, name: 'sneaky', databaseUrl: 'postgres://u:p@h/d' }),
    });
    expect(add.body.data).toEqual({ createConnection: { connection: null, errors: [{ code: 'WORKSPACE_NOT_FOUND' }] } });
    // A member without a grant sees nothing; with a VIEWER grant can read but not test.
    const viewerOnly = userViewer({ orgId: orgA, orgRole: 'MEMBER', grants: [{ workspaceId: ws, role: 'VIEWER' }] });
    const seen = await gql(viewerOnly, `query($c: ID!){ connection(id: $c) { name } }`, { c: connId });
    expect(seen.body.data).toEqual({ connection: { name: 'db' } });
    const denied = await gql<{ testConnection: { errors: Array<{ code: string }> } }>(
      viewerOnly,
      `mutation($id: ID!){ testConnection(id: $id) { errors { code } } }`,
      { id: connId },
    );
    expect(denied.body.data?.testConnection.errors[0]?.code).toBe('CONNECTION_NOT_FOUND');
    const anon = await gql(ANONYMOUS, `{ workspaces { nodes { id } } }`);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
