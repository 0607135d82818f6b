/**
 * Target schemas through the real gateway and the real subgraphs (runtime role, row-level
 * security): tables from columns or templates, per-field validation that changes nothing,
 * versions with diffs, the changed event in the outbox, `schema.json` export/import with its
 * limits, access control across roles and orgs, and the schema service's part of a promotion.
 */
import { randomUUID } from 'node:crypto';
import {
  BUILT_IN_CANONICAL_TYPES,
  PROMOTION_REQUESTED_V1,
  TARGET_SCHEMA_CHANGED_V1,
  TARGET_SCHEMA_LIMITS,
  promotionPartCompletedV1,
  targetSchemaChangedV1,
  type PromotionRequestedV1,
} from '@datalinx/contracts';
import { startPlatform, viewerHeader, waitForWorkspaceRefs, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { gqlClient } from '../../../test/support/http';
import { TARGET_TEMPLATES } from '../src/target/templates';
import { TargetSchemaManager } from '../src/managers/target-schema.manager';
import { TargetSchemaDao } from '../src/daos/target-schema.dao';
import { CustomCanonicalTypeDao } from '../src/daos/custom-canonical-type.dao';

type Err = { code: string; field: string | null; message: string };
type Column = { name: string; dataType: string; nullable: boolean; description: string; canonicalType: string | null; primaryKey: boolean; order: number };
type Table = {
  id: string;
  name: string;
  description: string;
  version: number;
  primaryKey: string[];
  columns: Column[];
  relationships: Array<{ id: string; name: string; fromColumns: string[]; toTable: { name: string }; toColumns: string[] }>;
  referencedBy: Array<{ name: string; fromTable: { name: string } }>;
};
const TABLE = `id name description version primaryKey columns { name dataType nullable description canonicalType primaryKey order }
  relationships { id name fromColumns toTable { name } toColumns } referencedBy { name fromTable { name } }`;

describe('target schemas', () => {
  let p: Platform;
  let orgId: string;
  let otherOrg: string;
  let dev: string;
  let prod: string;
  let otherWs: string;
  let admin: Record<string, string>;
  let editor: Record<string, string>;
  let viewer: Record<string, string>;
  let outsider: Record<string, string>;
  const gql = gqlClient(() => p.gatewayUrl, { headers: () => admin });

  const create = async (input: Record<string, unknown>, as = admin) => {
    const res = await gql<{ createTargetTable: { table: Table | null; schemaVersion: number | null; errors: Err[] } }>(
      `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { table { ${TABLE} } schemaVersion errors { code field message } } }`,
      { i: input },
      as,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.createTargetTable;
  };
  const update = async (input: Record<string, unknown>, as = admin) => {
    const res = await gql<{ updateTargetTable: { table: Table | null; schemaVersion: number | null; errors: Err[] } }>(
      `mutation($i: UpdateTargetTableInput!){ updateTargetTable(input: $i) { table { ${TABLE} } schemaVersion errors { code field message } } }`,
      { i: input },
      as,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.updateTargetTable;
  };
  const tables = async (workspaceId: string, as = admin) => {
    const res = await gql<{ targetTables: Table[] }>(`query($w: ID!){ targetTables(workspaceId: $w) { ${TABLE} } }`, { w: workspaceId }, as);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.targetTables;
  };
  const exportJson = async (workspaceId: string, version?: number) => {
    const res = await gql<{ exportTargetSchema: string | null }>(`query($w: ID!, $v: Int){ exportTargetSchema(workspaceId: $w, version: $v) }`, {
      w: workspaceId,
      v: version ?? null,
    });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.exportTargetSchema;
  };
  const importJson = async (workspaceId: string, json: string, as = admin) => {
    const res = await gql<{ importTargetSchema: { schemaVersion: number | null; errors: Err[] } }>(
      `mutation($w: ID!, $j: String!){ importTargetSchema(workspaceId: $w, json: $j) { schemaVersion errors { code field message } } }`,
      { w: workspaceId, j: json },
      as,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.importTargetSchema;
  };
  /** Rows of every target-schema table and the outbox, as the admin sees them: "nothing changed" compares these. */
  const state = async () => {
    const q = async (sql: string) => JSON.stringify(await p.sources.schema.query(sql));
    return {
      tables: await q(`SELECT id, name, description, position, version FROM schema.target_table ORDER BY id`),
      columns: await q(`SELECT * FROM schema.target_column ORDER BY table_id, position`),
      relationships: await q(`SELECT * FROM schema.target_relationship ORDER BY id`),
      versions: await q(`SELECT id FROM schema.target_schema_version ORDER BY id`),
      outbox: await q(`SELECT id FROM schema.outbox ORDER BY seq`),
    };
  };
  const changedEvents = async (workspaceId: string) =>
    (await p.sources.schema.query(`SELECT payload FROM schema.outbox WHERE subject = $1 ORDER BY seq`, [TARGET_SCHEMA_CHANGED_V1]))
      .map((r: { payload: unknown }) => targetSchemaChangedV1.parse(r.payload))
      .filter((e: { workspaceId: string }) => e.workspaceId === workspaceId);

  beforeAll(async () => {
    p = await startPlatform();
    const org = async (slug: string) =>
      (
        await p.sources.auth.query(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'T','eu','UTC') RETURNING id`, [
          `${slug}-${randomUUID().slice(0, 6)}`,
        ])
      )[0].id as string;
    orgId = await org('target');
    otherOrg = await org('other');
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
    const ws = async (slug: string, environment: string, as: Record<string, string>) => {
      const res = await gql<{ createWorkspace: { workspace: { id: string } } }>(
        `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
        { i: { name: slug, slug, environment } },
        as,
      );
      return res.body.data!.createWorkspace.workspace.id;
    };
    dev = await ws('dev', 'DEV', admin);
    prod = await ws('prod', 'PROD', admin);
    otherWs = await ws('dev', 'DEV', viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' })));
    await waitForWorkspaceRefs(p, [dev, prod, otherWs]);
    editor = viewerHeader(userViewer({ orgId, grants: [{ workspaceId: dev, role: 'EDITOR' }] }));
    viewer = viewerHeader(userViewer({ orgId, grants: [{ workspaceId: dev, role: 'VIEWER' }] }));
    outsider = viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' }));
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
  });

  it('offers at least 10 templates whose canonical types are all built-in ones and whose relationships name templates', async () => {
    const builtIn = new Set(BUILT_IN_CANONICAL_TYPES.map((t) => t.name));
    expect(TARGET_TEMPLATES.length).toBeGreaterThanOrEqual(10);
    for (const t of TARGET_TEMPLATES) {
      for (const c of t.columns) if (c.canonicalType) expect(`${t.name}.${c.name}: ${builtIn.has(c.canonicalType)}`).toBe(`${t.name}.${c.name}: true`);
      expect(t.columns.some((c) => c.primaryKey)).toBe(true);
      for (const r of t.relationships) {
        const to = TARGET_TEMPLATES.find((x) => x.name === r.toTemplate);
        expect(to).toBeDefined();
        for (const c of r.toColumns) expect(to!.columns.some((x) => x.name === c)).toBe(true);
        for (const c of r.columns) expect(t.columns.some((x) => x.name === c)).toBe(true);
      }
    }
    const res = await gql<{ targetTemplates: Array<{ name: string; label: string; columns: Column[] }> }>(
      `{ targetTemplates { name label description columns { name dataType canonicalType primaryKey order } relationships { columns toTemplate toColumns } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.targetTemplates.map((t) => t.name)).toEqual(
      expect.arrayContaining(['customers', 'orders', 'order_lines', 'products', 'invoices', 'payments', 'events', 'campaigns', 'subscriptions', 'employees']),
    );
  });

  it('creates tables from templates, with the foreign keys between them, a version each and the changed event', async () => {
    const orders = await create({ workspaceId: dev, fromTemplate: 'orders' });
    expect(orders.errors).toEqual([]);
    expect(orders.schemaVersion).toBe(1);
    expect(orders.table!.relationships).toEqual([]); // no customers table yet
    const customers = await create({ workspaceId: dev, fromTemplate: 'customers' }, editor);
    expect(customers.errors).toEqual([]);
    expect(customers.schemaVersion).toBe(2);
    expect(customers.table!.name).toBe('customers');
    expect(customers.table!.primaryKey).toEqual(['id']);
    expect(customers.table!.columns.find((c) => c.name === 'email')).toMatchObject({ dataType: 'text', canonicalType: 'email', order: 2 });
    expect(customers.table!.referencedBy).toEqual([{ name: 'orders_customer_id_fkey', fromTable: { name: 'orders' } }]);
    const [o] = (await tables(dev)).filter((t) => t.name === 'orders');
    expect(o!.relationships).toMatchObject([
      { name: 'orders_customer_id_fkey', fromColumns: ['customer_id'], toTable: { name: 'customers' }, toColumns: ['id'] },
    ]);

    const events = await changedEvents(dev);
    expect(events.map((e) => e.version)).toEqual([1, 2]);
    expect(events[1]).toMatchObject({ orgId, workspaceId: dev, actor: { kind: 'user' } });
    expect(events[1]!.document.tables.map((t) => t.name)).toEqual(['orders', 'customers']);
    expect(events[1]!.tableIds).toEqual({ orders: o!.id, customers: customers.table!.id });
    expect(events[1]!.document.relationships).toEqual([
      { name: 'orders_customer_id_fkey', fromTable: 'orders', fromColumns: ['customer_id'], toTable: 'customers', toColumns: ['id'] },
    ]);
  });

  it('reports every problem of a table per field and changes nothing', async () => {
    const before = await state();
    const bad = await create({
      workspaceId: dev,
      name: 'Customers_2',
      columns: [
        { name: 'id', dataType: 'bigint', primaryKey: true, nullable: true },
        { name: 'select', dataType: 'text' },
        { name: 'email', dataType: 'text', canonicalType: 'no_such_type' },
        { name: 'EMAIL2', dataType: 'text' },
        { name: 'email', dataType: 'string' },
        { name: 'x'.repeat(64), dataType: 'varchar(0)' },
      ],
    });
    expect(bad.table).toBeNull();
    expect(bad.errors.map((e) => [e.code, e.field])).toEqual([
      ['NAME_INVALID', 'name'],
      ['PRIMARY_KEY_NULLABLE', 'columns.0.nullable'],
      ['NAME_RESERVED', 'columns.1.name'],
      ['CANONICAL_TYPE_NOT_FOUND', 'columns.2.canonicalType'],
      ['NAME_INVALID', 'columns.3.name'],
      ['NAME_TAKEN', 'columns.4.name'],
      ['DATA_TYPE_INVALID', 'columns.4.dataType'],
      ['NAME_INVALID', 'columns.5.name'],
      ['DATA_TYPE_INVALID', 'columns.5.dataType'],
    ]);
    expect((await create({ workspaceId: dev, name: 'order', columns: [{ name: 'id', dataType: 'text' }] })).errors.map((e) => [e.code, e.field])).toEqual([
      ['NAME_RESERVED', 'name'],
    ]);
    expect((await create({ workspaceId: dev, name: 'empty', columns: [] })).errors.map((e) => [e.code, e.field])).toEqual([['COLUMNS_EMPTY', 'columns']]);
    // Table names are unique case-insensitively; the stored ones are lower case, so a clash comes as CUSTOMERS → NAME_INVALID, customers → NAME_TAKEN.
    expect((await create({ workspaceId: dev, name: 'customers', columns: [{ name: 'id', dataType: 'text' }] })).errors.map((e) => [e.code, e.field])).toEqual([
      ['NAME_TAKEN', 'name'],
    ]);
    expect((await create({ workspaceId: dev, fromTemplate: 'nope' })).errors.map((e) => e.code)).toEqual(['TEMPLATE_NOT_FOUND']);
    expect(await state()).toEqual(before);
  });

  it('edits the column list in one call (add, rename, reorder, change), keeps relationships on renamed columns, and diffs versions', async () => {
    const [orders] = (await tables(dev)).filter((t) => t.name === 'orders');
    const cols = orders!.columns.map(({ name, dataType, nullable, description, canonicalType, primaryKey }) => ({
      name,
      dataType,
      nullable,
      description,
      canonicalType,
      primaryKey,
    }));
    // Removing customer_id would break the relationship: refused, nothing changes.
    const before = await state();
    const broken = await update({ id: orders!.id, columns: cols.filter((c) => c.name !== 'customer_id') });
    expect(broken.errors.map((e) => [e.code, e.field])).toEqual([['COLUMN_NOT_FOUND', 'columns']]);
    expect(await state()).toEqual(before);

    const next = [
      { ...cols.find((c) => c.name === 'id')! },
      { ...cols.find((c) => c.name === 'customer_id')!, name: 'buyer_id', previousName: 'customer_id' },
      { ...cols.find((c) => c.name === 'total_amount')!, dataType: 'numeric(12,2)' },
      ...cols.filter((c) => !['id', 'customer_id', 'total_amount', 'updated_at'].includes(c.name)),
      { name: 'channel', dataType: 'text', description: 'Where the order came from.' },
    ];
    const r = await update({ id: orders!.id, name: 'sales_orders', description: 'Orders, one row each.', columns: next });
    expect(r.errors).toEqual([]);
    expect(r.schemaVersion).toBe(3);
    expect(r.table!.name).toBe('sales_orders');
    expect(r.table!.version).toBe(2);
    expect(r.table!.columns.map((c) => c.name)).toEqual(next.map((c) => c.name));
    expect(r.table!.relationships).toMatchObject([{ name: 'orders_customer_id_fkey', fromColumns: ['buyer_id'], toTable: { name: 'customers' } }]);

    const diff = await gql<{ targetSchemaDiff: Record<string, unknown> }>(
      `query($w: ID!){ targetSchemaDiff(workspaceId: $w, fromVersion: 2, toVersion: 3) {
        fromVersion toVersion addedTables removedTables
        changedTables { name previousName changes { property before after } addedColumns removedColumns changedColumns { name changes { property before after } } }
        addedRelationships removedRelationships changedRelationships { name changes { property before after } } } }`,
      { w: dev },
    );
    expect(diff.body.errors).toBeUndefined();
    const d = diff.body.data!.targetSchemaDiff as {
      addedTables: string[];
      removedTables: string[];
      changedTables: Array<{
        name: string;
        previousName: string;
        changes: unknown[];
        addedColumns: string[];
        removedColumns: string[];
        changedColumns: unknown[];
      }>;
      changedRelationships: unknown[];
    };
    expect(d.addedTables).toEqual([]);
    expect(d.removedTables).toEqual([]);
    expect(d.changedTables).toHaveLength(1);
    const t = d.changedTables[0]!;
    expect(t).toMatchObject({
      name: 'sales_orders',
      previousName: 'orders',
      addedColumns: ['buyer_id', 'channel'],
      removedColumns: ['customer_id', 'updated_at'],
    });
    expect(t.changes).toEqual([
      { property: 'name', before: 'orders', after: 'sales_orders' },
      { property: 'description', before: 'Purchases by customers, one row per order.', after: 'Orders, one row each.' },
    ]);
    expect(t.changedColumns).toContainEqual({
      name: 'total_amount',
      changes: [
        { property: 'dataType', before: 'numeric(18,2)', after: 'numeric(12,2)' },
        { property: 'order', before: '4', after: '3' },
      ],
    });
    expect(d.changedRelationships).toEqual([
      { name: 'orders_customer_id_fkey', changes: [
        { property: 'fromTable', before: 'orders', after: 'sales_orders' },
        { property: 'fromColumns', before: 'customer_id', after: 'buyer_id' },
      ] },
    ]); // prettier-ignore

    const versions = await gql<{
      targetSchemaVersions: {
        nodes: Array<{ version: number; summary: string; authorKind: string; authorId: string }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(
      `query($w: ID!, $a: String){ targetSchemaVersions(workspaceId: $w, first: 2, after: $a) { nodes { version summary authorKind authorId tableCount } pageInfo { hasNextPage endCursor } } }`,
      { w: dev },
    );
    expect(versions.body.errors).toBeUndefined();
    const page = versions.body.data!.targetSchemaVersions;
    expect(page.nodes.map((v) => v.version)).toEqual([3, 2]);
    expect(page.nodes[0]!.summary).toContain('changed table sales_orders (renamed from orders');
    expect(page.nodes[1]!.summary).toBe('added table customers; added relationship orders_customer_id_fkey');
    expect(page.nodes[0]!.authorKind).toBe('USER');
    expect(page.pageInfo.hasNextPage).toBe(true);
    const rest = await gql<{ targetSchemaVersions: { nodes: Array<{ version: number; summary: string }> } }>(
      `query($w: ID!, $a: String){ targetSchemaVersions(workspaceId: $w, first: 2, after: $a) { nodes { version summary } } }`,
      { w: dev, a: page.pageInfo.endCursor },
    );
    expect(rest.body.data!.targetSchemaVersions.nodes).toEqual([{ version: 1, summary: 'added table orders' }]);
  });

  it('checks relationships (missing tables, columns, counts) and deletes them and tables', async () => {
    const all = await tables(dev);
    const customers = all.find((t) => t.name === 'customers')!;
    const orders = all.find((t) => t.name === 'sales_orders')!;
    const rel = async (input: Record<string, unknown>) => {
      const res = await gql<{ createTargetRelationship: { relationship: { id: string; name: string } | null; errors: Err[] } }>(
        `mutation($i: CreateTargetRelationshipInput!){ createTargetRelationship(input: $i) { relationship { id name } schemaVersion errors { code field message } } }`,
        { i: input },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.createTargetRelationship;
    };
    const before = await state();
    expect(
      (await rel({ fromTableId: orders.id, fromColumns: ['nope'], toTableId: customers.id, toColumns: ['id'] })).errors.map((e) => [e.code, e.field]),
    ).toEqual([['COLUMN_NOT_FOUND', 'fromColumns.0']]);
    expect(
      (await rel({ fromTableId: orders.id, fromColumns: ['buyer_id', 'currency'], toTableId: customers.id, toColumns: ['id'] })).errors.map((e) => [
        e.code,
        e.field,
      ]),
    ).toEqual([['RELATIONSHIP_COLUMNS_MISMATCH', 'toColumns']]);
    expect((await rel({ fromTableId: orders.id, fromColumns: ['buyer_id'], toTableId: randomUUID(), toColumns: ['id'] })).errors.map((e) => e.code)).toEqual([
      'TABLE_NOT_FOUND',
    ]);
    expect(await state()).toEqual(before);
    const ok = await rel({
      name: 'orders_country_fkey',
      fromTableId: orders.id,
      fromColumns: ['shipping_country'],
      toTableId: customers.id,
      toColumns: ['country'],
    });
    expect(ok.errors).toEqual([]);
    const del = await gql<{ deleteTargetRelationship: { deletedId: string; errors: Err[] } }>(
      `mutation($i: DeleteTargetRelationshipInput!){ deleteTargetRelationship(input: $i) { deletedId schemaVersion errors { code } } }`,
      { i: { id: ok.relationship!.id } },
    );
    expect(del.body.data!.deleteTargetRelationship).toMatchObject({ deletedId: ok.relationship!.id, errors: [] });
    // Deleting customers takes the relationship from orders along.
    const scratch = await create({ workspaceId: dev, fromTemplate: 'employees' });
    expect(scratch.table!.relationships.map((r) => r.name)).toEqual(['employees_manager_id_fkey']);
    const dt = await gql<{ deleteTargetTable: { deletedId: string; errors: Err[] } }>(
      `mutation($i: DeleteTargetTableInput!){ deleteTargetTable(input: $i) { deletedId schemaVersion errors { code } } }`,
      { i: { id: scratch.table!.id } },
    );
    expect(dt.body.data!.deleteTargetTable).toMatchObject({ deletedId: scratch.table!.id, errors: [] });
    expect((await tables(dev)).map((t) => t.name)).toEqual(['sales_orders', 'customers']);
  });

  it('exports schema.json canonically: export → import → export gives the same bytes', async () => {
    const first = (await exportJson(dev))!;
    expect(first.endsWith('}\n')).toBe(true);
    expect(first).toContain('\n  "tables": [\n');
    const parsed = JSON.parse(first);
    expect(Object.keys(parsed)).toEqual(['format', 'formatVersion', 'tables', 'relationships']);
    const ids = Object.fromEntries((await tables(dev)).map((t) => [t.name, t.id]));
    const r = await importJson(dev, first);
    expect(r.errors).toEqual([]);
    expect(await exportJson(dev)).toBe(first);
    // Tables of the same name keep their ids.
    expect(Object.fromEntries((await tables(dev)).map((t) => [t.name, t.id]))).toEqual(ids);
    // Into another workspace too, and an older version stays exportable.
    expect((await importJson(prod, first)).errors).toEqual([]);
    expect(await exportJson(prod)).toBe(first);
    expect(JSON.parse((await exportJson(dev, 1))!).tables.map((t: { name: string }) => t.name)).toEqual(['orders']);
    expect(await exportJson(dev, 999)).toBeNull();
  });

  it('a broken schema.json names every problem with its JSON path and changes nothing', async () => {
    const before = await state();
    const doc = {
      format: 'datalinx.target-schema',
      formatVersion: 1,
      tables: [
        { name: 'customers', columns: [{ name: 'id', dataType: 'text', nullable: false, primaryKey: true }] },
        { name: 'Customers', columns: [{ name: 'id', dataType: 'int', nullable: false }] },
        { name: 'user', columns: [] },
        {
          name: 'orders',
          columns: [
            { name: 'id', dataType: 'text', nullable: true, primaryKey: true },
            { name: 'c', dataType: 'text', nullable: true, canonicalType: 'nope' },
          ],
        },
      ],
      relationships: [
        { name: 'r1', fromTable: 'orders', fromColumns: ['c', 'x'], toTable: 'customers', toColumns: ['id'] },
        { name: 'r2', fromTable: 'orders', fromColumns: ['c'], toTable: 'ghost', toColumns: ['id'] },
      ],
    };
    const r = await importJson(dev, JSON.stringify(doc));
    expect(r.schemaVersion).toBeNull();
    expect(r.errors.map((e) => [e.code, e.field])).toEqual([
      ['NAME_INVALID', '$.tables[1].name'],
      ['NAME_TAKEN', '$.tables[1].name'],
      ['DATA_TYPE_INVALID', '$.tables[1].columns[0].dataType'],
      ['NAME_RESERVED', '$.tables[2].name'],
      ['COLUMNS_EMPTY', '$.tables[2].columns'],
      ['PRIMARY_KEY_NULLABLE', '$.tables[3].columns[0].nullable'],
      ['CANONICAL_TYPE_NOT_FOUND', '$.tables[3].columns[1].canonicalType'],
      ['COLUMN_NOT_FOUND', '$.relationships[0].fromColumns[1]'],
      ['RELATIONSHIP_COLUMNS_MISMATCH', '$.relationships[0].toColumns'],
      ['TABLE_NOT_FOUND', '$.relationships[1].toTable'],
    ]);
    const shape = await importJson(
      dev,
      JSON.stringify({ format: 'x', formatVersion: 1, tables: [{ name: 'a', columns: [{ name: 'b', nullable: 'yes' }] }], extra: 1 }),
    );
    expect(shape.errors.map((e) => [e.code, e.field])).toEqual([
      ['DOCUMENT_INVALID', '$.format'],
      ['DOCUMENT_INVALID', '$.tables[0].columns[0].dataType'],
      ['DOCUMENT_INVALID', '$.tables[0].columns[0].nullable'],
      ['DOCUMENT_INVALID', '$'],
    ]);
    expect((await importJson(dev, '{"format": ')).errors.map((e) => [e.code, e.field])).toEqual([['JSON_INVALID', 'json']]);
    expect(await state()).toEqual(before);
  });

  it('refuses a 20 MB file and a 10,000-table file before anything changes', async () => {
    const before = await state();
    const manager = new TargetSchemaManager(new TargetSchemaDao(p.app.schema), new CustomCanonicalTypeDao(p.app.schema), p.app.schema);
    const me = userViewer({ orgId, orgRole: 'ADMIN' });
    const huge = JSON.stringify({ format: 'datalinx.target-schema', formatVersion: 1, tables: [], relationships: [], pad: 'x'.repeat(20 * 1024 * 1024) });
    const r1 = await manager.importSchema(me, dev, huge);
    expect(r1.errors.map((e) => [e.code, e.field])).toEqual([['FILE_TOO_LARGE', 'json']]);
    const many = JSON.stringify({
      format: 'datalinx.target-schema',
      formatVersion: 1,
      tables: Array.from({ length: 10_000 }, (_, i) => ({ name: `t${i}`, columns: [] })),
      relationships: [],
    });
    expect(Buffer.byteLength(many)).toBeLessThan(TARGET_SCHEMA_LIMITS.fileBytes);
    const r2 = await manager.importSchema(me, dev, many);
    expect(r2.errors.map((e) => [e.code, e.field])).toEqual([['LIMIT_EXCEEDED', '$.tables']]);
    // Through the gateway the 20 MB request never reaches the subgraph.
    const res = await gql(`mutation($w: ID!, $j: String!){ importTargetSchema(workspaceId: $w, json: $j) { schemaVersion } }`, { w: dev, j: huge });
    expect(res.body.data?.importTargetSchema ?? null).toBeNull();
    expect(await state()).toEqual(before);
  }, 60_000);

  it('lets a VIEWER read but not write, and keeps other orgs out (not found, row-level security)', async () => {
    expect((await tables(dev, viewer)).map((t) => t.name)).toEqual(['sales_orders', 'customers']);
    const before = await state();
    const denied = await gql(
      `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { errors { code } } }`,
      { i: { workspaceId: dev, fromTemplate: 'products' } },
      viewer,
    );
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const [customers] = (await tables(dev)).filter((t) => t.name === 'customers');
    expect((await update({ id: customers!.id, description: 'mine' }, viewer)).errors.map((e) => e.code)).toEqual(['FORBIDDEN']);
    const imp = await gql(`mutation($w: ID!, $j: String!){ importTargetSchema(workspaceId: $w, json: $j) { schemaVersion } }`, { w: dev, j: '{}' }, viewer);
    expect(imp.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // Another org's admin: the workspace's tables are invisible, ids are not found, writes name no workspace of theirs.
    expect(await tables(dev, outsider)).toEqual([]);
    const one = await gql<{ targetTable: unknown }>(`query($id: ID!){ targetTable(id: $id) { id } }`, { id: customers!.id }, outsider);
    expect(one.body.data!.targetTable).toBeNull();
    expect((await update({ id: customers!.id, description: 'theirs' }, outsider)).errors.map((e) => e.code)).toEqual(['TABLE_NOT_FOUND']);
    expect((await create({ workspaceId: dev, fromTemplate: 'products' }, outsider)).errors.map((e) => e.code)).toEqual(['WORKSPACE_NOT_FOUND']);
    expect((await create({ workspaceId: otherWs, fromTemplate: 'products' })).errors.map((e) => e.code)).toEqual(['WORKSPACE_NOT_FOUND']);
    const exp = await gql<{ exportTargetSchema: string }>(`query($w: ID!){ exportTargetSchema(workspaceId: $w) }`, { w: dev }, outsider);
    expect(JSON.parse(exp.body.data!.exportTargetSchema).tables).toEqual([]);
    expect(await state()).toEqual(before);
    // Row-level security: the runtime role sees no row without a tenant, and only its org's with one.
    for (const t of ['target_table', 'target_column', 'target_relationship', 'target_schema_version', 'workspace_ref']) {
      expect((await p.app.schema.query(`SELECT count(*)::int AS n FROM schema.${t}`))[0].n).toBe(0);
      const n = await p.app.schema.transaction(async (em) => {
        await em.query(`SELECT set_config('app.current_org_id', $1, true)`, [otherOrg]);
        return (await em.query(`SELECT count(*)::int AS n FROM schema.${t} WHERE org_id <> $1`, [otherOrg]))[0].n;
      });
      expect(n).toBe(0);
    }
  });

  it("promoteWorkspace (dev → prod) with TARGET_SCHEMAS copies the target schema as a new version of prod's, once", async () => {
    await importJson(prod, (await exportJson(dev, 1))!);
    const source = (await exportJson(dev))!;
    type Promotion = {
      id: string;
      status: string;
      include: string[];
      partErrors: string[];
      items: Array<{ kind: string; name: string; targetId: string | null; outcome: string }>;
    };
    const FIELDS = `id status include partErrors items { kind name targetId outcome }`;
    const started = await gql<{ promoteWorkspace: { promotion: Promotion | null; errors: Err[] } }>(
      `mutation($i: PromoteWorkspaceInput!){ promoteWorkspace(input: $i) { promotion { ${FIELDS} } errors { code field message } } }`,
      { i: { fromWorkspaceId: dev, toWorkspaceId: prod, include: ['TARGET_SCHEMAS'] } },
    );
    expect(started.body.errors).toBeUndefined();
    expect(started.body.data!.promoteWorkspace.errors).toEqual([]);
    const id = started.body.data!.promoteWorkspace.promotion!.id;
    let report: Promotion | null = null;
    for (const deadline = Date.now() + 20_000; report?.status !== 'DONE';) {
      if (Date.now() > deadline) throw new Error(`promotion not DONE within 20 s: ${JSON.stringify(report)}`);
      await new Promise((r) => setTimeout(r, 100));
      report = (await gql<{ promotion: Promotion | null }>(`query($id: ID!){ promotion(id: $id) { ${FIELDS} } }`, { id })).body.data!.promotion;
    }
    expect(report!.include).toEqual(['TARGET_SCHEMAS']);
    expect(report!.partErrors).toEqual([]);
    const prodTables = await tables(prod);
    expect(report!.items.map((i) => [i.kind, i.name, i.outcome, i.targetId])).toEqual(prodTables.map((t) => ['TARGET_SCHEMA', t.name, 'COPIED', t.id]));
    expect(await exportJson(prod)).toBe(source);
    const [latest] = (await p.sources.schema.query(
      `SELECT summary, actor_kind FROM schema.target_schema_version WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1`,
      [prod],
    )) as Array<{ summary: string; actor_kind: string }>;
    expect(latest!.actor_kind).toBe('system');
    expect(latest!.summary).toMatch(new RegExp(`^promoted from workspace ${dev} \\(version \\d+\\): `));
    const events = await changedEvents(prod);
    expect(events[events.length - 1]!.actor).toEqual({ kind: 'system', id: null });

    // The same request again (a redelivery) copies nothing twice and answers once.
    const versions = async () =>
      (await p.sources.schema.query(`SELECT count(*)::int AS n FROM schema.target_schema_version WHERE workspace_id = $1`, [prod]))[0].n;
    const before = await versions();
    const req: PromotionRequestedV1 = {
      v: 1,
      promotionId: id,
      orgId,
      fromWorkspaceId: dev,
      toWorkspaceId: prod,
      include: ['TARGET_SCHEMAS'],
      requestedBy: randomUUID(),
    };
    await p.nats.js.publish(PROMOTION_REQUESTED_V1, JSON.stringify(req));
    await new Promise((r) => setTimeout(r, 1500));
    expect(await versions()).toBe(before);
    const answers = (await p.sources.schema.query(`SELECT payload FROM schema.outbox WHERE subject = 'schema.promotion.completed.v1'`))
      .map((r: { payload: unknown }) => promotionPartCompletedV1.parse(r.payload))
      .filter((a: { promotionId: string }) => a.promotionId === id);
    expect(answers).toHaveLength(1);
  });
});
