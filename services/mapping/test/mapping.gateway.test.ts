import { randomUUID } from 'node:crypto';
import {
  MAPPING_DRIFT_DETECTED_V1,
  SOURCE_SNAPSHOT_CREATED_V1,
  sourceSnapshotCreatedParts,
  stagingModelName,
  type SnapshotTableRef,
} from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';
import { startPlatform, viewerHeader, waitForWorkspaceRefs, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { gqlClient } from '../../../test/support/http';

/**
 * Mappings through the real gateway and subgraphs: the target table is created with the schema
 * service's GraphQL (its `schema.target_schema.changed.v1` reaches the mapping service's replica
 * through the outbox relay and EVENTS), the source snapshot arrives as the schema service's event,
 * and the mapping is read back through `TargetTable.mapping` (a federated join), compiled into the
 * workspace's dbt project, and broken by drift.
 */
describe('mappings through the gateway', () => {
  let p: Platform;
  let admin: Record<string, string>;
  let reader: Record<string, string>;
  let ws: string;
  let tableId: string;
  const conn = randomUUID();
  const gql = gqlClient(() => p.gatewayUrl, { headers: () => admin });
  type Payload = {
    mapping: { id: string; version: number; sql: string | null; fields: Array<{ column: string; state: string; reason: string | null }> } | null;
    errors: Array<{ code: string; field: string | null }>;
  };
  const MAPPING = `id version sql fields { column state reason }`;

  const customers: SnapshotTableRef = {
    schema: 'crm',
    name: 'customers',
    kind: 'TABLE',
    columns: [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'email', type: 'text', nullable: true },
    ],
    primaryKey: ['id'],
  };
  const orders: SnapshotTableRef = {
    schema: 'crm',
    name: 'orders',
    kind: 'TABLE',
    columns: [
      { name: 'id', type: 'integer', nullable: false },
      { name: 'customer_id', type: 'integer', nullable: false },
      { name: 'amount', type: 'numeric', nullable: true },
    ],
    primaryKey: ['id'],
  };

  const until = async (what: string, ok: () => Promise<boolean>) => {
    for (const deadline = Date.now() + 20_000; !(await ok());) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen in 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** A connection's next source snapshot, as the schema service publishes it (in parts). */
  const snapshot = async (orgId: string, version: number, tables: SnapshotTableRef[]) => {
    const snapshotId = randomUUID();
    const base = { orgId, workspaceId: ws, connectionId: conn, snapshotId, version, runId: randomUUID(), createdAt: new Date().toISOString() };
    for (const part of sourceSnapshotCreatedParts(base, tables, 300))
      await p.nats.js.publish(SOURCE_SNAPSHOT_CREATED_V1, encodeJson(part), { msgID: randomUUID() });
    await until(
      `snapshot v${version} in the mapping replica`,
      async () =>
        (await p.sources.mapping.query(`SELECT 1 FROM mapping.source_snapshot_ref WHERE connection_id = $1 AND version = $2 AND complete`, [conn, version]))
          .length > 0,
    );
    return snapshotId;
  };
  let orgId: string;

  beforeAll(async () => {
    p = await startPlatform();
    [{ id: orgId }] = await p.sources.auth.query(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Maps','eu','UTC') RETURNING id`, [
      `maps-${randomUUID().slice(0, 6)}`,
    ]);
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
    const res = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      { i: { name: 'Maps', slug: 'maps', environment: 'DEV' } },
    );
    ws = res.body.data!.createWorkspace.workspace.id;
    reader = viewerHeader(userViewer({ orgId, grants: [{ workspaceId: ws, role: 'VIEWER' }] }));
    await waitForWorkspaceRefs(p, [ws]);
  }, 120_000);

  afterAll(async () => {
    await p?.stop();
  });

  it('maps a target table created through the schema service, and reads it back through TargetTable.mapping', async () => {
    const created = await gql<{ createTargetTable: { table: { id: string } | null; errors: unknown[] } }>(
      `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { table { id } errors { code field message } } }`,
      {
        i: {
          workspaceId: ws,
          name: 'dim_customer',
          columns: [
            { name: 'customer_id', dataType: 'bigint', nullable: false, primaryKey: true },
            { name: 'email', dataType: 'text', nullable: true, canonicalType: 'email' },
            { name: 'spend', dataType: 'numeric(12,2)', nullable: true },
          ],
        },
      },
    );
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data!.createTargetTable.errors).toEqual([]);
    tableId = created.body.data!.createTargetTable.table!.id;
    await until('the target schema in the mapping replica', async () => {
      const rows: Array<{ ids: Record<string, string> }> = await p.sources.mapping.query(
        `SELECT table_ids AS ids FROM mapping.target_schema_ref WHERE workspace_id = $1`,
        [ws],
      );
      return rows[0]?.ids.dim_customer === tableId;
    });
    await snapshot(orgId, 1, [customers, orders]);

    const create = await gql<{ createMapping: Payload }>(
      `mutation($i: CreateMappingInput!){ createMapping(input: $i) { mapping { ${MAPPING} } errors { code field } } }`,
      { i: { workspaceId: ws, targetTableId: tableId } },
    );
    expect(create.body.data!.createMapping.errors).toEqual([]);
    const id = create.body.data!.createMapping.mapping!.id;

    const update = await gql<{ updateMapping: Payload }>(
      `mutation($i: UpdateMappingInput!){ updateMapping(input: $i) { mapping { ${MAPPING} } errors { code field } } }`,
      {
        i: {
          id,
          expectedVersion: 1,
          sources: [
            { alias: 'c', connectionId: conn, schema: 'crm', table: 'customers' },
            { alias: 's', cte: 'spend' },
          ],
          ctes: [{ name: 'spend', sql: 'SELECT customer_id, sum(amount) AS total FROM crm.orders GROUP BY customer_id' }],
          joins: [{ alias: 's', type: 'LEFT', on: [{ leftAlias: 'c', leftColumn: 'id', rightColumn: 'customer_id' }] }],
          fields: [
            { column: 'customer_id', mapping: { kind: 'DIRECT', source: 'c', column: 'id' } },
            { column: 'email', mapping: { kind: 'DECORATED', source: 'c', column: 'email', decorators: [{ kind: 'CANONICALIZE' }] } },
            { column: 'spend', mapping: { kind: 'EXPRESSION', expression: 'coalesce(s.total, 0)' } },
          ],
          wildcards: [],
        },
      },
    );
    expect(update.body.data!.updateMapping.errors).toEqual([]);
    expect(update.body.data!.updateMapping.mapping!.fields.map((f) => [f.state, f.reason])).toEqual([
      ['MAPPED', null],
      ['MAPPED', null],
      ['MAPPED', null],
    ]);

    // One request across both subgraphs: the table from the schema service, its mapping from this one.
    const joined = await gql<{
      targetTable: {
        name: string;
        mapping: { id: string; version: number; lineage: Array<{ column: string; sources: Array<{ table: string; column: string }> }> };
      };
    }>(`query($id: ID!){ targetTable(id: $id) { name mapping { id version lineage { column sources { table column } } } } }`, { id: tableId }, reader);
    expect(joined.body.errors).toBeUndefined();
    expect(joined.body.data!.targetTable).toEqual({
      name: 'dim_customer',
      mapping: {
        id,
        version: 2,
        lineage: [
          { column: 'customer_id', sources: [{ table: 'customers', column: 'id' }] },
          { column: 'email', sources: [{ table: 'customers', column: 'email' }] },
          { column: 'spend', sources: [{ table: 'orders', column: 'amount' }] },
        ],
      },
    });

    // The workspace's dbt project has the model, reading the staging models it refs.
    const project = await gql<{ workspaceDbtProject: { files: Array<{ path: string; content: string; digest: string }> } }>(
      `query($ws: ID!){ workspaceDbtProject(workspaceId: $ws) { files { path content digest } } }`,
      { ws },
      reader,
    );
    expect(project.body.errors).toBeUndefined();
    const files = project.body.data!.workspaceDbtProject.files;
    const model = files.find((f) => f.path === 'models/marts/dim_customer.sql');
    expect(model?.content).toContain(`{{ ref('${stagingModelName({ connectionId: conn, schema: 'crm', name: 'orders' })}') }}`);
    expect(files.map((f) => f.path)).toContain(`models/staging/${stagingModelName({ connectionId: conn, schema: 'crm', name: 'customers' })}.sql`);

    // A workspace viewer reads but cannot write: a payload FORBIDDEN, nothing written.
    const denied = await gql<{ setFieldMapping: Payload }>(
      `mutation($i: SetFieldMappingInput!){ setFieldMapping(input: $i) { mapping { id } errors { code field } } }`,
      { i: { id, expectedVersion: 2, targetColumn: 'spend', mapping: null } },
      reader,
    );
    expect(denied.body.data!.setFieldMapping).toEqual({ mapping: null, errors: [{ code: 'FORBIDDEN', field: 'id' }] });

    // Drift: the next snapshot drops orders.amount, which the CTE reads.
    const snapshotId = await snapshot(orgId, 2, [customers, { ...orders, columns: orders.columns.filter((c) => c.name !== 'amount') }]);
    const after = await gql<{ mapping: NonNullable<Payload['mapping']> }>(`query($id: ID!){ mapping(id: $id) { ${MAPPING} } }`, { id }, reader);
    expect(after.body.data!.mapping.fields.find((f) => f.column === 'spend')).toEqual({
      column: 'spend',
      state: 'ERROR',
      reason: 'source column crm.orders.amount was removed in snapshot v2',
    });
    expect(after.body.data!.mapping.sql).toBeNull();
    // Its event went out through the outbox relay.
    await until('the drift event sent', async () => {
      const rows = await p.sources.mapping.query(`SELECT 1 FROM mapping.outbox WHERE subject = $1 AND payload->>'snapshotId' = $2 AND sent_at IS NOT NULL`, [
        MAPPING_DRIFT_DETECTED_V1,
        snapshotId,
      ]);
      return rows.length === 1;
    });
  });

  it("canonicalizes to the organization's own canonical type (its built-in's normalizer narrowed by its pattern), and the dbt project tests its pattern", async () => {
    const type = await gql<{ createCanonicalType: { errors: unknown[] } }>(
      `mutation($i: CreateCanonicalTypeInput!){ createCanonicalType(input: $i) { errors { code field message } } }`,
      { i: { name: 'work_email', label: 'Work e-mail', parent: 'email', pattern: '^[^@]+@acme\\.example$', examples: ['Ada@Acme.example'] } },
    );
    expect(type.body.errors).toBeUndefined();
    expect(type.body.data!.createCanonicalType.errors).toEqual([]);
    await until('the custom type in the mapping replica', async () => {
      const rows = await p.sources.mapping.query(`SELECT 1 FROM mapping.canonical_type_ref WHERE org_id = $1 AND name = 'work_email'`, [orgId]);
      return rows.length === 1;
    });
    const created = await gql<{ createTargetTable: { table: { id: string } | null; errors: unknown[] } }>(
      `mutation($i: CreateTargetTableInput!){ createTargetTable(input: $i) { table { id } errors { code field message } } }`,
      {
        i: {
          workspaceId: ws,
          name: 'staff',
          columns: [
            { name: 'staff_id', dataType: 'bigint', nullable: false, primaryKey: true },
            { name: 'email', dataType: 'text', nullable: true, canonicalType: 'work_email' },
          ],
        },
      },
    );
    expect(created.body.data!.createTargetTable.errors).toEqual([]);
    const staffTable = created.body.data!.createTargetTable.table!.id;
    await until('the staff table in the mapping replica', async () => {
      const rows: Array<{ ids: Record<string, string> }> = await p.sources.mapping.query(
        `SELECT table_ids AS ids FROM mapping.target_schema_ref WHERE workspace_id = $1`,
        [ws],
      );
      return rows[0]?.ids.staff === staffTable;
    });
    const create = await gql<{ createMapping: Payload }>(
      `mutation($i: CreateMappingInput!){ createMapping(input: $i) { mapping { ${MAPPING} } errors { code field } } }`,
      { i: { workspaceId: ws, targetTableId: staffTable } },
    );
    const id = create.body.data!.createMapping.mapping!.id;
    const update = await gql<{ updateMapping: Payload }>(
      `mutation($i: UpdateMappingInput!){ updateMapping(input: $i) { mapping { ${MAPPING} } errors { code field } } }`,
      {
        i: {
          id,
          expectedVersion: 1,
          sources: [{ alias: 'c', connectionId: conn, schema: 'crm', table: 'customers' }],
          joins: [],
          ctes: [],
          wildcards: [],
          fields: [
            { column: 'staff_id', mapping: { kind: 'DIRECT', source: 'c', column: 'id' } },
            { column: 'email', mapping: { kind: 'DECORATED', source: 'c', column: 'email', decorators: [{ kind: 'CANONICALIZE' }] } },
          ],
        },
      },
    );
    expect(update.body.data!.updateMapping.errors).toEqual([]);
    const m = update.body.data!.updateMapping.mapping!;
    expect(m.fields.map((f) => [f.column, f.state, f.reason])).toEqual([
      ['staff_id', 'MAPPED', null],
      ['email', 'MAPPED', null],
    ]);
    // The built-in's normalizer (lower-cased, trimmed), then the organization's pattern as a gate.
    expect(m.sql).toContain('lower(btrim(');
    expect(m.sql).toContain('acme');
    const project = await gql<{ workspaceDbtProject: { files: Array<{ path: string; content: string }> } }>(
      `query($ws: ID!){ workspaceDbtProject(workspaceId: $ws) { files { path content } } }`,
      { ws },
    );
    expect(project.body.errors).toBeUndefined();
    const files = project.body.data!.workspaceDbtProject.files;
    expect(files.find((f) => f.path === 'models/marts/schema.yml')?.content).toContain('work_email');
    expect(files.find((f) => f.path === 'macros/dlx_canonical_patterns.sql')?.content).toContain('acme');
    // The published project (file storage) has the model too.
    await until('the dbt project with the staff model published', async () => {
      const [row] = await p.sources.mapping.query(`SELECT models FROM mapping.dbt_project WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1`, [ws]);
      return Boolean(row?.models.includes('staff'));
    });
  });
});
