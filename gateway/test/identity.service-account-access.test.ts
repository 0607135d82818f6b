import { randomUUID } from 'node:crypto';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { postGraphQL, type GqlResponse, gqlClient } from '../../test/support/http';
import { addPerson, bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';

/**
 * What a service account (an API key with one workspace grant) may read from the auth subgraph,
 * through the real gateway and its API-key exchange: its own organization and `me`, never the
 * organization's people — no user list, no user record or e-mail (root fields and `_entities`
 * alike), no sessions, no security policy — whatever its workspace role. The organization's
 * people (MEMBER, ADMIN) still see them.
 */
describe('service accounts and people data', () => {
  let s: IdentityStack;
  let admin: Awaited<ReturnType<typeof signUpAndLogin>>;
  let member: { userId: string; email: string; accessToken: string };
  let workspaceId: string;
  const keys: Record<'VIEWER' | 'EDITOR', { apiKey: string; serviceAccountId: string; keyId: string }> = {} as never;

  const gql = gqlClient(() => s.gatewayUrl);
  const apiKey = (role: 'VIEWER' | 'EDITOR') => ({ 'x-api-key': keys[role].apiKey });
  const codes = (res: GqlResponse) => (res.body.errors ?? []).map((e) => e.extensions?.code);

  beforeAll(async () => {
    s = await startIdentityStack();
    admin = await signUpAndLogin(s.gatewayUrl);
    const m = await addPerson(s, { orgId: admin.orgId, orgRole: 'MEMBER', password: admin.input.password });
    member = { ...m, accessToken: (await login(s.gatewayUrl, m.email, admin.input.password)).accessToken };
    workspaceId = await s.knowWorkspace(admin.orgId);
    for (const role of ['VIEWER', 'EDITOR'] as const) {
      const res = await gql<{ createServiceAccount: { apiKey: string; serviceAccount: { id: string; apiKeys: Array<{ id: string }> } } }>(
        `mutation($i: CreateServiceAccountInput!){ createServiceAccount(input: $i) { apiKey serviceAccount { id apiKeys { id } } errors { code } } }`,
        { i: { name: `bot ${role}`, workspaceId, role } },
        bearer(admin.accessToken),
      );
      const c = res.body.data!.createServiceAccount;
      keys[role] = { apiKey: c.apiKey, serviceAccountId: c.serviceAccount.id, keyId: c.serviceAccount.apiKeys[0]!.id };
    }
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  /** The people queries of the auth subgraph: each is refused (FORBIDDEN, no data) to a service account. */
  const PEOPLE_QUERIES: Array<[string, string, (v: { adminId: string }) => Record<string, unknown>]> = [
    ['users', `{ users(first: 100) { nodes { id email displayName orgRole } } }`, () => ({})],
    ['users (ids only)', `{ users { nodes { id } } }`, () => ({})],
    ['userSessions', `query($u: ID!){ userSessions(userId: $u) { id ip } }`, ({ adminId }) => ({ u: adminId })],
    ['mySessions', `{ mySessions { id } }`, () => ({})],
    ['securityPolicy', `{ securityPolicy { passwordMinLength mfaRequiredForAdmins } }`, () => ({})],
    ['invitations', `{ invitations { nodes { email } } }`, () => ({})],
    ['serviceAccounts', `{ serviceAccounts { id name } }`, () => ({})],
  ];

  const rows = (['VIEWER', 'EDITOR'] as const).flatMap((role) => PEOPLE_QUERIES.map(([name, query, vars]) => [role, name, query, vars] as const));

  it.each(rows)('a %s service account is refused %s', async (role, _name, query, vars) => {
    const res = await gql(query, vars({ adminId: admin.userId }), apiKey(role));
    expect(codes(res)).toEqual(['FORBIDDEN']);
    // No data: none at all, or the (nullable) field null.
    for (const v of Object.values(res.body.data ?? {})) expect(v).toBeNull();
    const whole = JSON.stringify(res.body);
    for (const email of [admin.input.email, member.email]) expect(whole).not.toContain(email);
  });

  it.each(['VIEWER', 'EDITOR'] as const)('a %s service account reads `me` (its kind and organization, no user) and its organization', async (role) => {
    const res = await gql(
      `query($id: ID!){ me { kind mfaEnabled user { id email } organization { id slug name region } } organization(id: $id) { id name } }`,
      { id: admin.orgId },
      apiKey(role),
    );
    expect(res.body).toEqual({
      data: {
        me: {
          kind: 'SERVICE_ACCOUNT',
          mfaEnabled: false,
          user: null,
          organization: { id: admin.orgId, slug: admin.input.slug, name: admin.input.organizationName, region: 'eu' },
        },
        organization: { id: admin.orgId, name: admin.input.organizationName },
      },
    });
  });

  it.each(['VIEWER', 'EDITOR'] as const)(
    'a %s service account gets no user record or e-mail through _entities (straight to the subgraph with its viewer)',
    async (role) => {
      const viewer: Viewer = {
        kind: 'service-account',
        serviceAccountId: keys[role].serviceAccountId,
        orgId: admin.orgId,
        grants: [{ workspaceId, role }],
        keyId: keys[role].keyId,
        authMethod: 'api-key',
      };
      const res = await postGraphQL(
        s.authUrl,
        `query($r: [_Any!]!){ _entities(representations: $r) { ... on User { id email displayName } } }`,
        {
          r: [
            { __typename: 'User', id: admin.userId },
            { __typename: 'User', id: member.userId },
          ],
        },
        { [VIEWER_HEADER]: await s.keys.signer.sign(viewer, randomUUID()) },
      );
      expect(res.body.data).toEqual({ _entities: [null, null] });
      for (const email of [admin.input.email, member.email]) expect(JSON.stringify(res.body)).not.toContain(email);
    },
  );

  it.each(['VIEWER', 'EDITOR'] as const)(
    'a %s service account is refused the people mutations of its own (sign out, password, second factor, sessions)',
    async (role) => {
      for (const [query, vars] of [
        [`mutation { logout { ok } }`, {}],
        [`mutation { changePassword(currentPassword: "x", newPassword: "Correct-Horse-9-Battery") { ok } }`, {}],
        [`mutation { disableTotp(password: "x") { ok } }`, {}],
        [`mutation($id: ID!){ revokeSession(id: $id) { ok } }`, { id: randomUUID() }],
      ] as const) {
        const res = await gql(query, vars, apiKey(role));
        expect(codes(res)).toEqual(['FORBIDDEN']);
      }
    },
  );

  it.each([
    ['ADMIN', () => admin.accessToken],
    ['MEMBER', () => member.accessToken],
  ])('control: an org %s still sees the people and their e-mails', async (_role, token) => {
    const res = await gql<{ users: { nodes: Array<{ id: string; email: string }> }; me: { user: { email: string } } }>(
      `{ users(first: 100) { nodes { id email } } me { user { email } } }`,
      {},
      bearer(token()),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.users.nodes.map((n) => n.email).sort()).toEqual([admin.input.email, member.email].sort());
    const viewer: Viewer = {
      kind: 'user',
      userId: member.userId,
      orgId: admin.orgId,
      orgRole: 'MEMBER',
      grants: [],
      sessionId: randomUUID(),
      authMethod: 'bearer',
    };
    const entities = await postGraphQL(
      s.authUrl,
      `query($r: [_Any!]!){ _entities(representations: $r) { ... on User { email } } }`,
      { r: [{ __typename: 'User', id: admin.userId }] },
      {
        [VIEWER_HEADER]: await s.keys.signer.sign(viewer, randomUUID()),
      },
    );
    expect(entities.body.data).toEqual({ _entities: [{ email: admin.input.email }] });
  });
});
