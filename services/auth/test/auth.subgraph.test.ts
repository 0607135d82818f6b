import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, ANONYMOUS } from '@datalinx/graphql-kit';
import { authDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createAuthServer } from '../src/app';
import { makeTestKeys, expiredAssertion, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';

describe('auth subgraph', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let server: Awaited<ReturnType<typeof createAuthServer>>;
  let httpServer: http.Server;
  let url: string;
  const ds = () => authDataSource(db.url);
  let orgA: string;
  let orgB: string;
  let aliceId: string;
  const dataSource = { current: undefined as ReturnType<typeof authDataSource> | undefined };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    dataSource.current = await ds().initialize();
    const q = (sql: string, p: unknown[]) => dataSource.current!.query(sql, p);
    [{ id: orgA }] = await q(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Acme','eu','Europe/Berlin') RETURNING id`, ['acme']);
    [{ id: orgB }] = await q(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Globex','us','America/New_York') RETURNING id`, [
      'globex',
    ]);
    [{ id: aliceId }] = await q(`INSERT INTO auth."user" (org_id, email, display_name, org_role) VALUES ($1,'alice@acme.test','Alice','ADMIN') RETURNING id`, [
      orgA,
    ]);
    await q(`INSERT INTO auth."user" (org_id, email, display_name, org_role) VALUES ($1,'bob@globex.test','Bob','MEMBER')`, [orgB]);
    server = await createAuthServer({ ds: dataSource.current, verifier: keys.verifier, log: createLogger('auth-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await dataSource.current?.destroy();
    await db?.drop();
  });

  const as = async (viewer: Parameters<TestKeys['signer']['sign']>[0]) => ({ [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) });

  describe('viewer assertion', () => {
    const query = '{ _service { sdl } }';

    it('rejects a request without an assertion with 401, _service included', async () => {
      const res = await postGraphQL(url, query);
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'ASSERTION_MISSING' });
    });

    it('rejects an expired assertion with 401', async () => {
      const res = await postGraphQL(url, query, {}, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, ANONYMOUS) });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.reason).toBe('ASSERTION_EXPIRED');
    });

    it('rejects an assertion signed by another key with 401', async () => {
      const other = await makeTestKeys();
      const res = await postGraphQL(url, query, {}, { [VIEWER_HEADER]: await other.signer.sign(ANONYMOUS, 'r') });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.reason).toBe('ASSERTION_INVALID');
    });

    it('rejects _entities without an assertion with 401', async () => {
      const res = await postGraphQL(url, `query($r:[_Any!]!){ _entities(representations:$r){ ... on Organization { name } } }`, {
        r: [{ __typename: 'Organization', id: orgA }],
      });
      expect(res.status).toBe(401);
    });

    it('rejects a tampered assertion with 401', async () => {
      const token = await keys.signer.sign(ANONYMOUS, 'r');
      const [h, p, s] = token.split('.');
      const forged = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), viewer: userViewer({ orgId: orgA, orgRole: 'ADMIN' }) }),
      ).toString('base64url');
      const res = await postGraphQL(url, query, {}, { [VIEWER_HEADER]: `${h}.${forged}.${s}` });
      expect(res.status).toBe(401);
    });

    it('answers _service with a valid assertion', async () => {
      const res = await postGraphQL<{ _service: { sdl: string } }>(url, query, {}, await as(ANONYMOUS));
      expect(res.status).toBe(200);
      expect(res.body.data?._service.sdl).toContain('type Organization');
    });
  });

  it('tells an anonymous viewer who they are and nothing more', async () => {
    const res = await postGraphQL(url, `{ me { kind user { id } organization { id } } }`, {}, await as(ANONYMOUS));
    expect(res.body).toEqual({ data: { me: { kind: 'ANONYMOUS', user: null, organization: null } } });
    const denied = await postGraphQL(url, `query($id: ID!){ organization(id: $id) { name } }`, { id: orgA }, await as(ANONYMOUS));
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('reads the viewer’s own organization and users from the database', async () => {
    const alice = userViewer({ orgId: orgA, userId: aliceId, orgRole: 'ADMIN' });
    const res = await postGraphQL(
      url,
      `query($id: ID!){ organization(id: $id) { slug name timeZone } users { nodes { email organization { slug } } pageInfo { hasNextPage } } me { kind user { email } } }`,
      { id: orgA },
      await as(alice),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      organization: { slug: 'acme', name: 'Acme', timeZone: 'Europe/Berlin' },
      users: { nodes: [{ email: 'alice@acme.test', organization: { slug: 'acme' } }], pageInfo: { hasNextPage: false } },
      me: { kind: 'USER', user: { email: 'alice@acme.test' } },
    });
  });

  it('gives a user of org B nothing of org A, through root fields and _entities', async () => {
    const bob = userViewer({ orgId: orgB });
    const root = await postGraphQL(url, `query($id: ID!){ organization(id: $id) { name } }`, { id: orgA }, await as(bob));
    expect(root.body.data).toEqual({ organization: null });
    const entities = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on Organization { name } ... on User { email } } }`,
      {
        r: [
          { __typename: 'Organization', id: orgA },
          { __typename: 'User', id: aliceId },
        ],
      },
      await as(bob),
    );
    expect(entities.body.data).toEqual({ _entities: [null, null] });
  });

  it('gives a service account of org A its organization and no people: users, me.user and User entities are refused or null', async () => {
    const sa = {
      kind: 'service-account' as const,
      serviceAccountId: randomUUID(),
      orgId: orgA,
      grants: [{ workspaceId: randomUUID(), role: 'VIEWER' as const }],
      keyId: randomUUID(),
      authMethod: 'api-key' as const,
    };
    const me = await postGraphQL(
      url,
      `query($id: ID!){ me { kind user { id } organization { slug } } organization(id: $id) { name } }`,
      { id: orgA },
      await as(sa),
    );
    expect(me.body).toEqual({ data: { me: { kind: 'SERVICE_ACCOUNT', user: null, organization: { slug: 'acme' } }, organization: { name: 'Acme' } } });
    const users = await postGraphQL(url, `{ users { nodes { email } } }`, {}, await as(sa));
    expect(users.body.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(users.body.data ?? null).toBeNull();
    const entities = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on User { id email displayName } } }`,
      { r: [{ __typename: 'User', id: aliceId }] },
      await as(sa),
    );
    expect(entities.body.data).toEqual({ _entities: [null] });
    expect(JSON.stringify(entities.body)).not.toContain('alice@acme.test');
  });

  it('pages users with a cursor and rejects a bad one with a typed error', async () => {
    const admin = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
    const q = dataSource.current!;
    for (let i = 0; i < 3; i++)
      await q.query(`INSERT INTO auth."user" (org_id, email, display_name, org_role) VALUES ($1,$2,'P','MEMBER')`, [orgA, `p${i}@acme.test`]);
    const p1 = await postGraphQL<{ users: { nodes: Array<{ email: string }>; pageInfo: { hasNextPage: boolean; endCursor: string } } }>(
      url,
      `{ users(first: 2) { nodes { email } pageInfo { hasNextPage endCursor } } }`,
      {},
      await as(admin),
    );
    expect(p1.body.data?.users.nodes).toHaveLength(2);
    expect(p1.body.data?.users.pageInfo.hasNextPage).toBe(true);
    const p2 = await postGraphQL<{ users: { nodes: Array<{ email: string }> } }>(
      url,
      `query($a: String){ users(first: 10, after: $a) { nodes { email } } }`,
      { a: p1.body.data?.users.pageInfo.endCursor },
      await as(admin),
    );
    const all = [...p1.body.data!.users.nodes, ...p2.body.data!.users.nodes].map((n) => n.email);
    expect(new Set(all).size).toBe(4);
    const bad = await postGraphQL(url, `{ users(after: "nope") { nodes { email } } }`, {}, await as(admin));
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('contributes its status to the federated Platform entity', async () => {
    const res = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on Platform { auth { service ok database migrations { name } } } } }`,
      { r: [{ __typename: 'Platform', id: 'datalinx' }] },
      await as(ANONYMOUS),
    );
    // Every registered migration, in order (the list in data-source.ts is the source of truth).
    const registered = (ds().options.migrations as Array<{ name: string }>).map((m) => ({ name: m.name }));
    expect(registered.slice(0, 5)).toEqual([
      { name: 'Init1764300000000' },
      { name: 'Identity1764400000000' },
      { name: 'Mfa1764500000000' },
      { name: 'LoginAttempts1764600000000' },
      { name: 'ServiceAccounts1764700000000' },
    ]);
    expect(res.body.data).toMatchObject({ _entities: [{ auth: { service: 'auth', ok: true, migrations: registered } }] });
  });

  describe('identity mutations without a signing key (sign-in not configured)', () => {
    it('lets an anonymous caller sign up; the answer is ok and names nothing; a taken address (no mail without a seal key) answers the same', async () => {
      const signUp = async (email: string, slug: string) =>
        postGraphQL(
          url,
          `mutation($i: SignUpInput!){ signUp(input: $i) { ok errors { code } } }`,
          { i: { organizationName: 'Initech', slug, region: 'us', timeZone: 'UTC', email, displayName: 'Peter', password: 'Tps-Reports-2024!' } },
          await as(ANONYMOUS),
        );
      expect((await signUp('peter@initech.test', 'initech')).body).toEqual({ data: { signUp: { ok: true, errors: [] } } });
      const [row] = await dataSource.current!.query(
        `SELECT u.org_role AS "orgRole", o.slug, o.region FROM auth."user" u JOIN auth.organization o ON o.id = u.org_id WHERE u.email = 'peter@initech.test'`,
      );
      expect(row).toEqual({ orgRole: 'ADMIN', slug: 'initech', region: 'us' });
      expect((await signUp('Peter@Initech.test', 'initech-two')).body).toEqual({ data: { signUp: { ok: true, errors: [] } } });
      expect(await dataSource.current!.query(`SELECT slug FROM auth.organization WHERE slug LIKE 'initech%'`)).toEqual([{ slug: 'initech' }]);
    });

    it('answers login with SIGN_IN_UNAVAILABLE and publishes an empty JWKS', async () => {
      const res = await postGraphQL(
        url,
        `mutation { login(input: { email: "peter@initech.test", password: "Tps-Reports-2024!" }) { accessToken errors { code } } }`,
        {},
        await as(ANONYMOUS),
      );
      expect(res.body).toEqual({ data: { login: { accessToken: null, errors: [{ code: 'SIGN_IN_UNAVAILABLE' }] } } });
      const jwks = await fetch(urlOf(httpServer, '/.well-known/jwks.json'));
      expect(await jwks.json()).toEqual({ keys: [] });
    });

    it('denies deactivateUser to anonymous callers and to non-admins, and logout to anonymous callers', async () => {
      const q = `mutation($id: ID!){ deactivateUser(id: $id) { errors { code } } }`;
      expect((await postGraphQL(url, q, { id: aliceId }, await as(ANONYMOUS))).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await postGraphQL(url, q, { id: aliceId }, await as(userViewer({ orgId: orgA, orgRole: 'MEMBER' })))).body.errors?.[0]?.extensions?.code).toBe(
        'FORBIDDEN',
      );
      expect((await postGraphQL(url, `mutation { logout { ok } }`, {}, await as(ANONYMOUS))).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('does not show an anonymous caller users or organizations it did not create in this request', async () => {
      const res = await postGraphQL(
        url,
        `query($r:[_Any!]!){ _entities(representations:$r){ ... on Organization { name } ... on User { email } } }`,
        {
          r: [
            { __typename: 'Organization', id: orgA },
            { __typename: 'User', id: aliceId },
          ],
        },
        await as(ANONYMOUS),
      );
      expect(res.body.data).toEqual({ _entities: [null, null] });
    });
  });
});
