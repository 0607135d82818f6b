import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, withTenant, type TestDatabase } from '@datalinx/db';
import type { Platform } from '../../../test/support/platform';
import {
  SYNC_CONNECTION,
  WarehousePlatform,
  newPostgresConnection,
  sql,
  type CreatedWorkspace,
  type DispatchPayload,
} from '../../workspace/test/support/warehouse-platform';
import { Keyring, type WorkspaceSealed } from '../../workspace/src/secrets/keyring';
import { warehousePasswordAad } from '../../workspace/src/managers/warehouse.manager';

/**
 * The whole mapping path a data team takes, through the gateway and the real data plane: a seeded
 * PostgreSQL source is discovered and synced by a real worker process into the workspace's
 * warehouse; a target table is made from the `customers` template; a mapping fills it with DIRECT,
 * EXPRESSION and DECORATED fields over a join; its preview (computed by the worker as the
 * workspace role) shows the rows and the field that fails on a dirty value; after the source is
 * fixed and synced again, the workspace's generated dbt project passes the real `dbt build` as
 * the workspace role and the target table holds the mapped rows.
 */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const venvDir = path.resolve(process.env.DLX_VENV_DIR || path.join(repoRoot, '.venv'));

describe('a mapping end to end: discovered and synced source → target from a template → mapping → preview → dbt build', () => {
  const env = new WarehousePlatform({ name: 'mapx', orgName: 'Mapping E2E' });
  const { suffix, whUrl, whDb, gql, waitFor } = env;
  let p: Platform;
  let source: TestDatabase;
  let src: Client;
  let ws: CreatedWorkspace;
  let connectionId: string;
  let tableId: string;
  let mappingId: string;

  type Field = { column: string; state: string; reason: string | null; kind: string | null; sql: string | null };
  type Preview = {
    columns: Array<{ name: string; type: string; state: string }>;
    rows: Array<Array<string | null>>;
    fieldErrors: Array<{ column: string; code: string; message: string; row: number | null }>;
    error: { code: string; message: string } | null;
  };

  async function syncAndWait(): Promise<void> {
    const res = await gql<{ syncConnection: DispatchPayload }>(SYNC_CONNECTION, {
      i: {
        connectionId,
        tables: [
          { schema: 'crm', name: 'customers', mode: 'FULL' },
          { schema: 'crm', name: 'profiles', mode: 'FULL' },
        ],
      },
    });
    expect(res.body.data?.syncConnection.errors).toEqual([]);
    const runId = res.body.data!.syncConnection.runId!;
    const run = await waitFor(
      `sync run ${runId}`,
      async () => {
        const r = await gql<{ run: { state: string; error: { message: string } | null } | null }>(
          `query($id: ID!){ run(id: $id) { state error { message } } }`,
          {
            id: runId,
          },
        );
        const s = r.body.data?.run;
        return s && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(s.state) ? s : undefined;
      },
      90000,
    );
    expect(run).toEqual({ state: 'SUCCESS', error: null });
  }

  const preview = async (limit: number): Promise<Preview> => {
    const res = await gql<{ mapping: { preview: Preview } }>(
      `query($id: ID!, $n: Int){ mapping(id: $id) { preview(limit: $n) { columns { name type state } rows fieldErrors { column code message row } error { code message } } } }`,
      { id: mappingId, n: limit },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.mapping.preview;
  };

  beforeAll(async () => {
    await env.start();
    p = env.p;
    source = await createTestDatabase();
    src = new Client({ connectionString: source.url });
    await src.connect();
    // A CRM with the usual mess: padded, mixed-case e-mails, national phone numbers, a full name in one column, a text timestamp.
    await src.query(`
      CREATE SCHEMA crm;
      CREATE TABLE crm.customers (id integer PRIMARY KEY, full_name text NOT NULL, email text, signed_up text);
      INSERT INTO crm.customers VALUES
        (1, 'Ada Lovelace', '  Ada@Example.COM ', '2024-01-05 10:00:00'),
        (2, 'Alan Turing', 'alan@example.org', '2024-02-11 08:30:00'),
        (3, 'Grace Hopper', 'GRACE@navy.example', 'soon'),
        (4, 'Edsger Dijkstra', NULL, '2024-03-01 00:00:00');
      CREATE TABLE crm.profiles (customer_id integer PRIMARY KEY REFERENCES crm.customers (id), phone text, country text, zip text);
      INSERT INTO crm.profiles VALUES (1, '+44 20 7946 0958', ' gb ', 'NW1 6XE'), (2, '+1 (415) 555-0100', 'us', '94105'), (3, '+1 202-555-0173', 'US', '20500');
    `);
    ws = await env.createWorkspace('mapx');
    env.startWorker(ws.id, {
      durable: `mapx-${suffix}`,
      domains: ['connection', 'source', 'warehouse'],
      env: { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' },
    });
    connectionId = await newPostgresConnection(env, ws.id, source.url, { name: 'crm', kind: 'SOURCE', schema: 'crm' });
    expect(await env.warehouseProvisioned(ws.id, 'mapx')).toEqual({ status: 'READY', last_error: null });
    await env.discover(connectionId);
    await waitFor('the discovered snapshot in the mapping service', async () => {
      const rows = await p.sources.mapping.query(`SELECT 1 FROM mapping.source_snapshot_ref WHERE connection_id = $1 AND complete`, [connectionId]);
      return rows.length ? true : undefined;
    });
    await syncAndWait();
  }, 240000);

  afterAll(async () => {
    await env.stopWorkers();
    await src?.end();
    await source?.drop();
    await env.stop();
  }, 60000);

  it('maps the customers template over a join with DIRECT, EXPRESSION and DECORATED fields: states, SQL and lineage', async () => {
    const created = await gql<{ createTargetTable: { table: { id: string; name: string } | null; errors: unknown[] } }>(
      `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { table { id name } errors { code field message } } }`,
      { i: { workspaceId: ws.id, fromTemplate: 'customers' } },
    );
    expect(created.body.data?.createTargetTable.errors).toEqual([]);
    tableId = created.body.data!.createTargetTable.table!.id;
    await waitFor('the target schema in the mapping service', async () => {
      const rows: Array<{ ids: Record<string, string> }> = await p.sources.mapping.query(
        `SELECT table_ids AS ids FROM mapping.target_schema_ref WHERE workspace_id = $1`,
        [ws.id],
      );
      return rows[0]?.ids.customers === tableId ? true : undefined;
    });
    const create = await gql<{ createMapping: { mapping: { id: string } | null; errors: unknown[] } }>(
      `mutation($i: CreateMappingInput!){ createMapping(input: $i) { mapping { id } errors { code field message } } }`,
      { i: { workspaceId: ws.id, targetTableId: tableId } },
    );
    expect(create.body.data?.createMapping.errors).toEqual([]);
    mappingId = create.body.data!.createMapping.mapping!.id;

    const update = await gql<{ updateMapping: { mapping: { version: number; sql: string | null; fields: Field[] } | null; errors: unknown[] } }>(
      `mutation($i: UpdateMappingInput!){ updateMapping(input: $i) { mapping { version sql fields { column state reason kind sql } } errors { code field message } } }`,
      {
        i: {
          id: mappingId,
          expectedVersion: 1,
          summary: 'customers from the CRM',
          sources: [
            { alias: 'c', connectionId, schema: 'crm', table: 'customers' },
            { alias: 'p', connectionId, schema: 'crm', table: 'profiles' },
          ],
          joins: [{ alias: 'p', type: 'LEFT', on: [{ leftAlias: 'c', leftColumn: 'id', rightColumn: 'customer_id' }] }],
          ctes: [],
          wildcards: [],
          fields: [
            { column: 'id', mapping: { kind: 'DIRECT', source: 'c', column: 'id' } },
            { column: 'email', mapping: { kind: 'DECORATED', source: 'c', column: 'email', decorators: [{ kind: 'CANONICALIZE' }] } },
            { column: 'first_name', mapping: { kind: 'EXPRESSION', expression: "split_part(c.full_name, ' ', 1)" } },
            { column: 'last_name', mapping: { kind: 'EXPRESSION', expression: "nullif(split_part(c.full_name, ' ', 2), '')" } },
            { column: 'phone', mapping: { kind: 'DECORATED', source: 'p', column: 'phone', decorators: [{ kind: 'CANONICALIZE' }] } },
            { column: 'country', mapping: { kind: 'DECORATED', source: 'p', column: 'country', decorators: [{ kind: 'TRIM' }, { kind: 'UPPER' }] } },
            { column: 'postal_code', mapping: { kind: 'DIRECT', source: 'p', column: 'zip' } },
            { column: 'created_at', mapping: { kind: 'EXPRESSION', expression: "to_timestamp(c.signed_up, 'YYYY-MM-DD HH24:MI:SS')" } },
          ],
        },
      },
    );
    expect(update.body.errors).toBeUndefined();
    expect(update.body.data!.updateMapping.errors).toEqual([]);
    const m = update.body.data!.updateMapping.mapping!;
    expect(m.version).toBe(2);
    expect(m.fields.map((f) => [f.column, f.state, f.kind])).toEqual([
      ['id', 'MAPPED', 'DIRECT'],
      ['email', 'MAPPED', 'DECORATED'],
      ['first_name', 'MAPPED', 'EXPRESSION'],
      ['last_name', 'MAPPED', 'EXPRESSION'],
      ['phone', 'MAPPED', 'DECORATED'],
      ['country', 'MAPPED', 'DECORATED'],
      ['postal_code', 'MAPPED', 'DIRECT'],
      ['created_at', 'MAPPED', 'EXPRESSION'],
      ['updated_at', 'UNMAPPED', null],
    ]);
    // The model's SQL reads the staging models and joins them; the user's expression comes back re-emitted from the parse tree.
    expect(m.sql).toMatch(
      /FROM \{\{ ref\('stg_[0-9a-f]{8}__crm__customers'\) \}\} AS "c"\nLEFT OUTER JOIN \{\{ ref\('stg_[0-9a-f]{8}__crm__profiles'\) \}\} AS "p" ON "c"\."id" = "p"\."customer_id"/,
    );
    expect(m.fields.find((f) => f.column === 'first_name')!.sql).toBe(`split_part("c"."full_name", ' ', 1)`);

    const lineage = await gql<{
      mapping: { lineage: Array<{ column: string; sources: Array<{ schema: string; table: string; column: string }>; transformations: string[] }> };
    }>(`query($id: ID!){ mapping(id: $id) { lineage { column sources { schema table column } transformations } } }`, { id: mappingId });
    expect(lineage.body.errors).toBeUndefined();
    const byColumn = Object.fromEntries(lineage.body.data!.mapping.lineage.map((l) => [l.column, l]));
    expect(byColumn.email).toEqual({
      column: 'email',
      sources: [{ schema: 'crm', table: 'customers', column: 'email' }],
      transformations: ['canonicalize email'],
    });
    expect(byColumn.phone.sources).toEqual([{ schema: 'crm', table: 'profiles', column: 'phone' }]);
    expect(byColumn.first_name.transformations).toEqual(['split_part']);
    expect(byColumn.created_at.sources).toEqual([{ schema: 'crm', table: 'customers', column: 'signed_up' }]);

    // The workspace's dbt project is published to file storage as a version with the model, and announced.
    const published = await waitFor('the dbt project with the customers model published', async () => {
      const [row] = await p.sources.mapping.query(`SELECT version, models FROM mapping.dbt_project WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1`, [
        ws.id,
      ]);
      return row?.models.includes('customers') ? (row as { version: number }) : undefined;
    });
    const dir = path.join(p.dbtProjectsDir, ws.id, `v${published.version}`);
    expect(await readFile(path.join(dir, 'models', 'marts', 'customers.sql'), 'utf8')).toContain(`split_part("c"."full_name", ' ', 1)`);
    const [event] = await p.sources.mapping.query(
      `SELECT payload FROM mapping.outbox WHERE subject = 'mapping.dbt_project.published.v1' AND payload->>'project' = $1`,
      [`${ws.id}/v${published.version}`],
    );
    expect(event.payload).toMatchObject({ workspaceId: ws.id, version: published.version, models: ['customers'] });
  });

  it('previews the rows (computed by the worker as the workspace role); the field that fails on a dirty value names its row, the others still show', async () => {
    const res = await preview(10);
    expect(res.error).toBeNull();
    expect(res.columns.map((c) => [c.name, c.state])).toEqual([
      ['id', 'MAPPED'],
      ['email', 'MAPPED'],
      ['first_name', 'MAPPED'],
      ['last_name', 'MAPPED'],
      ['phone', 'MAPPED'],
      ['country', 'MAPPED'],
      ['postal_code', 'MAPPED'],
      ['created_at', 'MAPPED'],
      ['updated_at', 'UNMAPPED'],
    ]);
    expect(res.columns.find((c) => c.name === 'created_at')!.type).toBe('timestamp with time zone');
    // Grace Hopper's "soon" is not a timestamp: created_at fails on her row and shows as null everywhere.
    expect(res.fieldErrors).toHaveLength(1);
    expect(res.fieldErrors[0]).toMatchObject({ column: 'created_at', code: '22007' });
    const grace = res.rows[res.fieldErrors[0]!.row!]!;
    expect(grace[0]).toBe('3');
    const rows = [...res.rows].sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(rows).toEqual([
      ['1', 'ada@example.com', 'Ada', 'Lovelace', '+442079460958', 'GB', 'NW1 6XE', null, null],
      ['2', 'alan@example.org', 'Alan', 'Turing', '+14155550100', 'US', '94105', null, null],
      ['3', 'grace@navy.example', 'Grace', 'Hopper', '+12025550173', 'US', '20500', null, null],
      ['4', null, 'Edsger', 'Dijkstra', null, null, null, null, null],
    ]);
    const two = await preview(2);
    expect(two.rows).toHaveLength(2);
    const tooMany = await preview(5000);
    expect(tooMany.error?.code).toBe('INVALID_REQUEST');
  });

  it('after the source is fixed and synced again, the generated dbt project builds the target table as the workspace role, tests passing', async () => {
    await src.query(`UPDATE crm.customers SET signed_up = '2024-02-20 12:00:00' WHERE id = 3`);
    await syncAndWait();
    const clean = await preview(10);
    expect(clean.fieldErrors).toEqual([]);
    expect(clean.rows.find((r) => r[0] === '3')![7]).toMatch(/^2024-02-20 12:00:00/);

    const project = await gql<{ workspaceDbtProject: { files: Array<{ path: string; content: string }> } }>(
      `query($ws: ID!){ workspaceDbtProject(workspaceId: $ws) { files { path content } } }`,
      { ws: ws.id },
    );
    expect(project.body.errors).toBeUndefined();
    // The published version is the project the API shows, file for file; dbt builds that directory.
    const [latest] = await p.sources.mapping.query(`SELECT version FROM mapping.dbt_project WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1`, [ws.id]);
    const projectDir = path.join(p.dbtProjectsDir, ws.id, `v${latest.version}`);
    for (const f of project.body.data!.workspaceDbtProject.files) expect(await readFile(path.join(projectDir, f.path), 'utf8')).toBe(f.content);
    const dir = await mkdtemp(path.join(tmpdir(), 'dlx-mapx-'));
    try {
      // The workspace role's password, unsealed as the platform would.
      const [row] = await p.sources.workspace.query(`SELECT password_sealed FROM workspace.warehouse WHERE workspace_id = $1`, [ws.id]);
      const keyring = new Keyring(Buffer.from(p.masterKey, 'base64'));
      const password = await withTenant(p.app.workspace, env.orgId, (em) =>
        keyring.unseal(em, env.orgId, ws.id, row.password_sealed as WorkspaceSealed, warehousePasswordAad(ws.id)),
      );
      const tls = Object.fromEntries(
        [
          ['sslmode', 'DBT_PG_SSLMODE'],
          ['sslrootcert', 'DBT_PG_SSLROOTCERT'],
        ].flatMap(([param, variable]) => (whUrl.searchParams.get(param!) ? [[variable!, whUrl.searchParams.get(param!)!]] : [])),
      );
      const out = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile(
          path.join(venvDir, 'bin', 'dbt'),
          ['build', '--project-dir', projectDir, '--profiles-dir', projectDir, '--target-path', path.join(dir, 'target'), '--log-path', path.join(dir, 'logs')],
          {
            cwd: projectDir,
            timeout: 180_000,
            maxBuffer: 32 * 1024 * 1024,
            env: {
              PATH: `${path.join(venvDir, 'bin')}:${process.env.PATH}`,
              HOME: process.env.HOME,
              DBT_PG_HOST: whUrl.hostname,
              DBT_PG_PORT: whUrl.port || '5432',
              DBT_PG_USER: ws.role,
              DBT_PG_PASSWORD: password,
              DBT_PG_DATABASE: whDb,
              DBT_PG_SCHEMA: ws.schema,
              DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
              ...tls,
            },
          },
          (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
        ),
      );
      expect({ code: out.code, tail: out.code ? out.output.slice(-3000) : '' }).toEqual({ code: 0, tail: '' });
      expect(out.output).toMatch(/Completed successfully/);
      expect(out.output).not.toContain(password);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const built = await sql(
      whUrl,
      `SELECT id, email, first_name, last_name, phone, country, postal_code, created_at IS NOT NULL AS dated FROM ${ws.schema}.customers ORDER BY id`,
    );
    expect(built).toEqual([
      {
        id: '1',
        email: 'ada@example.com',
        first_name: 'Ada',
        last_name: 'Lovelace',
        phone: '+442079460958',
        country: 'GB',
        postal_code: 'NW1 6XE',
        dated: true,
      },
      { id: '2', email: 'alan@example.org', first_name: 'Alan', last_name: 'Turing', phone: '+14155550100', country: 'US', postal_code: '94105', dated: true },
      {
        id: '3',
        email: 'grace@navy.example',
        first_name: 'Grace',
        last_name: 'Hopper',
        phone: '+12025550173',
        country: 'US',
        postal_code: '20500',
        dated: true,
      },
      { id: '4', email: null, first_name: 'Edsger', last_name: 'Dijkstra', phone: null, country: null, postal_code: null, dated: true },
    ]);
  });
});
