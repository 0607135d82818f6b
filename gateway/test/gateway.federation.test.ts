import { startPlatform, viewerHeader, type Platform } from '../../test/support/platform';
import { userViewer } from '../../test/support/viewers';
import { gqlClient } from '../../test/support/http';

/**
 * The real gateway over the committed supergraph and five real subgraphs on PostgreSQL: the
 * federated joins, the platform status entry point, the edge limits and tenant isolation.
 */
describe('gateway over the five subgraphs', () => {
  let p: Platform;
  let orgA: string;
  let orgB: string;

  beforeAll(async () => {
    p = await startPlatform();
    const q = (sql: string, params: unknown[]) => p.sources.auth.query(sql, params);
    [{ id: orgA }] = await q(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ('acme','Acme Inc','eu','Europe/Berlin') RETURNING id`, []);
    [{ id: orgB }] = await q(
      `INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ('globex','Globex','us','America/Chicago') RETURNING id`,
      [],
    );
  }, 120000);

  afterAll(async () => {
    await p?.stop();
  });

  const gql = gqlClient(() => p.gatewayUrl);

  it('answers the platform status, joined across all five subgraphs, from PostgreSQL', async () => {
    const res = await gql(`{ platform { id checkedAt
      auth { service ok database migrations { name } } workspace { service ok migrations { name } }
      schema { service ok migrations { name } } mapping { service ok migrations { name } } monitoring { service ok migrations { name } } } }`);
    expect(res.body.errors).toBeUndefined();
    const platform = (res.body.data as { platform: Record<string, { service: string; ok: boolean; migrations: unknown[] }> }).platform;
    for (const name of ['auth', 'workspace', 'schema', 'mapping', 'monitoring']) {
      expect(platform[name]).toMatchObject({ service: name, ok: true });
      expect(platform[name]!.migrations.length).toBeGreaterThan(0);
    }
    expect((platform.auth as unknown as { database: string }).database).toMatch(/^PostgreSQL \d+/);
  });

  it('creates a workspace and resolves Workspace.organization from the auth subgraph (entity reference)', async () => {
    const admin = viewerHeader(userViewer({ orgId: orgA, orgRole: 'ADMIN' }));
    const created = await gql(
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id slug } errors { code field message } } }`,
      { i: { name: 'Analytics', slug: 'analytics', environment: 'PROD' } },
      admin,
    );
    expect(created.body.errors).toBeUndefined();
    const ws = (created.body.data as { createWorkspace: { workspace: { id: string }; errors: unknown[] } }).createWorkspace;
    expect(ws.errors).toEqual([]);

    const joined = await gql(`{ workspaces { nodes { slug environment organization { slug name timeZone } } } }`, {}, admin);
    expect(joined.body.errors).toBeUndefined();
    expect(joined.body.data).toEqual({
      workspaces: { nodes: [{ slug: 'analytics', environment: 'PROD', organization: { slug: 'acme', name: 'Acme Inc', timeZone: 'Europe/Berlin' } }] },
    });

    // And the other direction: auth's Organization extended with workspace's `workspaces`.
    const back = await gql(`query($id: ID!){ organization(id: $id) { name workspaces { slug } } }`, { id: orgA }, admin);
    expect(back.body.data).toEqual({ organization: { name: 'Acme Inc', workspaces: [{ slug: 'analytics' }] } });

    // A duplicate slug is a typed payload error and writes nothing.
    const dup = await gql(
      `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code field } } }`,
      { i: { name: 'Again', slug: 'analytics' } },
      admin,
    );
    expect(dup.body.data).toEqual({ createWorkspace: { workspace: null, errors: [{ code: 'SLUG_TAKEN', field: 'slug' }] } });
    const [{ n }] = await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.workspace WHERE org_id = $1`, [orgA]);
    expect(n).toBe(1);
  });

  it('shows a user of another organization nothing, and denies anonymous callers', async () => {
    const bob = viewerHeader(userViewer({ orgId: orgB, orgRole: 'ADMIN' }));
    const res = await gql(`query($id: ID!){ workspaces { nodes { slug } } organization(id: $id) { name } }`, { id: orgA }, bob);
    expect(res.body.data).toEqual({ workspaces: { nodes: [] }, organization: null });
    const anon = await gql(`{ workspaces { nodes { slug } } }`);
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const member = viewerHeader(userViewer({ orgId: orgA, orgRole: 'MEMBER' }));
    const forbidden = await gql(`mutation { createWorkspace(input: { name: "X", slug: "x" }) { errors { code } } }`, {}, member);
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  describe('limits', () => {
    it('rejects a query deeper than the limit with QUERY_TOO_DEEP', async () => {
      expect((await gql(`{ platform { auth { migrations { name } } } }`)).body.errors).toBeUndefined();
      let nested = 'id';
      for (let i = 0; i < 14; i++) nested = `organization { workspaces { ${nested} } }`;
      const res = await gql(`{ me { ${nested} } }`);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', limit: 12 });
    });

    it('rejects too many aliases with TOO_MANY_ALIASES', async () => {
      const fields = Array.from({ length: 31 }, (_, i) => `a${i}: me { kind }`).join(' ');
      const res = await gql(`{ ${fields} }`);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'TOO_MANY_ALIASES', limit: 30 });
    });

    it('rejects a query with too many tokens with TOO_MANY_TOKENS', async () => {
      const res = await gql(`{ me { ${Array.from({ length: 6000 }, () => 'kind').join(' ')} } }`);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('TOO_MANY_TOKENS');
    });

    it('rejects an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await gql(`{ me { kind } }`, { pad: 'x'.repeat(200_000) });
      expect(res.status).toBe(413);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    });
  });

  it('reports readiness of every subgraph', async () => {
    const res = await fetch(new URL('/readyz', p.gatewayUrl));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(Object.keys(body.checks).sort()).toEqual(['auth', 'mapping', 'monitoring', 'schema', 'workspace']);
  });

  it('answers the rest of the platform status when one subgraph is down, naming the missing service', async () => {
    await p.servers.mapping.stop();
    const res = await gql(`{ platform { auth { ok } mapping { ok } monitoring { ok } } }`);
    expect(res.body.data).toEqual({ platform: { auth: { ok: true }, mapping: null, monitoring: { ok: true } } });
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors![0]).toMatchObject({ extensions: { code: 'SUBGRAPH_UNAVAILABLE', service: 'mapping' } });
    expect(res.body.errors![0]!.message).not.toMatch(/127\.0\.0\.1|http:/);
    const ready = await fetch(new URL('/readyz', p.gatewayUrl));
    expect(ready.status).toBe(503);
  });
});
