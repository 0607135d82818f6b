import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { gqlClient } from '../../test/support/http';
import {
  REFRESH,
  SIGN_UP,
  addPerson,
  bearer,
  login,
  newSignUp,
  signUpAndLogin,
  startIdentityStack,
  type IdentityStack,
  type Tokens,
} from '../../test/support/identity';

/**
 * Managing people end to end, through the real gateway: org role changes (the last active ADMIN
 * stays), workspace grants (only the org's own workspaces, per auth's replica), reactivation and
 * removal. Every change must take effect on the user's next request (token epoch in the NATS KV
 * the gateway watches), and a new sign-in must carry the new role and grants.
 */
describe('managing people through the gateway', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  type Err = { code: string; field: string | null; message: string };
  type Grant = { workspaceId: string; role: string };
  type Admin = { orgId: string; userId: string; accessToken: string; input: { password: string } };
  type Person = Tokens & { email: string };

  const gql = gqlClient(() => s.gatewayUrl);

  const ROLE = `mutation($u: ID!, $r: OrgRole!){ updateUserRole(userId: $u, orgRole: $r) { user { id orgRole } errors { code field message } } }`;
  const GRANTS = `mutation($u: ID!, $g: [WorkspaceGrantInput!]!){ setWorkspaceGrants(userId: $u, grants: $g) { user { id } grants { workspaceId role } errors { code field message } } }`;
  const REACTIVATE = `mutation($id: ID!){ reactivateUser(id: $id) { user { id status } errors { code field message } } }`;
  const REMOVE = `mutation($id: ID!){ removeUser(id: $id) { ok removedUserId errors { code field message } } }`;
  const DEACTIVATE = `mutation($id: ID!){ deactivateUser(id: $id) { user { id status } errors { code } } }`;

  const setRole = async (t: { accessToken: string }, userId: string, r: string) =>
    (await gql<{ updateUserRole: { user: { id: string; orgRole: string } | null; errors: Err[] } }>(ROLE, { u: userId, r }, bearer(t.accessToken))).body.data!
      .updateUserRole;
  const setGrants = async (t: { accessToken: string }, userId: string, g: Grant[]) =>
    (await gql<{ setWorkspaceGrants: { user: { id: string } | null; grants: Grant[] | null; errors: Err[] } }>(GRANTS, { u: userId, g }, bearer(t.accessToken)))
      .body.data!.setWorkspaceGrants;
  const remove = async (t: { accessToken: string }, id: string) =>
    (await gql<{ removeUser: { ok: boolean; removedUserId: string | null; errors: Err[] } }>(REMOVE, { id }, bearer(t.accessToken))).body.data!.removeUser;

  const meKind = async (t: { accessToken: string }) => {
    const res = await gql<{ me: { kind: string } }>(`{ me { kind } }`, {}, bearer(t.accessToken));
    return res.body.data?.me.kind ?? (res.body.errors?.[0]?.extensions?.reason as string);
  };
  /** Revocations reach the gateway through the KV watch: wait (bounded) for the expected answer. */
  const until = async (check: () => Promise<unknown>, expected: unknown) => {
    const end = Date.now() + 3000;
    for (;;) {
      const got = await check();
      if (got === expected || Date.now() > end) return expect(got).toBe(expected);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** Logs in once the gateway knows the new epoch (a token minted with it is refused until then). */
  const freshLogin = async (email: string, password: string): Promise<Tokens> => {
    const end = Date.now() + 3000;
    for (;;) {
      const t = await login(s.gatewayUrl, email, password);
      if ((await meKind(t)) === 'USER' || Date.now() > end) return t;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** Another person in the admin's org (inserted as an accepted invitation would leave them), signed in. */
  const addUser = async (admin: Admin, role: 'ADMIN' | 'MEMBER' | 'VIEWER'): Promise<Person> => {
    const { email } = await addPerson(s, { orgId: admin.orgId, orgRole: role, password: admin.input.password });
    return { email, ...(await login(s.gatewayUrl, email, admin.input.password)) };
  };
  const dbGrants = async (userId: string): Promise<Grant[]> =>
    (await s.authDs.query(`SELECT workspace_id AS "workspaceId", role FROM auth.workspace_grant WHERE user_id = $1 ORDER BY workspace_id`, [
      userId,
    ])) as Grant[];
  const dbUser = async (userId: string): Promise<{ org_role: string; status: string; token_epoch: number } | undefined> =>
    (
      (await s.authDs.query(`SELECT org_role, status, token_epoch FROM auth."user" WHERE id = $1`, [userId])) as Array<{
        org_role: string;
        status: string;
        token_epoch: number;
      }>
    )[0];
  const auditOf = async (orgId: string, action: string) =>
    (await s.authDs.query(`SELECT payload AS data FROM auth.outbox WHERE subject = $1 AND payload->>'action' = $2 ORDER BY created_at`, [
      `audit.${orgId}`,
      action,
    ])) as Array<{
      data: { actor: { id: string }; target: { id: string }; details?: Record<string, unknown> };
    }>;
  const sortGrants = (g: Grant[]) => [...g].sort((a, b) => a.workspaceId.localeCompare(b.workspaceId));

  it('promotes a MEMBER to ADMIN: the token from before is refused on the next request, a new sign-in carries ADMIN', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    expect(decodeJwt(member.accessToken).role).toBe('MEMBER');

    expect(await setRole(admin, member.userId, 'ADMIN')).toEqual({ user: { id: member.userId, orgRole: 'ADMIN' }, errors: [] });
    await until(() => meKind(member), 'TOKEN_REVOKED');
    // The refresh token's session lives on: refreshing gives a token with the new role and epoch.
    const refreshed = await gql<{ refreshSession: { accessToken: string | null } }>(REFRESH, { t: member.refreshToken });
    expect(decodeJwt(refreshed.body.data!.refreshSession.accessToken!).role).toBe('ADMIN');
    const again = await freshLogin(member.email, admin.input.password);
    expect(decodeJwt(again.accessToken).role).toBe('ADMIN');
    expect(await meKind(again)).toBe('USER');
    // …and can now do what an ADMIN does.
    const other = await addUser(admin, 'MEMBER');
    expect((await setRole(again, other.userId, 'VIEWER')).errors).toEqual([]);

    const [ev] = await auditOf(admin.orgId, 'auth.user.role_changed');
    expect(ev!.data).toMatchObject({ actor: { id: admin.userId }, target: { id: member.userId }, details: { from: 'MEMBER', to: 'ADMIN' } });
  });

  it('demotes an ADMIN, but never the last active one (LAST_ADMIN)', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const epochBefore = (await dbUser(admin.userId))!.token_epoch;
    for (const role of ['MEMBER', 'VIEWER']) {
      const r = await setRole(admin, admin.userId, role);
      expect(r.user).toBeNull();
      expect(r.errors).toEqual([{ code: 'LAST_ADMIN', field: 'orgRole', message: expect.stringMatching(/last active administrator/) }]);
    }
    expect(await dbUser(admin.userId)).toMatchObject({ org_role: 'ADMIN', token_epoch: epochBefore });
    expect(await meKind(admin)).toBe('USER');

    // A deactivated ADMIN does not count as "another admin".
    const dormant = await addUser(admin, 'ADMIN');
    expect(
      (await gql<{ deactivateUser: { errors: Err[] } }>(DEACTIVATE, { id: dormant.userId }, bearer(admin.accessToken))).body.data!.deactivateUser.errors,
    ).toEqual([]);
    expect((await setRole(admin, admin.userId, 'MEMBER')).errors.map((e) => e.code)).toEqual(['LAST_ADMIN']);

    const second = await addUser(admin, 'ADMIN');
    expect(await setRole(admin, second.userId, 'MEMBER')).toEqual({ user: { id: second.userId, orgRole: 'MEMBER' }, errors: [] });
    await until(() => meKind(second), 'TOKEN_REVOKED');
    const demoted = await freshLogin(second.email, admin.input.password);
    expect(decodeJwt(demoted.accessToken).role).toBe('MEMBER');
    const asMember = await gql(ROLE, { u: admin.userId, r: 'MEMBER' }, bearer(demoted.accessToken));
    expect(asMember.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // With another active ADMIN, an admin may step down; their own token dies with it.
    expect((await setRole(admin, second.userId, 'ADMIN')).errors).toEqual([]);
    expect(await setRole(admin, admin.userId, 'MEMBER')).toEqual({ user: { id: admin.userId, orgRole: 'MEMBER' }, errors: [] });
    await until(() => meKind(admin), 'TOKEN_REVOKED');
  });

  it('demoting to VIEWER turns EDITOR grants into VIEWER grants; an org VIEWER cannot be given EDITOR', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    const [ws1, ws2] = [await s.knowWorkspace(admin.orgId), await s.knowWorkspace(admin.orgId)];
    expect(
      (
        await setGrants(admin, member.userId, [
          { workspaceId: ws1, role: 'EDITOR' },
          { workspaceId: ws2, role: 'VIEWER' },
        ])
      ).errors,
    ).toEqual([]);

    expect((await setRole(admin, member.userId, 'VIEWER')).errors).toEqual([]);
    expect(await dbGrants(member.userId)).toEqual(
      sortGrants([
        { workspaceId: ws1, role: 'VIEWER' },
        { workspaceId: ws2, role: 'VIEWER' },
      ]),
    );
    await until(() => meKind(member), 'TOKEN_REVOKED');
    const viewer = await freshLogin(member.email, admin.input.password);
    const claims = decodeJwt(viewer.accessToken) as { role: string; grants: Grant[] };
    expect(claims.role).toBe('VIEWER');
    expect(sortGrants(claims.grants)).toEqual(
      sortGrants([
        { workspaceId: ws1, role: 'VIEWER' },
        { workspaceId: ws2, role: 'VIEWER' },
      ]),
    );
    const [ev] = await auditOf(admin.orgId, 'auth.user.role_changed');
    expect(ev!.data.details).toMatchObject({ from: 'MEMBER', to: 'VIEWER', downgradedGrants: [ws1] });

    const epoch = (await dbUser(member.userId))!.token_epoch;
    const refused = await setGrants(admin, member.userId, [
      { workspaceId: ws2, role: 'VIEWER' },
      { workspaceId: ws1, role: 'EDITOR' },
    ]);
    expect(refused).toMatchObject({ user: null, grants: null, errors: [{ code: 'GRANT_NOT_ALLOWED', field: 'grants[1].role' }] });
    expect((await dbGrants(member.userId)).every((g) => g.role === 'VIEWER')).toBe(true);
    expect((await dbUser(member.userId))!.token_epoch).toBe(epoch);
  });

  it("sets and replaces workspace grants; another org's workspace looks exactly like an unknown one and changes nothing", async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    const outsider = await signUpAndLogin(s.gatewayUrl);
    const [ws1, ws2] = [await s.knowWorkspace(admin.orgId), await s.knowWorkspace(admin.orgId)];
    const theirs = await s.knowWorkspace(outsider.orgId);

    expect(await setGrants(admin, member.userId, [{ workspaceId: ws1, role: 'EDITOR' }])).toEqual({
      user: { id: member.userId },
      grants: [{ workspaceId: ws1, role: 'EDITOR' }],
      errors: [],
    });
    await until(() => meKind(member), 'TOKEN_REVOKED');
    const signedIn = await freshLogin(member.email, admin.input.password);
    expect(decodeJwt(signedIn.accessToken).grants).toEqual([{ workspaceId: ws1, role: 'EDITOR' }]);

    // Replace, not merge.
    expect((await setGrants(admin, member.userId, [{ workspaceId: ws2, role: 'VIEWER' }])).errors).toEqual([]);
    expect(await dbGrants(member.userId)).toEqual([{ workspaceId: ws2, role: 'VIEWER' }]);
    const epoch = (await dbUser(member.userId))!.token_epoch;

    const foreign = await setGrants(admin, member.userId, [
      { workspaceId: ws1, role: 'EDITOR' },
      { workspaceId: theirs, role: 'VIEWER' },
    ]);
    const unknownId = randomUUID();
    const unknown = await setGrants(admin, member.userId, [
      { workspaceId: ws1, role: 'EDITOR' },
      { workspaceId: unknownId, role: 'VIEWER' },
    ]);
    expect(foreign).toEqual({
      user: null,
      grants: null,
      errors: [{ code: 'WORKSPACE_NOT_FOUND', field: 'grants[1].workspaceId', message: `Workspace ${theirs} was not found.` }],
    });
    expect(unknown).toEqual({
      user: null,
      grants: null,
      errors: [{ code: 'WORKSPACE_NOT_FOUND', field: 'grants[1].workspaceId', message: `Workspace ${unknownId} was not found.` }],
    });
    expect((await setGrants(admin, member.userId, [{ workspaceId: 'not-a-uuid', role: 'VIEWER' }])).errors.map((e) => e.code)).toEqual(['WORKSPACE_NOT_FOUND']);
    const dup = await setGrants(admin, member.userId, [
      { workspaceId: ws1, role: 'EDITOR' },
      { workspaceId: ws1, role: 'VIEWER' },
    ]);
    expect(dup.errors).toEqual([expect.objectContaining({ code: 'GRANT_DUPLICATE', field: 'grants[1].workspaceId' })]);
    // Org B's ADMIN naming org A's user: not found, like an unknown id.
    expect(await setGrants(outsider, member.userId, [{ workspaceId: theirs, role: 'EDITOR' }])).toMatchObject({
      user: null,
      errors: [{ code: 'USER_NOT_FOUND', field: 'userId' }],
    });
    expect(await dbGrants(member.userId)).toEqual([{ workspaceId: ws2, role: 'VIEWER' }]);
    expect((await dbUser(member.userId))!.token_epoch).toBe(epoch);

    // An empty list removes every grant.
    expect(await setGrants(admin, member.userId, [])).toMatchObject({ grants: [], errors: [] });
    expect(await dbGrants(member.userId)).toEqual([]);
    const events = await auditOf(admin.orgId, 'auth.user.grants_changed');
    expect(events).toHaveLength(3);
    expect(events[1]!.data.details).toEqual({ before: [{ workspaceId: ws1, role: 'EDITOR' }], after: [{ workspaceId: ws2, role: 'VIEWER' }] });
  });

  it('shows User.workspaceGrants to the user themself and to org ADMINs only', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    const ws = await s.knowWorkspace(admin.orgId);
    expect((await setGrants(admin, member.userId, [{ workspaceId: ws, role: 'EDITOR' }])).errors).toEqual([]);
    await until(() => meKind(member), 'TOKEN_REVOKED');
    const self = await freshLogin(member.email, admin.input.password);
    const other = await addUser(admin, 'MEMBER');
    const USERS = `{ users(first: 50) { nodes { id workspaceGrants { workspaceId role } } } }`;

    const own = await gql<{ me: { user: { workspaceGrants: Grant[] } } }>(
      `{ me { user { id workspaceGrants { workspaceId role } } } }`,
      {},
      bearer(self.accessToken),
    );
    expect(own.body.data!.me.user.workspaceGrants).toEqual([{ workspaceId: ws, role: 'EDITOR' }]);
    const asAdmin = await gql<{ users: { nodes: Array<{ id: string; workspaceGrants: Grant[] }> } }>(USERS, {}, bearer(admin.accessToken));
    expect(asAdmin.body.errors).toBeUndefined();
    expect(asAdmin.body.data!.users.nodes.find((n) => n.id === member.userId)!.workspaceGrants).toEqual([{ workspaceId: ws, role: 'EDITOR' }]);

    const asMember = await gql(USERS, {}, bearer(other.accessToken));
    expect(asMember.body.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    expect(JSON.stringify(asMember.body.data ?? null)).not.toContain(ws);
    // Names and roles stay visible to members; only the grants are withheld.
    const names = await gql<{ users: { nodes: Array<{ id: string }> } }>(`{ users(first: 50) { nodes { id orgRole } } }`, {}, bearer(other.accessToken));
    expect(names.body.data!.users.nodes.map((n) => n.id)).toContain(member.userId);
  });

  it('reactivates a deactivated user: their old tokens stay dead, a new sign-in works', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    expect(
      (await gql<{ deactivateUser: { errors: Err[] } }>(DEACTIVATE, { id: member.userId }, bearer(admin.accessToken))).body.data!.deactivateUser.errors,
    ).toEqual([]);
    await until(() => meKind(member), 'TOKEN_REVOKED');
    await expect(login(s.gatewayUrl, member.email, admin.input.password)).rejects.toThrow(/INVALID_CREDENTIALS/);

    const r = await gql<{ reactivateUser: { user: { id: string; status: string } | null; errors: Err[] } }>(
      REACTIVATE,
      { id: member.userId },
      bearer(admin.accessToken),
    );
    expect(r.body.data!.reactivateUser).toEqual({ user: { id: member.userId, status: 'ACTIVE' }, errors: [] });
    expect(await meKind(member)).toBe('TOKEN_REVOKED');
    expect((await gql<{ refreshSession: { errors: Err[] } }>(REFRESH, { t: member.refreshToken })).body.data!.refreshSession.errors[0]!.code).toBe(
      'SESSION_REVOKED',
    );
    const back = await login(s.gatewayUrl, member.email, admin.input.password);
    expect(await meKind(back)).toBe('USER');
    // Reactivating an active user changes nothing; another org's ADMIN cannot reach the user.
    expect(
      (await gql<{ reactivateUser: { errors: Err[] } }>(REACTIVATE, { id: member.userId }, bearer(admin.accessToken))).body.data!.reactivateUser.errors,
    ).toEqual([]);
    const outsider = await signUpAndLogin(s.gatewayUrl);
    expect(
      (await gql<{ reactivateUser: { user: unknown; errors: Err[] } }>(REACTIVATE, { id: member.userId }, bearer(outsider.accessToken))).body.data!
        .reactivateUser,
    ).toMatchObject({
      user: null,
      errors: [{ code: 'USER_NOT_FOUND', field: 'id' }],
    });
    expect(await auditOf(admin.orgId, 'auth.user.reactivated')).toEqual([
      { data: expect.objectContaining({ actor: { type: 'user', id: admin.userId }, target: { type: 'User', id: member.userId } }) },
    ]);
  });

  it('removes a user with everything hanging off it: tokens refused, no sign-in, the e-mail address is free again', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'ADMIN');
    const secondSession = await login(s.gatewayUrl, member.email, admin.input.password);
    const ws = await s.knowWorkspace(admin.orgId);
    expect((await setGrants(admin, member.userId, [{ workspaceId: ws, role: 'EDITOR' }])).errors).toEqual([]);
    await s.authDs.query(`INSERT INTO auth.password_history (org_id, user_id, password_hash) VALUES ($1, $2, 'x')`, [admin.orgId, member.userId]);
    await s.authDs.query(`INSERT INTO auth.mfa_backup_code (org_id, user_id, code_hash) VALUES ($1, $2, 'x')`, [admin.orgId, member.userId]);

    expect(await remove(admin, admin.userId)).toMatchObject({ ok: false, removedUserId: null, errors: [{ code: 'CANNOT_REMOVE_SELF', field: 'id' }] });
    expect((await remove(admin, randomUUID())).errors.map((e) => e.code)).toEqual(['USER_NOT_FOUND']);
    const outsider = await signUpAndLogin(s.gatewayUrl);
    expect(await remove(outsider, member.userId)).toMatchObject({ ok: false, errors: [{ code: 'USER_NOT_FOUND' }] });
    expect(await dbUser(member.userId)).toBeDefined();

    const fresh = await freshLogin(member.email, admin.input.password);
    expect(await remove(admin, member.userId)).toEqual({ ok: true, removedUserId: member.userId, errors: [] });
    await until(() => meKind(fresh), 'TOKEN_REVOKED');
    expect(await meKind(secondSession)).toBe('TOKEN_REVOKED');
    expect((await gql<{ refreshSession: { errors: Err[] } }>(REFRESH, { t: fresh.refreshToken })).body.data!.refreshSession.errors[0]!.code).toBe(
      'REFRESH_TOKEN_INVALID',
    );
    await expect(login(s.gatewayUrl, member.email, admin.input.password)).rejects.toThrow(/INVALID_CREDENTIALS/);
    expect(await dbUser(member.userId)).toBeUndefined();
    for (const table of ['session', 'workspace_grant', 'password_history', 'mfa_backup_code']) {
      const [{ n }] = await s.authDs.query(`SELECT count(*)::int AS n FROM auth.${table} WHERE user_id = $1`, [member.userId]);
      expect(`${table}: ${n}`).toBe(`${table}: 0`);
    }
    const [ev] = await auditOf(admin.orgId, 'auth.user.removed');
    expect(ev!.data).toMatchObject({ actor: { id: admin.userId }, target: { id: member.userId }, details: { orgRole: 'ADMIN' } });

    // The e-mail address is free: a new organization can be signed up with it.
    const again = newSignUp({ email: member.email });
    expect((await gql<{ signUp: { ok: boolean; errors: Err[] } }>(SIGN_UP, { i: again })).body.data!.signUp).toEqual({ ok: true, errors: [] });
    const [reborn] = await s.authDs.query(`SELECT u.id, o.slug FROM auth."user" u JOIN auth.organization o ON o.id = u.org_id WHERE u.email = lower($1)`, [
      member.email,
    ]);
    expect(reborn.slug).toBe(again.slug);
    expect(reborn.id).not.toBe(member.userId);
  });

  it('leaves the last active ADMIN unable to step down or remove themself', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const other = await addUser(admin, 'ADMIN');
    expect((await setRole(other, admin.userId, 'MEMBER')).errors).toEqual([]);
    await until(() => meKind(admin), 'TOKEN_REVOKED');
    // `other` is now the only active ADMIN.
    expect(await remove(other, other.userId)).toMatchObject({ ok: false, errors: [{ code: 'CANNOT_REMOVE_SELF' }] });
    expect((await setRole(other, other.userId, 'MEMBER')).errors.map((e) => e.code)).toEqual(['LAST_ADMIN']);
  });

  it('answers FORBIDDEN to a MEMBER calling any of the admin mutations, and changes nothing', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    const victim = await addUser(admin, 'MEMBER');
    const ws = await s.knowWorkspace(admin.orgId);
    const before = await dbUser(victim.userId);
    const calls: Array<[string, Record<string, unknown>]> = [
      [ROLE, { u: victim.userId, r: 'ADMIN' }],
      [ROLE, { u: member.userId, r: 'ADMIN' }],
      [GRANTS, { u: member.userId, g: [{ workspaceId: ws, role: 'EDITOR' }] }],
      [REACTIVATE, { id: victim.userId }],
      [REMOVE, { id: victim.userId }],
    ];
    for (const [query, variables] of calls) {
      const res = await gql(query, variables, bearer(member.accessToken));
      expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(Object.values(res.body.data ?? {}).filter((v) => v !== null)).toEqual([]);
    }
    expect(await dbUser(victim.userId)).toEqual(before);
    expect(await dbUser(member.userId)).toMatchObject({ org_role: 'MEMBER' });
    expect(await dbGrants(member.userId)).toEqual([]);
    // Anonymous: not signed in.
    expect((await gql(REMOVE, { id: victim.userId })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
