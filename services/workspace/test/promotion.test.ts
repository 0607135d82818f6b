import { randomUUID } from 'node:crypto';
import { startPlatform, viewerHeader, waitForWorkspaceRefs, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { gqlClient } from '../../../test/support/http';

/**
 * Promoting a workspace's configuration (dev → prod) through the real gateway and the real
 * subgraphs: the workspace service copies connections (never their secrets) and pipelines
 * (paused, pointed at the copies) at once; the mapping service copies the mappings when it sees
 * the request on EVENTS and its answer is merged into the same report, which says per item what
 * was copied, what needs attention and what was skipped.
 */
describe('workspace promotion', () => {
  let p: Platform;
  let orgId: string;
  let admin: Record<string, string>;
  let dev: string;
  let prod: string;

  type Item = { kind: string; name: string; sourceId: string; targetId: string | null; outcome: string; note: string | null };
  type Promotion = {
    id: string;
    status: string;
    include: string[];
    pendingParts: string[];
    partErrors: string[];
    items: Item[];
    fromWorkspace: { id: string } | null;
    toWorkspace: { id: string };
    completedAt: string | null;
  };
  const PROMOTION = `id status include pendingParts partErrors items { kind name sourceId targetId outcome note } fromWorkspace { id } toWorkspace { id } completedAt`;
  const gql = gqlClient(() => p.gatewayUrl, { headers: () => admin });
  const ok = async <T>(query: string, variables: Record<string, unknown>, field: string, as = admin): Promise<T> => {
    const res = await gql<Record<string, T & { errors: unknown[] }>>(query, variables, as);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data![field]!.errors).toEqual([]);
    return res.body.data![field]!;
  };
  const promote = (input: Record<string, unknown>, as = admin) =>
    gql<{ promoteWorkspace: { promotion: Promotion | null; errors: Array<{ code: string; field: string | null; message: string }> } }>(
      `mutation($i: PromoteWorkspaceInput!){ promoteWorkspace(input: $i) { promotion { ${PROMOTION} } errors { code field message } } }`,
      { i: input },
      as,
    );
  const done = async (id: string): Promise<Promotion> => {
    for (const deadline = Date.now() + 20_000; ;) {
      const res = await gql<{ promotion: Promotion | null }>(`query($id: ID!){ promotion(id: $id) { ${PROMOTION} } }`, { id });
      const got = res.body.data?.promotion;
      if (got?.status === 'DONE') return got;
      if (Date.now() > deadline) throw new Error(`promotion ${id} not DONE within 20 s: ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    p = await startPlatform();
    [{ id: orgId }] = await p.sources.auth.query(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Promo','eu','UTC') RETURNING id`, [
      `promo-${randomUUID().slice(0, 6)}`,
    ]);
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
    const ws = async (slug: string, environment: string) =>
      (
        await ok<{ workspace: { id: string } }>(
          `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`,
          { i: { name: slug, slug, environment } },
          'createWorkspace',
        )
      ).workspace.id;
    dev = await ws('dev', 'DEV');
    prod = await ws('prod', 'PROD');
    await waitForWorkspaceRefs(p, [dev, prod]);
  }, 120000);

  afterAll(async () => {
    await p?.stop();
  });

  it('copies connections without secrets, pipelines paused and re-pointed, and mappings, with a report', async () => {
    const conn = async (workspaceId: string, input: Record<string, unknown>) =>
      (
        await ok<{ connection: { id: string } }>(
          `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code field message } } }`,
          { i: { workspaceId, ...input } },
          'createConnection',
        )
      ).connection.id;
    const warehouse = await conn(dev, {
      name: 'Warehouse',
      kind: 'SOURCE',
      type: 'POSTGRES',
      postgres: { host: 'db.dev.internal', database: 'sales', user: 'etl' },
      secrets: { password: 'dev-secret-pw-9' },
    });
    const api = await conn(dev, { name: 'Public API', kind: 'SOURCE', type: 'REST_API', restApi: { baseUrl: 'https://api.example.com/v1', auth: 'NONE' } });
    const exportTo = await conn(dev, {
      name: 'Exports',
      kind: 'DESTINATION',
      type: 'POSTGRES',
      postgres: { host: 'db.dev.internal', database: 'out', user: 'etl' },
      secrets: { password: 'x-secret-2' },
    });
    // Prod already has a connection named "exports" (names compare case-insensitively): it stays, and promoted pipelines use it.
    const prodExports = await conn(prod, {
      name: 'exports',
      kind: 'DESTINATION',
      type: 'POSTGRES',
      postgres: { host: 'db.prod.internal', database: 'out', user: 'etl' },
      secrets: { password: 'prod-pw-1' },
    });
    const pipe = await ok<{ pipeline: { id: string } }>(
      `mutation($i: CreatePipelineInput!){ createPipeline(input: $i) { pipeline { id } errors { code field message } } }`,
      {
        i: {
          workspaceId: dev,
          name: 'Nightly',
          definition: {
            sources: [{ connectionId: warehouse, tables: ['public.orders'] }, { connectionId: api }],
            exports: [{ connectionId: exportTo, targetTableIds: [randomUUID()] }],
          },
          schedule: '30 2 * * *',
          timeZone: 'Europe/Berlin',
        },
      },
      'createPipeline',
    );
    await ok(
      `mutation($i: CreateMappingInput!){ createMapping(input: $i) { mapping { id } errors { code } } }`,
      { i: { workspaceId: dev, name: 'Customers', targetTable: 'dim_customers' } },
      'createMapping',
    );

    const res = await promote({ fromWorkspaceId: dev, toWorkspaceId: prod });
    expect(res.body.errors).toBeUndefined();
    const started = res.body.data!.promoteWorkspace;
    expect(started.errors).toEqual([]);
    expect(started.promotion).toMatchObject({
      status: 'RUNNING',
      include: ['CONNECTIONS', 'PIPELINES', 'TARGET_SCHEMAS', 'MAPPINGS'],
      pendingParts: ['TARGET_SCHEMAS', 'MAPPINGS'],
      fromWorkspace: { id: dev },
      toWorkspace: { id: prod },
    });
    const report = await done(started.promotion!.id);
    expect(report.pendingParts).toEqual([]);
    expect(report.partErrors).toEqual([]);
    expect(report.completedAt).toEqual(expect.any(String));
    const line = (kind: string, name: string) => report.items.find((i) => i.kind === kind && i.name === name)!;
    expect(report.items.map((i) => `${i.kind}:${i.name}:${i.outcome}`).sort()).toEqual(
      [
        'CONNECTION:Exports:SKIPPED',
        'CONNECTION:Public API:COPIED',
        'CONNECTION:Warehouse:NEEDS_ATTENTION',
        'MAPPING:Customers:NEEDS_ATTENTION',
        'PIPELINE:Nightly:NEEDS_ATTENTION',
      ].sort(),
    );
    expect(line('CONNECTION', 'Warehouse').note).toMatch(/without its password.*rotateConnectionSecret/);
    expect(line('CONNECTION', 'Exports').targetId).toBe(prodExports);

    // The copies in prod: no secret travelled; the pipeline is paused and uses prod's connections.
    const copy = await gql<{ connection: { name: string; secretSet: boolean; status: string; workspace: { id: string } } }>(
      `query($id: ID!){ connection(id: $id) { name secretSet status workspace { id } } }`,
      { id: line('CONNECTION', 'Warehouse').targetId },
    );
    expect(copy.body.data!.connection).toEqual({ name: 'Warehouse', secretSet: false, status: 'UNTESTED', workspace: { id: prod } });
    const [stored] = await p.sources.workspace.query(`SELECT secret_sealed, config FROM workspace.connection WHERE id = $1`, [
      line('CONNECTION', 'Warehouse').targetId,
    ]);
    expect(stored.secret_sealed).toBeNull();
    expect(JSON.stringify(stored)).not.toContain('dev-secret-pw-9');
    const pipeline = await gql<{
      pipeline: {
        name: string;
        enabled: boolean;
        nextRunAt: string | null;
        schedule: string;
        definition: { sources: Array<{ connection: { id: string } }>; exports: Array<{ connection: { id: string } }> };
      };
    }>(`query($id: ID!){ pipeline(id: $id) { name enabled nextRunAt schedule definition { sources { connection { id } } exports { connection { id } } } } }`, {
      id: line('PIPELINE', 'Nightly').targetId,
    });
    expect(pipeline.body.errors).toBeUndefined();
    expect(pipeline.body.data!.pipeline).toMatchObject({ name: 'Nightly', enabled: false, nextRunAt: null, schedule: '30 2 * * *' });
    expect(pipeline.body.data!.pipeline.definition.sources.map((s) => s.connection.id)).toEqual([
      line('CONNECTION', 'Warehouse').targetId,
      line('CONNECTION', 'Public API').targetId,
    ]);
    expect(pipeline.body.data!.pipeline.definition.exports.map((e) => e.connection.id)).toEqual([prodExports]);
    expect(pipe.pipeline.id).not.toBe(line('PIPELINE', 'Nightly').targetId);
    const mappings = await gql<{ mappings: { nodes: Array<{ name: string; targetTable: string }> } }>(
      `query($ws: ID!){ mappings(workspaceId: $ws, first: 10) { nodes { name targetTable } } }`,
      { ws: prod },
    );
    expect(mappings.body.data!.mappings.nodes).toEqual([{ name: 'Customers', targetTable: 'dim_customers' }]);

    // Promoting again changes nothing that is there already: everything is reported SKIPPED.
    const again = await promote({ fromWorkspaceId: dev, toWorkspaceId: prod });
    const second = await done(again.body.data!.promoteWorkspace.promotion!.id);
    expect(second.items.filter((i) => i.outcome !== 'SKIPPED').map((i) => `${i.kind}:${i.name}`)).toEqual([]);
  }, 60000);

  it('refuses bad requests with typed errors and writes nothing', async () => {
    const before = await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.promotion WHERE org_id = $1`, [orgId]);
    const codes = async (input: Record<string, unknown>, as = admin) =>
      (await promote(input, as)).body.data?.promoteWorkspace.errors.map((e) => `${e.code}:${e.field}`);
    expect(await codes({ fromWorkspaceId: dev, toWorkspaceId: dev })).toEqual(['SAME_WORKSPACE:toWorkspaceId']);
    expect(await codes({ fromWorkspaceId: dev, toWorkspaceId: prod, include: [] })).toEqual(['INCLUDE_EMPTY:include']);
    expect(await codes({ fromWorkspaceId: randomUUID(), toWorkspaceId: prod })).toEqual(['WORKSPACE_NOT_FOUND:fromWorkspaceId']);
    // An editor of prod who cannot read dev.
    const prodEditor = viewerHeader(userViewer({ orgId, orgRole: 'MEMBER', grants: [{ workspaceId: prod, role: 'EDITOR' }] }));
    expect(await codes({ fromWorkspaceId: dev, toWorkspaceId: prod }, prodEditor)).toEqual(['WORKSPACE_NOT_FOUND:fromWorkspaceId']);
    // A viewer of both may read but not write into prod.
    const reader = viewerHeader(
      userViewer({
        orgId,
        orgRole: 'MEMBER',
        grants: [
          { workspaceId: dev, role: 'VIEWER' },
          { workspaceId: prod, role: 'VIEWER' },
        ],
      }),
    );
    expect(await codes({ fromWorkspaceId: dev, toWorkspaceId: prod }, reader)).toEqual(['FORBIDDEN:toWorkspaceId']);
    // Another org's admin sees neither workspace.
    const [{ id: otherOrg }] = await p.sources.auth.query(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Other','eu','UTC') RETURNING id`,
      [`other-${randomUUID().slice(0, 6)}`],
    );
    const stranger = viewerHeader(userViewer({ orgId: otherOrg, orgRole: 'ADMIN' }));
    expect(await codes({ fromWorkspaceId: dev, toWorkspaceId: prod }, stranger)).toEqual(['WORKSPACE_NOT_FOUND:fromWorkspaceId']);
    expect(await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.promotion WHERE org_id = $1`, [orgId])).toEqual(before);
  });
});
