import { randomUUID } from 'node:crypto';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { gqlClient } from '../../../test/support/http';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../../test/support/connections';

/**
 * The workspace lifecycle through the real gateway and subgraph (real PostgreSQL, row-level
 * security, outbox): update, archive (read-only), soft delete (hidden, warehouse purge
 * dispatched), list filters, and who may do what. Warehouse jobs are only dispatched here; the
 * worker side is proven by warehouse.test.ts.
 */
describe('workspace lifecycle', () => {
  let p: Platform;
  let orgId: string;
  let admin: Record<string, string>;

  type Ws = { id: string; name: string; description: string; environment: string; archivedAt: string | null; updatedAt: string };
  const WS = `id name description environment archivedAt updatedAt`;
  const gql = gqlClient(() => p.gatewayUrl, { headers: () => admin });

  async function create(slug: string, environment = 'DEV'): Promise<string> {
    const res = await gql<{ createWorkspace: { workspace: { id: string } | null; errors: unknown[] } }>(
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
      { i: { name: `WS ${slug}`, slug, environment } },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.createWorkspace.errors).toEqual([]);
    return res.body.data!.createWorkspace.workspace!.id;
  }

  const list = async (args: string, as = admin) => {
    const res = await gql<{ workspaces: { nodes: Array<{ id: string }> } }>(`query { workspaces(first: 100${args}) { nodes { id } } }`, {}, as);
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.workspaces.nodes.map((n) => n.id);
  };

  beforeAll(async () => {
    p = await startPlatform();
    [{ id: orgId }] = await p.sources.auth.query(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Lifecycle','eu','UTC') RETURNING id`,
      [`life-${randomUUID().slice(0, 6)}`],
    );
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
  }, 120000);

  afterAll(async () => {
    await p?.stop();
  });

  it('creates the warehouse row and the provision job with the workspace, and never shows the password', async () => {
    const id = await create('with-warehouse');
    const res = await gql<{ workspace: { warehouse: Record<string, unknown> } }>(
      `query($id: ID!){ workspace(id: $id) { warehouse { mode status host port database schema role passwordSet connection { id } lastError } } }`,
      { id },
    );
    expect(res.body.errors).toBeUndefined();
    const hex = id.replace(/-/g, '').slice(0, 12);
    expect(res.body.data!.workspace.warehouse).toMatchObject({
      mode: 'PLATFORM',
      status: 'PENDING',
      schema: `ws_${hex}`,
      role: `dlx_ws_${hex}`,
      passwordSet: true,
      connection: null,
      lastError: null,
    });
    const [row] = await p.sources.workspace.query(`SELECT password_sealed, last_run_id FROM workspace.warehouse WHERE workspace_id = $1`, [id]);
    expect(row.password_sealed.kid).toBe('ws');
    const [job] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`jobs.warehouse.provision.${id}`]);
    expect(job.payload).toMatchObject({ kind: 'warehouse.provision', v: 1, runId: row.last_run_id, payload: { schema: `ws_${hex}`, role: `dlx_ws_${hex}` } });
    expect(job.payload.payload.password.alg).toBe('A256GCM');
    const [queued] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`runs.${id}.${row.last_run_id}`]);
    expect(queued.payload).toMatchObject({ state: 'QUEUED', kind: 'warehouse.provision', subjectId: id });
  });

  it('updates name, description and environment (org ADMIN), validating them', async () => {
    const id = await create('to-update');
    const ok = await gql<{ updateWorkspace: { workspace: Ws | null; errors: Array<{ code: string }> } }>(
      `mutation($id: ID!, $i: UpdateWorkspaceInput!){ updateWorkspace(id: $id, input: $i) { workspace { ${WS} } errors { code field } } }`,
      { id, i: { name: 'Renamed', description: 'Finance data', environment: 'PROD' } },
    );
    expect(ok.body.data?.updateWorkspace.errors).toEqual([]);
    expect(ok.body.data?.updateWorkspace.workspace).toMatchObject({ id, name: 'Renamed', description: 'Finance data', environment: 'PROD', archivedAt: null });
    const bad = await gql<{ updateWorkspace: { workspace: Ws | null; errors: Array<{ code: string; field: string }> } }>(
      `mutation($id: ID!){ updateWorkspace(id: $id, input: { name: "  " }) { workspace { id } errors { code field } } }`,
      { id },
    );
    expect(bad.body.data?.updateWorkspace).toEqual({ workspace: null, errors: [{ code: 'INVALID_NAME', field: 'name' }] });
    const [row] = await p.sources.workspace.query(`SELECT name FROM workspace.workspace WHERE id = $1`, [id]);
    expect(row.name).toBe('Renamed');
  });

  it('archives: readable, listed as archived, read-only (update and new connections refused) until unarchived', async () => {
    const id = await create('to-archive');
    // A scheduled pipeline, due now (planted directly), before the workspace is archived.
    const [{ id: duePipeline }] = await p.sources.workspace.query(
      `INSERT INTO workspace.pipeline (org_id, workspace_id, name, definition, schedule, time_zone, enabled, next_run_at)
       VALUES ($1, $2, 'due', '{"sources":[],"targets":[],"checks":[],"exports":[],"schemaDriftPolicy":"BLOCK"}', '* * * * *', 'UTC', true, now() - interval '1 minute') RETURNING id`,
      [orgId, id],
    );
    expect(
      ((await p.app.workspace.query(`SELECT pipeline_id FROM workspace.due_pipelines(1000)`)) as Array<{ pipeline_id: string }>).map((r) => r.pipeline_id),
    ).toContain(duePipeline);
    const arch = await gql<{ archiveWorkspace: { workspace: Ws; errors: unknown[] } }>(
      `mutation($id: ID!){ archiveWorkspace(id: $id) { workspace { ${WS} } errors { code } } }`,
      { id },
    );
    expect(arch.body.data?.archiveWorkspace.errors).toEqual([]);
    expect(arch.body.data?.archiveWorkspace.workspace.archivedAt).toEqual(expect.any(String));
    // Idempotent.
    const again = await gql<{ archiveWorkspace: { workspace: Ws; errors: unknown[] } }>(
      `mutation($id: ID!){ archiveWorkspace(id: $id) { workspace { ${WS} } errors { code } } }`,
      { id },
    );
    expect(again.body.data?.archiveWorkspace.workspace.archivedAt).toBe(arch.body.data?.archiveWorkspace.workspace.archivedAt);

    const upd = await gql<{ updateWorkspace: { errors: Array<{ code: string }> } }>(
      `mutation($id: ID!){ updateWorkspace(id: $id, input: { name: "X" }) { workspace { id } errors { code } } }`,
      { id },
    );
    expect(upd.body.data?.updateWorkspace.errors.map((e) => e.code)).toEqual(['WORKSPACE_ARCHIVED']);
    const conn = await gql<CreateConnectionResult>(CREATE_CONNECTION, { i: postgresConnectionInput({ workspaceId: id, name: 'src' }) });
    expect(conn.body.data?.createConnection.connection).toBeNull();
    expect(conn.body.data?.createConnection.errors.map((e) => e.code)).toEqual(['WORKSPACE_ARCHIVED']);
    const pipe = await gql<{ createPipeline: { pipeline: { id: string } | null; errors: Array<{ code: string }> } }>(
      `mutation($i: CreatePipelineInput!){ createPipeline(input: $i) { pipeline { id } errors { code } } }`,
      { i: { workspaceId: id, name: 'nightly', definition: { sources: [] } } },
    );
    expect(pipe.body.data?.createPipeline).toEqual({ pipeline: null, errors: [{ code: 'WORKSPACE_ARCHIVED' }] });
    const [{ n }] = await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.connection WHERE workspace_id = $1`, [id]);
    expect(n).toBe(0);
    // Paused: a pipeline that was due when the workspace was archived is not handed to the scheduler.
    const due = (await p.app.workspace.query(`SELECT pipeline_id FROM workspace.due_pipelines(1000)`)) as Array<{ pipeline_id: string }>;
    expect(due.map((r) => r.pipeline_id)).not.toContain(duePipeline);
    // Still readable.
    const read = await gql<{ workspace: Ws | null }>(`query($id: ID!){ workspace(id: $id) { ${WS} } }`, { id });
    expect(read.body.data?.workspace?.id).toBe(id);

    expect(await list(', archived: true')).toContain(id);
    expect(await list(', archived: false')).not.toContain(id);

    const un = await gql<{ unarchiveWorkspace: { workspace: Ws; errors: unknown[] } }>(
      `mutation($id: ID!){ unarchiveWorkspace(id: $id) { workspace { ${WS} } errors { code } } }`,
      { id },
    );
    expect(un.body.data?.unarchiveWorkspace.workspace.archivedAt).toBeNull();
    const conn2 = await gql<CreateConnectionResult>(CREATE_CONNECTION, { i: postgresConnectionInput({ workspaceId: id, name: 'src' }) });
    expect(conn2.body.data?.createConnection.errors).toEqual([]);
  });

  it('filters the list by environment and archived state', async () => {
    const prod = await create('prod-one', 'PROD');
    const staging = await create('staging-one', 'STAGING');
    const prodIds = await list(', environment: PROD');
    expect(prodIds).toContain(prod);
    expect(prodIds).not.toContain(staging);
    expect(await list(', environment: STAGING, archived: false')).toEqual([staging]);
  });

  it('soft-deletes (org ADMIN only): hidden from lookups and lists, warehouse purge dispatched, slug free again', async () => {
    const id = await create('to-delete');
    // A MEMBER with an EDITOR grant may not delete (nor archive or update).
    const member = viewerHeader(userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: id, role: 'EDITOR' }] }));
    for (const m of [
      `deleteWorkspace(id: $id) { workspaceId }`,
      `archiveWorkspace(id: $id) { workspace { id } }`,
      `updateWorkspace(id: $id, input: { name: "M" }) { workspace { id } }`,
    ]) {
      const res = await gql<unknown>(`mutation($id: ID!){ ${m} }`, { id }, member);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await list('', member)).toEqual([id]);

    const del = await gql<{ deleteWorkspace: { workspaceId: string; purgeRunId: string; errors: unknown[] } }>(
      `mutation($id: ID!){ deleteWorkspace(id: $id) { workspaceId purgeRunId errors { code } } }`,
      { id },
    );
    expect(del.body.data?.deleteWorkspace).toMatchObject({ workspaceId: id, purgeRunId: expect.any(String), errors: [] });
    const read = await gql<{ workspace: Ws | null }>(`query($id: ID!){ workspace(id: $id) { id } }`, { id });
    expect(read.body.data?.workspace).toBeNull();
    expect(await list('')).not.toContain(id);
    expect(await list('', member)).toEqual([]);
    const [row] = await p.sources.workspace.query(
      `SELECT w.deleted_at, h.last_run_id, h.status FROM workspace.workspace w JOIN workspace.warehouse h ON h.workspace_id = w.id WHERE w.id = $1`,
      [id],
    );
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect(row.last_run_id).toBe(del.body.data?.deleteWorkspace.purgeRunId);
    const [job] = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE subject = $1`, [`jobs.warehouse.purge.${id}`]);
    expect(job.payload).toMatchObject({ kind: 'warehouse.purge', runId: row.last_run_id });
    // Deleting again: not found; every lifecycle change: not found.
    const again = await gql<{ deleteWorkspace: { errors: Array<{ code: string }> } }>(
      `mutation($id: ID!){ deleteWorkspace(id: $id) { workspaceId errors { code } } }`,
      { id },
    );
    expect(again.body.data?.deleteWorkspace.errors.map((e) => e.code)).toEqual(['WORKSPACE_NOT_FOUND']);
    const un = await gql<{ unarchiveWorkspace: { errors: Array<{ code: string }> } }>(
      `mutation($id: ID!){ unarchiveWorkspace(id: $id) { workspace { id } errors { code } } }`,
      { id },
    );
    expect(un.body.data?.unarchiveWorkspace.errors.map((e) => e.code)).toEqual(['WORKSPACE_NOT_FOUND']);
    // The slug can be used again.
    const reuse = await create('to-delete');
    expect(reuse).not.toBe(id);
  });
});
