import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { postGraphQL, gqlClient } from '../../test/support/http';
import { REFRESH, bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack, type Tokens } from '../../test/support/identity';
import { hashPassword } from '../../services/auth/src/managers/passwords';

/**
 * Sessions end to end: the session list, revoking one's own and (ADMIN) anyone's in the org, and
 * the org's session policy — idle timeout, absolute lifetime, maximum concurrent sessions — with
 * every revocation refused by the gateway on the next request (NATS KV).
 */
describe('sessions through the gateway', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  type Err = { code: string; field: string | null };
  type Sess = { id: string; createdAt: string; lastUsedAt: string; expiresAt: string; current: boolean; userAgent: string | null; ip: string | null };
  const gql = gqlClient(() => s.gatewayUrl);
  const FIELDS = 'id createdAt lastUsedAt expiresAt current userAgent ip';
  const mySessions = async (t: Tokens) => (await gql<{ mySessions: Sess[] }>(`{ mySessions { ${FIELDS} } }`, {}, bearer(t.accessToken))).body.data!.mySessions;
  const revoke = async (t: Tokens, id: string) =>
    (
      await gql<{ revokeSession: { ok: boolean; errors: Err[] } }>(
        `mutation($id: ID!){ revokeSession(id: $id) { ok errors { code field } } }`,
        { id },
        bearer(t.accessToken),
      )
    ).body.data!.revokeSession;
  const POLICY = `mutation($i: SecurityPolicyInput!){ updateSecurityPolicy(input: $i) { policy { mfaRequiredForAdmins idleTimeoutMinutes absoluteLifetimeHours maxConcurrentSessions } errors { code field } } }`;
  const setPolicy = async (t: Tokens, i: Record<string, unknown>) =>
    (await gql<{ updateSecurityPolicy: { policy: Record<string, unknown> | null; errors: Err[] } }>(POLICY, { i }, bearer(t.accessToken))).body.data!
      .updateSecurityPolicy;
  const sid = (t: Tokens) => decodeJwt(t.accessToken).sid as string;
  const refreshCode = async (t: Tokens) =>
    (await gql<{ refreshSession: { accessToken: string | null; errors: Err[] } }>(REFRESH, { t: t.refreshToken })).body.data!.refreshSession;
  const meKind = async (t: Tokens) => {
    const res = await gql<{ me: { kind: string } }>(`{ me { kind } }`, {}, bearer(t.accessToken));
    return res.body.data?.me.kind ?? (res.body.errors?.[0]?.extensions?.reason as string);
  };
  const until = async (check: () => Promise<unknown>, expected: unknown) => {
    const end = Date.now() + 2000;
    for (;;) {
      const got = await check();
      if (got === expected || Date.now() > end) return expect(got).toBe(expected);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  /** Another user of the admin's org, with the admin's password, signed in. */
  const addUser = async (admin: { orgId: string; input: { password: string } }, role: string) => {
    const email = `${role.toLowerCase()}-${randomUUID()}@example.test`;
    await s.authDs.query(`INSERT INTO auth."user" (org_id, email, display_name, org_role, password_hash) VALUES ($1, $2, $3, $4, $5)`, [
      admin.orgId,
      email,
      role,
      role,
      await hashPassword(admin.input.password),
    ]);
    return { email, ...(await login(s.gatewayUrl, email, admin.input.password)) };
  };

  it('lists my open sessions (current marked, with user agent and address) and revokes one of them', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const res = await postGraphQL<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(
      s.gatewayUrl,
      `mutation($i: LoginInput!){ login(input: $i) { accessToken refreshToken user { id } } }`,
      { i: { email: a.input.email, password: a.input.password } },
      { 'user-agent': 'Datalinx-Test/1.0 (sessions)' },
    );
    const second: Tokens = { ...res.body.data!.login, userId: a.userId };
    const list = await mySessions(a);
    expect(list.map((x) => x.id).sort()).toEqual([sid(a), sid(second)].sort());
    expect(list.find((x) => x.id === sid(a))!.current).toBe(true);
    const other = list.find((x) => x.id === sid(second))!;
    expect(other).toMatchObject({ current: false, userAgent: 'Datalinx-Test/1.0 (sessions)', ip: '127.0.0.1' });
    expect(new Date(other.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * 24 * 3600_000);
    expect(list[0]!.createdAt >= list[1]!.createdAt).toBe(true); // newest first

    expect(await revoke(a, sid(second))).toEqual({ ok: true, errors: [] });
    await until(() => meKind(second), 'TOKEN_REVOKED');
    expect((await refreshCode(second)).errors[0]!.code).toBe('SESSION_REVOKED');
    expect(await meKind(a)).toBe('USER');
    expect((await mySessions(a)).map((x) => x.id)).toEqual([sid(a)]);
    expect(await revoke(a, sid(second))).toMatchObject({ ok: false, errors: [{ code: 'SESSION_NOT_FOUND' }] });
    const [ev] = await s.authDs.query(`SELECT payload AS data FROM auth.outbox WHERE subject = $1 AND payload->>'action' = 'auth.session.revoked'`, [
      `audit.${a.orgId}`,
    ]);
    expect(ev.data).toMatchObject({ actor: { id: a.userId }, target: { type: 'Session', id: sid(second) } });
  });

  it("lets a member revoke only their own sessions, an ADMIN any session of the org, nobody another org's", async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const member = await addUser(admin, 'MEMBER');
    const member2 = await addUser(admin, 'MEMBER');
    const outsider = await signUpAndLogin(s.gatewayUrl);

    expect(await revoke(member, sid(member2))).toMatchObject({ ok: false, errors: [{ code: 'SESSION_NOT_FOUND' }] });
    expect(await revoke(member, sid(admin))).toMatchObject({ ok: false, errors: [{ code: 'SESSION_NOT_FOUND' }] });
    expect(await revoke(outsider, sid(member))).toMatchObject({ ok: false, errors: [{ code: 'SESSION_NOT_FOUND' }] });
    expect(await revoke(member, 'not-a-uuid')).toMatchObject({ ok: false, errors: [{ code: 'SESSION_NOT_FOUND' }] });
    expect(await meKind(member2)).toBe('USER');
    // Listing someone else's sessions is for org ADMINs, within their org.
    const asMember = await gql(`query($u: ID!){ userSessions(userId: $u) { id } }`, { u: member2.userId }, bearer(member.accessToken));
    expect(asMember.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asOutsider = await gql<{ userSessions: unknown[] }>(
      `query($u: ID!){ userSessions(userId: $u) { id } }`,
      { u: member2.userId },
      bearer(outsider.accessToken),
    );
    expect(asOutsider.body.data!.userSessions).toEqual([]);
    const asAdmin = await gql<{ userSessions: Sess[] }>(
      `query($u: ID!){ userSessions(userId: $u) { id current } }`,
      { u: member2.userId },
      bearer(admin.accessToken),
    );
    expect(asAdmin.body.data!.userSessions).toEqual([{ id: sid(member2), current: false }]);

    expect(await revoke(admin, sid(member2))).toEqual({ ok: true, errors: [] });
    await until(() => meKind(member2), 'TOKEN_REVOKED');
    expect(await meKind(member)).toBe('USER');
    // Anonymous callers cannot list or revoke.
    expect((await gql(`{ mySessions { id } }`)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('enforces the maximum of concurrent sessions: a new sign-in revokes the oldest', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    expect(await setPolicy(a, { maxConcurrentSessions: 2 })).toMatchObject({ policy: { maxConcurrentSessions: 2 }, errors: [] });
    const b = await login(s.gatewayUrl, a.input.email, a.input.password);
    expect(await meKind(a)).toBe('USER');
    const c = await login(s.gatewayUrl, a.input.email, a.input.password);
    await until(() => meKind(a), 'TOKEN_REVOKED');
    expect((await refreshCode(a)).errors[0]!.code).toBe('SESSION_REVOKED');
    expect(await meKind(b)).toBe('USER');
    expect((await mySessions(c)).map((x) => x.id).sort()).toEqual([sid(b), sid(c)].sort());
    const [row] = await s.authDs.query(`SELECT revoked_reason FROM auth.session WHERE id = $1`, [sid(a)]);
    expect(row.revoked_reason).toBe('max_sessions');
    // 0 turns the limit off.
    expect((await setPolicy(c, { maxConcurrentSessions: 0 })).policy).toMatchObject({ maxConcurrentSessions: null });
    await login(s.gatewayUrl, a.input.email, a.input.password);
    expect(await meKind(b)).toBe('USER');
  });

  it('refuses a refresh after the idle timeout and past the absolute lifetime, and signs the session out', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    expect(await setPolicy(a, { idleTimeoutMinutes: 3 })).toMatchObject({ policy: null, errors: [{ code: 'POLICY_INVALID', field: 'idleTimeoutMinutes' }] });
    expect(await setPolicy(a, { absoluteLifetimeHours: 0 })).toMatchObject({
      policy: null,
      errors: [{ code: 'POLICY_INVALID', field: 'absoluteLifetimeHours' }],
    });
    expect(await setPolicy(a, { idleTimeoutMinutes: 30 })).toEqual({
      policy: { mfaRequiredForAdmins: false, idleTimeoutMinutes: 30, absoluteLifetimeHours: 720, maxConcurrentSessions: null },
      errors: [],
    });

    // Used 10 minutes ago: fine, and the refresh counts as use.
    await s.authDs.query(`UPDATE auth.session SET last_used_at = now() - interval '10 minutes' WHERE id = $1`, [sid(a)]);
    const r1 = await refreshCode(a);
    expect(r1.errors).toEqual([]);
    const [used] = await s.authDs.query(`SELECT now() - last_used_at < interval '1 minute' AS recent FROM auth.session WHERE id = $1`, [sid(a)]);
    expect(used.recent).toBe(true);
    const b = await login(s.gatewayUrl, a.input.email, a.input.password);
    // Unused for 31 minutes: over.
    await s.authDs.query(`UPDATE auth.session SET last_used_at = now() - interval '31 minutes' WHERE id = $1`, [sid(b)]);
    expect((await refreshCode(b)).errors[0]!.code).toBe('SESSION_EXPIRED');
    await until(() => meKind(b), 'TOKEN_REVOKED');
    const [idle] = await s.authDs.query(`SELECT revoked_reason FROM auth.session WHERE id = $1`, [sid(b)]);
    expect(idle.revoked_reason).toBe('idle_timeout');

    // Absolute lifetime, lowered after the session began: it applies to open sessions too.
    const c = await login(s.gatewayUrl, a.input.email, a.input.password);
    expect((await setPolicy(c, { absoluteLifetimeHours: 1, idleTimeoutMinutes: 0 })).policy).toMatchObject({
      absoluteLifetimeHours: 1,
      idleTimeoutMinutes: null,
    });
    await s.authDs.query(`UPDATE auth.session SET created_at = now() - interval '61 minutes' WHERE id = $1`, [sid(c)]);
    expect((await refreshCode(c)).errors[0]!.code).toBe('SESSION_EXPIRED');
    await until(() => meKind(c), 'TOKEN_REVOKED');
    const [old] = await s.authDs.query(`SELECT revoked_reason FROM auth.session WHERE id = $1`, [sid(c)]);
    expect(old.revoked_reason).toBe('absolute_lifetime');
    // A new sign-in gets the new lifetime.
    const d = await login(s.gatewayUrl, a.input.email, a.input.password);
    const [row] = await s.authDs.query(`SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM auth.session WHERE id = $1`, [sid(d)]);
    expect(row.s).toBeGreaterThan(3590);
    expect(row.s).toBeLessThanOrEqual(3601);
  });
});
