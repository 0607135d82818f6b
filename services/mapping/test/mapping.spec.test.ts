import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@datalinx/common';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import {
  MAPPING_DRIFT_DETECTED_V1,
  SOURCE_SNAPSHOT_CREATED_V1,
  STREAMS,
  TARGET_SCHEMA_CHANGED_V1,
  destinationTableName,
  mappingDriftDetectedV1,
  sourceSnapshotCreatedParts,
  stagingModelName,
  targetSchemaChangedV1,
  type SnapshotTableRef,
} from '@datalinx/contracts';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { mappingDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMappingServer } from '../src/app';
import { WorkspaceRefDao } from '../src/daos/workspace-ref.dao';
import { CatalogDao } from '../src/daos/catalog.dao';
import { MappingDao } from '../src/daos/mapping.dao';
import { DriftRecorder } from '../src/jobs/drift';
import { startSourceSnapshotReplica, startTargetSchemaReplica } from '../src/jobs/catalog-replica.consumer';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';

const MAPPING_FIELDS = `id version targetTable sql
  fields { column dataType state reason kind sql lineage { sources { connectionId schema table column } transformations } }
  suggestedJoins { leftAlias leftColumn alias rightColumn reason }
  versions { version authorKind summary }`;
const CREATE = `mutation($input: CreateMappingInput!){ createMapping(input: $input){ mapping { ${MAPPING_FIELDS} } errors { code field message } } }`;
const UPDATE = `mutation($input: UpdateMappingInput!){ updateMapping(input: $input){ mapping { ${MAPPING_FIELDS} } errors { code field message } } }`;
const SET_FIELD = `mutation($input: SetFieldMappingInput!){ setFieldMapping(input: $input){ mapping { ${MAPPING_FIELDS} } errors { code field message } } }`;
const REVERT = `mutation($input: RevertMappingInput!){ revertMapping(input: $input){ mapping { ${MAPPING_FIELDS} } errors { code field message } } }`;
const ONE = `query($id: ID!){ mapping(id: $id){ ${MAPPING_FIELDS} } }`;
const DIFF = `query($id: ID!, $from: Int!, $to: Int!){ mappingDiff(id: $id, from: $from, to: $to){ fields { column change beforeKind afterKind } sources { key change } joins { key change } } }`;

type Field = {
  column: string;
  dataType: string;
  state: string;
  reason: string | null;
  kind: string | null;
  sql: string | null;
  lineage: { sources: Array<{ connectionId: string; schema: string; table: string; column: string }>; transformations: string[] };
};
type MappingView = {
  id: string;
  version: number;
  targetTable: string;
  sql: string | null;
  fields: Field[];
  suggestedJoins: Array<{ leftAlias: string; leftColumn: string; alias: string; rightColumn: string; reason: string }>;
  versions: Array<{ version: number; authorKind: string; summary: string }>;
};
type Payload = { mapping: MappingView | null; errors: Array<{ code: string; field: string | null; message: string }> };

/**
 * A mapping end to end on real PostgreSQL and NATS: the target schema and a source snapshot
 * arrive as events, a mapping with a join and DIRECT / DECORATED / CONSTANT fields compiles to a
 * SELECT that runs against the raw tables, versions diff and revert, and a snapshot that drops a
 * used column puts the field in ERROR and publishes drift once.
 */
describe('mapping spec, states, SQL, versions and drift', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let nats: Nats;
  let ds: ReturnType<typeof mappingDataSource>;
  let app: ReturnType<typeof mappingDataSource>;
  let server: Awaited<ReturnType<typeof createMappingServer>>;
  let httpServer: http.Server;
  let url: string;
  const stops: Array<() => Promise<unknown>> = [];
  const suffix = randomUUID().slice(0, 8);
  const orgA = randomUUID();
  const orgB = randomUUID();
  const ws = randomUUID();
  const conn = randomUUID();
  const tableId = randomUUID();
  const editor = userViewer({ orgId: orgA, grants: [{ workspaceId: ws, role: 'EDITOR' }] });
  const reader = userViewer({ orgId: orgA, grants: [{ workspaceId: ws, role: 'VIEWER' }] });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });

  const customers: SnapshotTableRef = {
    schema: 'public',
    name: 'customers',
    kind: 'TABLE',
    columns: [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'email', type: 'character varying', nullable: true },
      { name: 'full_name', type: 'text', nullable: true },
    ],
    primaryKey: ['id'],
  };
  const orders: SnapshotTableRef = {
    schema: 'public',
    name: 'orders',
    kind: 'TABLE',
    columns: [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'customer_id', type: 'integer', nullable: false },
      { name: 'total', type: 'numeric', nullable: true },
    ],
    primaryKey: ['id'],
  };

  const as = async (v: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(v, randomUUID()) });
  const gql = async <T>(v: Viewer, q: string, vars: Record<string, unknown>) => {
    const res = await postGraphQL<T>(url, q, vars, await as(v));
    expect(res.body.errors).toBeUndefined();
    return res.body.data!;
  };
  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 15_000; !(await ok());) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen in 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const publishSnapshot = async (version: number, tables: SnapshotTableRef[]) => {
    const snapshotId = randomUUID();
    const parts = sourceSnapshotCreatedParts(
      { orgId: orgA, workspaceId: ws, connectionId: conn, snapshotId, version, runId: randomUUID(), createdAt: new Date().toISOString() },
      tables,
      200,
    );
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) await nats.js.publish(SOURCE_SNAPSHOT_CREATED_V1, encodeJson(p), { msgID: randomUUID() });
    await until(`snapshot v${version}`, async () => {
      const rows = await ds.query(`SELECT 1 FROM mapping.source_snapshot_ref WHERE connection_id = $1 AND version = $2 AND complete`, [conn, version]);
      return rows.length > 0;
    });
    return snapshotId;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await mappingDataSource(db.url).initialize();
    app = await mappingDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    server = await createMappingServer({ ds: app, verifier: keys.verifier, log: createLogger('mapping-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
    await new WorkspaceRefDao(app).upsert(orgA, ws);
    nats = await connectNats(process.env.NATS_URL!, 'mapping-spec-test');
    await ensureStreams(nats.jsm);
    const log = createLogger('mapping-test', 'silent');
    const catalogs = new CatalogDao(app);
    for (const [durable, subject] of [
      [`mapping-ts-${suffix}`, TARGET_SCHEMA_CHANGED_V1],
      [`mapping-ss-${suffix}`, SOURCE_SNAPSHOT_CREATED_V1],
    ] as const) {
      await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        filter_subject: subject,
      });
      stops.push(() => nats.jsm.consumers.delete(STREAMS.EVENTS.name, durable).catch(() => undefined));
    }
    const ts = await startTargetSchemaReplica({
      js: nats.js,
      jsm: nats.jsm,
      dao: catalogs,
      log,
      durable: `mapping-ts-${suffix}`,
      accept: async (e) => e.orgId === orgA,
    });
    const ss = await startSourceSnapshotReplica({
      js: nats.js,
      jsm: nats.jsm,
      dao: catalogs,
      drift: new DriftRecorder(new MappingDao(app), catalogs, log),
      log,
      durable: `mapping-ss-${suffix}`,
      accept: async (e) => e.orgId === orgA,
    });
    stops.unshift(
      () => ts.stop(),
      () => ss.stop(),
    );

    // The target schema, as the schema service publishes it.
    const changed = targetSchemaChangedV1.parse({
      orgId: orgA,
      workspaceId: ws,
      version: 1,
      tableIds: { dim_customer: tableId },
      actor: { kind: 'system', id: null },
      document: {
        format: 'datalinx.target-schema',
        formatVersion: 1,
        tables: [
          {
            name: 'dim_customer',
            columns: [
              { name: 'customer_id', dataType: 'bigint', nullable: false, primaryKey: true },
              { name: 'email', dataType: 'text', nullable: true, canonicalType: 'email' },
              { name: 'name_hash', dataType: 'text', nullable: true },
              { name: 'order_total', dataType: 'numeric(12,2)', nullable: true },
              { name: 'source', dataType: 'text', nullable: false },
              { name: 'note', dataType: 'text', nullable: true },
              { name: 'region', dataType: 'text', nullable: false },
            ],
          },
        ],
        relationships: [],
      },
    });
    await nats.js.publish(TARGET_SCHEMA_CHANGED_V1, encodeJson(changed), { msgID: randomUUID() });
    await until('the target schema replica', async () => (await ds.query(`SELECT 1 FROM mapping.target_schema_ref WHERE workspace_id = $1`, [ws])).length > 0);
    await publishSnapshot(1, [customers, orders]);
  });

  afterAll(async () => {
    for (const s of stops) await s();
    await nats?.close();
    await server?.stop();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  /** Runs a compiled SELECT against raw tables in a real schema (each staging ref replaced by its raw table, Jinja's escapes rendered). */
  const runCompiled = async (compiled: string) => {
    const schema = `mapping_run_${randomUUID().slice(0, 8)}`;
    await ds.query(`CREATE SCHEMA ${schema}`);
    try {
      const raw = (t: SnapshotTableRef) => `${schema}.${destinationTableName(t)}`;
      await ds.query(`CREATE TABLE ${raw(customers)} (id integer NOT NULL, email varchar, full_name text)`);
      await ds.query(`CREATE TABLE ${raw(orders)} (id integer NOT NULL, customer_id integer NOT NULL, total numeric)`);
      await ds.query(`INSERT INTO ${raw(customers)} VALUES (1, '  Ann@Example.COM ', 'Ann Lee'), (2, NULL, NULL)`);
      await ds.query(`INSERT INTO ${raw(orders)} VALUES (10, 1, 12.345)`);
      let sql = compiled;
      for (const t of [customers, orders]) sql = sql.split(`{{ ref('${stagingModelName({ connectionId: conn, ...t })}') }}`).join(raw(t));
      // What Jinja renders of the escapes; then no Jinja is left.
      sql = sql.split("{{ '{' }}").join('{');
      return await ds.query(`${sql} ORDER BY 1`);
    } finally {
      await ds.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  };

  let mappingId = '';
  let view: MappingView;

  it('creates the mapping of a target table with every column UNMAPPED, required ones saying so', async () => {
    const res = await gql<{ createMapping: Payload }>(editor, CREATE, { input: { workspaceId: ws, targetTableId: tableId } });
    expect(res.createMapping.errors).toEqual([]);
    view = res.createMapping.mapping!;
    mappingId = view.id;
    expect(view.targetTable).toBe('dim_customer');
    expect(view.sql).toBeNull();
    expect(view.fields.map((f) => [f.column, f.state, f.reason])).toEqual([
      ['customer_id', 'UNMAPPED', 'required'],
      ['email', 'UNMAPPED', null],
      ['name_hash', 'UNMAPPED', null],
      ['order_total', 'UNMAPPED', null],
      ['source', 'UNMAPPED', 'required'],
      ['note', 'UNMAPPED', null],
      ['region', 'UNMAPPED', 'required'],
    ]);
    const again = await gql<{ createMapping: Payload }>(editor, CREATE, { input: { workspaceId: ws, targetTableId: tableId, name: 'Other' } });
    expect(again.createMapping.errors.map((e) => e.code)).toEqual(['TARGET_TABLE_MAPPED']);
  });

  const spec = (over: Record<string, unknown> = {}) => ({
    id: mappingId,
    expectedVersion: view.version,
    sources: [
      { alias: 'c', connectionId: conn, schema: 'public', table: 'customers' },
      { alias: 'o', connectionId: conn, schema: 'public', table: 'orders' },
    ],
    joins: [{ alias: 'o', type: 'LEFT', on: [{ leftAlias: 'c', leftColumn: 'id', rightColumn: 'customer_id' }] }],
    ctes: [],
    fields: [
      { column: 'customer_id', mapping: { kind: 'DIRECT', source: 'c', column: 'id' } },
      { column: 'email', mapping: { kind: 'DECORATED', source: 'c', column: 'email', decorators: [{ kind: 'TRIM' }, { kind: 'CANONICALIZE' }] } },
      { column: 'name_hash', mapping: { kind: 'DECORATED', source: 'c', column: 'full_name', decorators: [{ kind: 'LOWER' }, { kind: 'SHA256' }] } },
      { column: 'order_total', mapping: { kind: 'DIRECT', source: 'o', column: 'total' } },
      { column: 'source', mapping: { kind: 'CONSTANT', value: "crm's" } },
      {
        column: 'region',
        mapping: {
          kind: 'DECORATED',
          source: 'c',
          column: 'full_name',
          decorators: [
            { kind: 'MASK', keepLast: 2 },
            { kind: 'LOOKUP', map: [{ from: 'x', to: 'y' }] },
            { kind: 'DEFAULT', value: 'none' },
          ],
        },
      },
    ],
    wildcards: [],
    summary: 'First cut',
    ...over,
  });

  it('suggests the join key from the primary key, refuses bad structure as UserErrors writing nothing', async () => {
    const suggested = await gql<{ suggestedJoins: unknown[] }>(
      reader,
      `query($ws: ID!, $s: [MappingSourceInput!]!){ suggestedJoins(workspaceId: $ws, sources: $s){ leftAlias leftColumn alias rightColumn reason } }`,
      { ws, s: spec().sources },
    );
    expect(suggested.suggestedJoins).toEqual([{ leftAlias: 'c', leftColumn: 'id', alias: 'o', rightColumn: 'customer_id', reason: 'PRIMARY_KEY' }]);
    const bad = await gql<{ updateMapping: Payload }>(editor, UPDATE, {
      input: spec({ joins: [{ alias: 'zz', type: 'INNER', on: [{ leftAlias: 'c', leftColumn: 'id', rightColumn: 'customer_id' }] }] }),
    });
    expect(bad.updateMapping.mapping).toBeNull();
    expect(bad.updateMapping.errors.map((e) => [e.code, e.field])).toEqual([
      ['SOURCE_NOT_FOUND', 'joins.0.alias'],
      ['JOIN_MISSING', 'sources.1.alias'],
    ]);
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM mapping.mapping_version WHERE mapping_id = $1`, [mappingId]);
    expect(n).toBe(1);
  });

  it('maps DIRECT, DECORATED and CONSTANT fields over a join, and the compiled SELECT runs against the raw tables', async () => {
    const res = await gql<{ updateMapping: Payload }>(editor, UPDATE, { input: spec() });
    expect(res.updateMapping.errors).toEqual([]);
    view = res.updateMapping.mapping!;
    expect(view.version).toBe(2);
    expect(view.suggestedJoins).toEqual([]);
    const state = Object.fromEntries(view.fields.map((f) => [f.column, f.state]));
    expect(state).toEqual({
      customer_id: 'MAPPED',
      email: 'MAPPED',
      name_hash: 'MAPPED',
      order_total: 'MAPPED',
      source: 'MAPPED',
      note: 'UNMAPPED',
      region: 'MAPPED',
    });
    const email = view.fields.find((f) => f.column === 'email')!;
    expect(email.lineage).toEqual({
      sources: [{ connectionId: conn, schema: 'public', table: 'customers', column: 'email' }],
      transformations: ['trim', 'canonicalize email'],
    });
    const total = view.fields.find((f) => f.column === 'order_total')!;
    expect(total.lineage.sources).toEqual([{ connectionId: conn, schema: 'public', table: 'orders', column: 'total' }]);
    expect(view.sql).toContain(`{{ ref('${stagingModelName({ connectionId: conn, schema: 'public', name: 'customers' })}') }}`);
    expect(view.sql).toContain('NULL::text AS "note"');

    expect(await runCompiled(view.sql!)).toEqual([
      {
        customer_id: '1',
        email: 'ann@example.com',
        name_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        order_total: '12.35',
        source: "crm's",
        note: null,
        region: '*****ee',
      },
      { customer_id: '2', email: null, name_hash: null, order_total: null, source: "crm's", note: null, region: 'none' },
    ]);
  });

  it('accepts hostile SQL into the spec as an ERROR field and never emits it', async () => {
    // The hostile inputs of @datalinx/sql's tests, with where the problem is.
    for (const [expression, at] of [
      ['1; DROP TABLE x', 'line 1, column 4'],
      ['pg_sleep(10)', 'line 1, column 1'],
      ['c.email/**/;DROP TABLE y', 'line 1, column 8'],
      ["pg_read_file('/etc/passwd')", 'line 1, column 1'],
      ["set_config('a', 'b', false)", 'line 1, column 1'],
      ["dblink('h', 'q')", 'line 1, column 1'],
      ['(SELECT 1)', 'line 1, column'],
    ] as const) {
      const res = await gql<{ setFieldMapping: Payload }>(editor, SET_FIELD, {
        input: { id: mappingId, expectedVersion: view.version, targetColumn: 'note', mapping: { kind: 'EXPRESSION', expression } },
      });
      expect(res.setFieldMapping.errors).toEqual([]);
      view = res.setFieldMapping.mapping!;
      const note = view.fields.find((f) => f.column === 'note')!;
      expect(note).toMatchObject({ state: 'ERROR', sql: null });
      expect([expression, note.reason]).toEqual([expression, expect.stringMatching(new RegExp(`^${at}`))]);
      expect(view.sql).toBeNull();
    }
    // A NUL character (PostgreSQL cannot hold it) is refused before the manager, nothing written.
    const nul = await postGraphQL(
      url,
      SET_FIELD,
      { input: { id: mappingId, expectedVersion: view.version, targetColumn: 'note', mapping: { kind: 'CONSTANT', value: 'a\u0000b' } } },
      await as(editor),
    );
    expect(nul.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql<{ mapping: MappingView }>(reader, ONE, { id: mappingId })).mapping.version).toBe(view.version);
    // Text a user typed never becomes Jinja in the model (dbt renders it): every brace is escaped.
    const res = await gql<{ setFieldMapping: Payload }>(editor, SET_FIELD, {
      input: { id: mappingId, expectedVersion: view.version, targetColumn: 'note', mapping: { kind: 'CONSTANT', value: "{{ run_query('drop table x') }}" } },
    });
    view = res.setFieldMapping.mapping!;
    expect(view.sql).toContain(`('{{ '{' }}{{ '{' }} run_query(''drop table x'') }}')::text AS "note"`);
    expect(view.sql!.match(/\{\{ (?!'\{' \}\}|ref\()/g)).toBeNull();
  });

  it('parses EXPRESSION fields: lineage from the parse tree, positions of problems, AMBIGUOUS bare columns, type mismatches naming both types', async () => {
    const set = async (targetColumn: string, mapping: Record<string, unknown>) => {
      const res = await gql<{ setFieldMapping: Payload }>(editor, SET_FIELD, {
        input: { id: mappingId, expectedVersion: view.version, targetColumn, mapping },
      });
      expect(res.setFieldMapping.errors).toEqual([]);
      view = res.setFieldMapping.mapping!;
      return view.fields.find((f) => f.column === targetColumn)!;
    };
    expect(await set('note', { kind: 'EXPRESSION', expression: "upper(c.full_name) || ' #' || o.id" })).toMatchObject({
      state: 'MAPPED',
      kind: 'EXPRESSION',
      lineage: {
        sources: [
          { connectionId: conn, schema: 'public', table: 'customers', column: 'full_name' },
          { connectionId: conn, schema: 'public', table: 'orders', column: 'id' },
        ],
        transformations: ['upper'],
      },
    });
    expect((await runCompiled(view.sql!)).map((r: { note: string | null }) => r.note)).toEqual(['ANN LEE #10', null]);
    expect(await set('note', { kind: 'EXPRESSION', expression: 'c.full_name +' })).toMatchObject({
      state: 'ERROR',
      reason: expect.stringMatching(/^line 1, column 14: /),
    });
    expect(await set('note', { kind: 'EXPRESSION', expression: 'id' })).toMatchObject({
      state: 'AMBIGUOUS',
      reason: expect.stringContaining('"id" is a column of'),
    });
    const mismatch = await set('customer_id', { kind: 'EXPRESSION', expression: 'c.full_name' });
    expect(mismatch.state).toBe('ERROR');
    expect(mismatch.reason).toMatch(/text.*bigint/);
    await set('customer_id', { kind: 'DIRECT', source: 'c', column: 'id' });
    await set('note', { kind: 'EXPRESSION', expression: 'round(o.total, 1)::text' });
  });

  it('reads a CTE as a source: its SQL compiled with staging refs, lineage through it', async () => {
    const res = await gql<{ updateMapping: Payload }>(editor, UPDATE, {
      input: spec({
        expectedVersion: view.version,
        ctes: [{ name: 'big_orders', sql: 'SELECT customer_id, sum(total) AS total FROM public.orders GROUP BY customer_id' }],
        sources: [
          { alias: 'c', connectionId: conn, schema: 'public', table: 'customers' },
          { alias: 'o', cte: 'big_orders' },
        ],
        summary: 'Totals per customer',
      }),
    });
    expect(res.updateMapping.errors).toEqual([]);
    view = res.updateMapping.mapping!;
    const total = view.fields.find((f) => f.column === 'order_total')!;
    expect(total).toMatchObject({ state: 'MAPPED', lineage: { sources: [{ connectionId: conn, schema: 'public', table: 'orders', column: 'total' }] } });
    expect(total.lineage.transformations).toContain('cte big_orders');
    expect(view.sql).toMatch(/^WITH "big_orders" AS \(/);
    expect((await runCompiled(view.sql!)).map((r: { order_total: string | null }) => r.order_total)).toEqual(['12.35', null]);
  });

  it('saves a CTE that does not compile, with its problem, and puts the fields reading it in ERROR', async () => {
    const base = spec({ expectedVersion: view.version });
    const res = await gql<{
      updateMapping: {
        mapping: {
          version: number;
          ctes: Array<{ name: string; ok: boolean; problem: string | null; compiledSql: string | null }>;
          fields: Field[];
          sql: string | null;
        };
      };
    }>(
      editor,
      `mutation($input: UpdateMappingInput!){ updateMapping(input: $input){ mapping { version sql ctes { name ok problem compiledSql } fields { column state reason } } errors { code } } }`,
      {
        input: {
          ...base,
          ctes: [{ name: 'big_orders', sql: 'SELECT customer_id, pg_sleep(1) AS total FROM public.orders' }],
          sources: [base.sources[0], { alias: 'o', cte: 'big_orders' }],
        },
      },
    );
    const m = res.updateMapping.mapping;
    expect(m.ctes).toEqual([{ name: 'big_orders', ok: false, problem: expect.stringMatching(/^line 1, column \d+: .*pg_sleep/), compiledSql: null }]);
    expect(m.fields.find((f) => f.column === 'order_total')).toMatchObject({ state: 'ERROR', reason: 'CTE big_orders does not compile' });
    expect(m.sql).toBeNull();
    view = { ...view, version: m.version };
  });

  it('fills unmapped columns from wildcards: one claim maps the column, two make it AMBIGUOUS; a join key that is no column is a UserError', async () => {
    const base = spec({ expectedVersion: view.version });
    const withWildcards = {
      ...base,
      ctes: [{ name: 'ids', sql: 'SELECT id AS customer_id FROM public.customers' }],
      sources: [...base.sources, { alias: 'x', cte: 'ids' }],
      joins: [...base.joins, { alias: 'x', type: 'INNER', on: [{ leftAlias: 'c', leftColumn: 'id', rightColumn: 'customer_id' }] }],
      fields: base.fields.filter((f) => f.column !== 'customer_id' && f.column !== 'email'),
      wildcards: ['c', 'o', 'x'],
    };
    const badJoin = await gql<{ updateMapping: Payload }>(editor, UPDATE, {
      input: {
        ...withWildcards,
        joins: [base.joins[0], { alias: 'x', type: 'INNER', on: [{ leftAlias: 'c', leftColumn: 'nope', rightColumn: 'customer_id' }] }],
      },
    });
    expect(badJoin.updateMapping.errors.map((e) => [e.code, e.field])).toEqual([['JOIN_INVALID', 'joins.1.on.0.leftColumn']]);
    const res = await gql<{ updateMapping: Payload }>(editor, UPDATE, { input: withWildcards });
    expect(res.updateMapping.errors).toEqual([]);
    view = res.updateMapping.mapping!;
    expect(view.fields.find((f) => f.column === 'email')).toMatchObject({
      state: 'MAPPED',
      kind: 'WILDCARD',
      lineage: { sources: [{ connectionId: conn, schema: 'public', table: 'customers', column: 'email' }] },
    });
    expect(view.fields.find((f) => f.column === 'customer_id')).toMatchObject({
      state: 'AMBIGUOUS',
      kind: 'WILDCARD',
      reason: 'wildcards o and x both have a column customer_id',
    });
    expect(view.sql).toBeNull();
  });

  it('keeps versions, diffs them field by field, reverts, and refuses a stale version', async () => {
    const stale = await gql<{ updateMapping: Payload }>(editor, UPDATE, { input: spec({ expectedVersion: 2 }) });
    expect(stale.updateMapping.errors.map((e) => e.code)).toEqual(['VERSION_CONFLICT']);
    const diff = await gql<{ mappingDiff: { fields: Array<{ column: string; change: string; beforeKind: string | null; afterKind: string | null }> } }>(
      reader,
      DIFF,
      { id: mappingId, from: 1, to: 2 },
    );
    expect(diff.mappingDiff.fields.map((f) => [f.column, f.change, f.afterKind])).toEqual([
      ['customer_id', 'ADDED', 'DIRECT'],
      ['email', 'ADDED', 'DECORATED'],
      ['name_hash', 'ADDED', 'DECORATED'],
      ['order_total', 'ADDED', 'DIRECT'],
      ['source', 'ADDED', 'CONSTANT'],
      ['region', 'ADDED', 'DECORATED'],
    ]);
    const back = await gql<{ revertMapping: Payload }>(editor, REVERT, { input: { id: mappingId, toVersion: 2 } });
    expect(back.revertMapping.errors).toEqual([]);
    view = back.revertMapping.mapping!;
    expect(view.versions[0]).toMatchObject({ version: view.version, authorKind: 'user', summary: 'Reverted to version 2' });
    expect(view.fields.find((f) => f.column === 'note')!.state).toBe('UNMAPPED');
    expect(view.sql).not.toBeNull();
  });

  it('lets a reader read but not write (payload FORBIDDEN), and shows another org nothing', async () => {
    const denied = await gql<{ updateMapping: Payload }>(reader, UPDATE, { input: spec() });
    expect(denied.updateMapping).toEqual({ mapping: null, errors: [{ code: 'FORBIDDEN', field: 'id', message: expect.any(String) }] });
    expect(await gql(adminB, ONE, { id: mappingId })).toEqual({ mapping: null });
    const other = await gql<{ updateMapping: Payload }>(adminB, UPDATE, { input: spec() });
    expect(other.updateMapping.errors.map((e) => e.code)).toEqual(['MAPPING_NOT_FOUND']);
  });

  it('puts fields whose source column a new snapshot removed in ERROR, with one drift event per snapshot', async () => {
    const durable = `mapping-drift-${suffix}`;
    await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: MAPPING_DRIFT_DETECTED_V1,
    });
    stops.push(() => nats.jsm.consumers.delete(STREAMS.EVENTS.name, durable).catch(() => undefined));
    const withoutEmail = { ...customers, columns: customers.columns.filter((c) => c.name !== 'email') };
    const snapshotId = await publishSnapshot(2, [withoutEmail, orders]);
    const notices = await ds.query(`SELECT mapping_id, snapshot_id, fields FROM mapping.drift_notice WHERE mapping_id = $1`, [mappingId]);
    expect(notices).toEqual([
      {
        mapping_id: mappingId,
        snapshot_id: snapshotId,
        fields: [{ column: 'email', reason: 'source column public.customers.email was removed in snapshot v2' }],
      },
    ]);
    const [ev] = await ds.query(`SELECT subject, payload FROM mapping.outbox WHERE subject = $1`, [MAPPING_DRIFT_DETECTED_V1]);
    expect(mappingDriftDetectedV1.parse(ev.payload)).toEqual({ orgId: orgA, workspaceId: ws, mappingId, snapshotId, fields: notices[0].fields });
    const read = await gql<{ mapping: MappingView }>(reader, ONE, { id: mappingId });
    expect(read.mapping.fields.find((f) => f.column === 'email')).toMatchObject({
      state: 'ERROR',
      reason: 'source column public.customers.email was removed in snapshot v2',
    });
    expect(read.mapping.sql).toBeNull();
  });

  it('puts every field in ERROR when a join key is retyped, once per snapshot however often it is delivered', async () => {
    const retyped = { ...orders, columns: orders.columns.map((c) => (c.name === 'customer_id' ? { ...c, type: 'text' } : c)) };
    const withoutEmail = { ...customers, columns: customers.columns.filter((c) => c.name !== 'email') };
    const snapshotId = await publishSnapshot(3, [withoutEmail, retyped]);
    const reason = 'source column public.orders.customer_id changed type from integer to text in snapshot v3';
    const [notice] = await ds.query(`SELECT fields FROM mapping.drift_notice WHERE mapping_id = $1 AND snapshot_id = $2`, [mappingId, snapshotId]);
    expect(notice.fields).toEqual(['customer_id', 'name_hash', 'order_total', 'source', 'region'].map((column) => ({ column, reason })));
    // The same version again (a redelivery, new message ids) is stale: no second notice or event.
    for (const part of sourceSnapshotCreatedParts(
      { orgId: orgA, workspaceId: ws, connectionId: conn, snapshotId, version: 3, runId: randomUUID(), createdAt: new Date().toISOString() },
      [withoutEmail, retyped],
      200,
    ))
      await nats.js.publish(SOURCE_SNAPSHOT_CREATED_V1, encodeJson(part), { msgID: randomUUID() });
    await until('the redelivery settled', async () => {
      const info = await nats.jsm.consumers.info(STREAMS.EVENTS.name, `mapping-ss-${suffix}`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    expect(await ds.query(`SELECT count(*)::int AS n FROM mapping.drift_notice WHERE mapping_id = $1`, [mappingId])).toEqual([{ n: 2 }]);
    expect(await ds.query(`SELECT count(*)::int AS n FROM mapping.outbox WHERE subject = $1`, [MAPPING_DRIFT_DETECTED_V1])).toEqual([{ n: 2 }]);
    const read = await gql<{ mapping: MappingView }>(reader, ONE, { id: mappingId });
    expect(read.mapping.fields.map((f) => [f.column, f.state, f.reason])).toEqual([
      ['customer_id', 'ERROR', reason],
      ['email', 'ERROR', 'source column public.customers.email was removed in snapshot v2'],
      ['name_hash', 'ERROR', reason],
      ['order_total', 'ERROR', reason],
      ['source', 'ERROR', reason],
      ['note', 'UNMAPPED', null],
      ['region', 'ERROR', reason],
    ]);
  });

  it('keeps the highest target schema version: an older one changes nothing', async () => {
    const older = targetSchemaChangedV1.parse({
      orgId: orgA,
      workspaceId: ws,
      version: 1,
      tableIds: {},
      actor: { kind: 'system', id: null },
      document: { format: 'datalinx.target-schema', formatVersion: 1, tables: [], relationships: [] },
    });
    const dao = new CatalogDao(app);
    expect(await dao.applyTargetSchema(older)).toBe(false);
    expect(await dao.applyTargetSchema({ ...older, version: 2, tableIds: { dim_customer: tableId } })).toBe(true);
    const [row] = await ds.query(`SELECT version, document FROM mapping.target_schema_ref WHERE workspace_id = $1`, [ws]);
    expect(row).toMatchObject({ version: 2, document: { tables: [] } });
    // The table is gone from the schema: the mapping has no columns to fill, and no SQL.
    const read = await gql<{ mapping: MappingView }>(reader, ONE, { id: mappingId });
    expect(read.mapping).toMatchObject({ fields: [], sql: null });
  });

  it('deletes a mapping with its versions and notices; a reader cannot', async () => {
    const DELETE = `mutation($id: ID!){ deleteMapping(id: $id){ deletedId errors { code field } } }`;
    expect(await gql(reader, DELETE, { id: mappingId })).toEqual({ deleteMapping: { deletedId: null, errors: [{ code: 'FORBIDDEN', field: 'id' }] } });
    expect(await gql(editor, DELETE, { id: mappingId })).toEqual({ deleteMapping: { deletedId: mappingId, errors: [] } });
    expect(await gql(reader, ONE, { id: mappingId })).toEqual({ mapping: null });
    expect(await gql(editor, DELETE, { id: mappingId })).toEqual({ deleteMapping: { deletedId: null, errors: [{ code: 'MAPPING_NOT_FOUND', field: 'id' }] } });
    for (const t of ['mapping_version', 'drift_notice'])
      expect(await ds.query(`SELECT count(*)::int AS n FROM mapping.${t} WHERE mapping_id = $1`, [mappingId])).toEqual([{ n: 0 }]);
  });
});
