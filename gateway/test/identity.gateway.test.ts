import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, importPKCS8 } from 'jose';
import { gqlClient } from '../../test/support/http';
import { LOGIN, REFRESH, SIGN_UP, bearer, login, newSignUp, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { createLogger } from '@datalinx/common';
import { WorkspaceGrantDao } from '../../services/auth/src/daos/workspace-grant.dao';
import { RevocationPublisher, openIdentityBucket } from '../../services/auth/src/tokens/revocations';
import { RevocationView } from '../src/auth/revocation-view';
import { bearerAuthenticator, defaultJwksUrl, remoteJwks } from '../src/auth/bearer';
import { AuthUnavailableError } from '../src/auth/errors';

/**
 * Identity end to end on real PostgreSQL and NATS: sign-up, login, refresh rotation and reuse
 * detection, logout and deactivation, through the real gateway and its bearer authenticator
 * (remote JWKS + the KV-watched revocation view).
 */
describe('identity through the gateway', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  const gql = gqlClient(() => s.gatewayUrl);
  const ME = `{ me { kind user { id email orgRole organization { slug } } organization { slug } } }`;
  const count = async (sql: string, params: unknown[] = []) => ((await s.authDs.query(sql, params)) as Array<{ n: number }>)[0]!.n;

  /** A token's refusal: UNAUTHENTICATED with the reason, no data, HTTP 200, the token not echoed. */
  async function expectRefused(token: string, reason: string) {
    const res = await fetch(s.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(token) },
      body: JSON.stringify({ query: ME }),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    const body = JSON.parse(text) as { data?: unknown; errors?: Array<{ extensions?: Record<string, unknown> }> };
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason });
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[1] || token);
  }

  it('signs up, logs in and answers `me` for the bearer of the access token', async () => {
    const input = newSignUp({ email: 'Grace.Hopper@Example.TEST' });
    const su = await gql<{ signUp: { ok: boolean; errors: unknown[] } }>(SIGN_UP, { i: input });
    // The answer names nothing (it is the same for an address that already has an account): sign in next.
    expect(su.body).toEqual({ data: { signUp: { ok: true, errors: [] } } });
    const [created] = await s.authDs.query(
      `SELECT u.id AS "userId", u.org_id AS "orgId", u.org_role AS "orgRole", u.status, o.slug, o.name, o.region, o.time_zone AS "timeZone"
         FROM auth."user" u JOIN auth.organization o ON o.id = u.org_id WHERE u.email = $1`,
      ['grace.hopper@example.test'],
    );
    expect(created).toMatchObject({
      orgRole: 'ADMIN',
      status: 'ACTIVE',
      slug: input.slug,
      name: input.organizationName,
      region: 'eu',
      timeZone: 'Europe/Berlin',
    });
    const { orgId, userId } = created as { orgId: string; userId: string };

    // argon2id hash stored, never the password; the password is in the history; an audit event in the outbox.
    const [row] = await s.authDs.query(`SELECT password_hash FROM auth."user" WHERE id = $1`, [userId]);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(await count(`SELECT count(*)::int AS n FROM auth.password_history WHERE user_id = $1 AND password_hash = $2`, [userId, row.password_hash])).toBe(1);
    const [event] = await s.authDs.query(`SELECT subject, payload FROM auth.outbox WHERE subject = $1`, [`audit.${orgId}`]);
    expect(event.payload).toMatchObject({
      v: 1,
      orgId,
      action: 'auth.signup',
      actor: { type: 'user', id: userId },
      target: { type: 'Organization', id: orgId },
      outcome: 'success',
    });
    const [{ settings }] = await s.authDs.query(`SELECT settings FROM auth.organization WHERE id = $1`, [orgId]);
    expect(settings.passwordPolicy).toEqual({
      minLength: 12,
      requireUpper: true,
      requireLower: true,
      requireDigit: true,
      requireSymbol: true,
      historySize: 5,
      maxAgeDays: null,
    });

    // Login is case-insensitive on the e-mail.
    const li = await gql<{
      login: {
        accessToken: string;
        expiresAt: string;
        refreshToken: string;
        user: { id: string; email: string; organization: { slug: string } };
        errors: unknown[];
      };
    }>(LOGIN, {
      i: { email: 'grace.hopper@example.test', password: input.password },
    });
    expect(li.body.errors).toBeUndefined();
    const l = li.body.data!.login;
    expect(l.errors).toEqual([]);
    expect(l.user).toEqual({ id: userId, email: 'grace.hopper@example.test', organization: { slug: input.slug } });
    expect(l.refreshToken).toMatch(/^dlx_rt_[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(l.accessToken);
    const claims = decodeJwt(l.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', kid: s.issuer.kid, typ: 'at+jwt' });
    expect(claims).toMatchObject({ sub: userId, org: orgId, role: 'ADMIN', ep: 0, aud: 'dlx-api', iss: 'dlx-auth' });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);
    expect(new Date(l.expiresAt).getTime()).toBe(claims.exp! * 1000);
    const [session] = await s.authDs.query(`SELECT id, org_id, user_id, expires_at, revoked_at FROM auth.session WHERE id = $1`, [claims.sid]);
    expect(session).toMatchObject({ org_id: orgId, user_id: userId, revoked_at: null });
    expect(new Date(session.expires_at).getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
    // The refresh token is stored only as its hash.
    expect(await count(`SELECT count(*)::int AS n FROM auth.refresh_token WHERE token_hash = $1`, [l.refreshToken])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM auth.refresh_token WHERE session_id = $1`, [claims.sid])).toBe(1);

    const me = await gql(ME, {}, bearer(l.accessToken));
    expect(me.body).toEqual({
      data: {
        me: {
          kind: 'USER',
          user: { id: userId, email: 'grace.hopper@example.test', orgRole: 'ADMIN', organization: { slug: input.slug } },
          organization: { slug: input.slug },
        },
      },
    });
    const users = await gql(`{ users { nodes { email } } }`, {}, bearer(l.accessToken));
    expect(users.body.data).toEqual({ users: { nodes: [{ email: 'grace.hopper@example.test' }] } });
  });

  it('treats a request without a token as anonymous, and a malformed header as an invalid token', async () => {
    expect((await gql(ME)).body).toEqual({ data: { me: { kind: 'ANONYMOUS', user: null, organization: null } } });
    const res = await gql(ME, {}, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_INVALID' } }] });
  });

  it('reports the revocation view in /readyz', async () => {
    const res = await fetch(new URL('/readyz', s.gatewayUrl));
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    expect(body.checks.identity).toEqual({ ok: true });
    expect(body.checks.auth).toEqual({ ok: true });
  });

  it('publishes the JWKS without any assertion, and only public key material', async () => {
    const res = await fetch(s.jwksUrl);
    expect(res.status).toBe(200);
    const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: s.issuer.kid });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('names the password rule that failed, one error per rule, and writes nothing', async () => {
    const before = await count(`SELECT count(*)::int AS n FROM auth.organization`);
    const cases: Array<[string, RegExp[]]> = [
      ['Sh0rt!a', [/at least 12 characters/]],
      ['all-lowercase-9-letters', [/uppercase/]],
      ['ALL-UPPERCASE-9-LETTERS', [/lowercase/]],
      ['No-Digits-In-Here', [/digit/]],
      ['NoSymbols1234567', [/symbol/]],
      ['short', [/at least 12/, /uppercase/, /digit/, /symbol/]],
    ];
    for (const [password, rules] of cases) {
      const res = await gql<{ signUp: { ok: boolean; errors: Array<{ code: string; field: string; message: string }> } }>(SIGN_UP, {
        i: newSignUp({ password }),
      });
      const p = res.body.data!.signUp;
      expect(p.ok).toBe(false);
      expect(p.errors).toHaveLength(rules.length);
      rules.forEach((rule, i) => expect(p.errors[i]).toEqual({ code: 'PASSWORD_TOO_WEAK', field: 'password', message: expect.stringMatching(rule) }));
      for (const e of p.errors) expect(e.message).not.toContain(password);
    }
    expect(await count(`SELECT count(*)::int AS n FROM auth.organization`)).toBe(before);
  });

  it('validates slug, time zone, region and e-mail with typed errors', async () => {
    const res = await gql<{ signUp: { errors: Array<{ code: string; field: string }> } }>(SIGN_UP, {
      i: newSignUp({ slug: 'Not A Slug', timeZone: 'Mars/Olympus_Mons', region: '', email: 'not-an-email' }),
    });
    expect(res.body.data!.signUp.errors.map((e) => [e.code, e.field])).toEqual([
      ['SLUG_INVALID', 'slug'],
      ['REGION_INVALID', 'region'],
      ['TIME_ZONE_INVALID', 'timeZone'],
      ['EMAIL_INVALID', 'email'],
    ]);
  });

  it('refuses a taken slug with a typed error (slugs are not personal) and writes nothing; a taken e-mail creates nothing either', async () => {
    const first = newSignUp();
    expect((await gql<{ signUp: { errors: unknown[] } }>(SIGN_UP, { i: first })).body.data!.signUp.errors).toEqual([]);
    const orgs = await count(`SELECT count(*)::int AS n FROM auth.organization`);
    const users = await count(`SELECT count(*)::int AS n FROM auth."user"`);
    const dupSlug = await gql<{ signUp: { ok: boolean; errors: Array<{ code: string; field: string }> } }>(SIGN_UP, { i: newSignUp({ slug: first.slug }) });
    expect(dupSlug.body.data!.signUp).toMatchObject({ ok: false, errors: [{ code: 'SLUG_TAKEN', field: 'slug' }] });
    // A taken e-mail (any case) is answered like a success (identity.sign-up.test.ts) and creates nothing.
    const dupEmail = await gql<{ signUp: { ok: boolean; errors: unknown[] } }>(SIGN_UP, { i: newSignUp({ email: first.email.toUpperCase() }) });
    expect(dupEmail.body.data!.signUp).toEqual({ ok: true, errors: [] });
    expect(await count(`SELECT count(*)::int AS n FROM auth.organization`)).toBe(orgs);
    expect(await count(`SELECT count(*)::int AS n FROM auth."user"`)).toBe(users);
    // The database enforces it too (a concurrent sign-up cannot slip past the check).
    await expect(
      s.authDs.query(`INSERT INTO auth."user" (org_id, email, display_name, org_role) SELECT id, $1, 'X', 'MEMBER' FROM auth.organization LIMIT 1`, [
        first.email.toUpperCase(),
      ]),
    ).rejects.toThrow(/user_email_uq/);
  });

  it('gives an unknown e-mail and a wrong password the same answer in similar time', async () => {
    const { input } = await signUpAndLogin(s.gatewayUrl);
    const attempt = async (email: string, password: string) => {
      const t0 = performance.now();
      const res = await gql<{ login: { accessToken: unknown; refreshToken: unknown; user: unknown; errors: unknown[] } }>(LOGIN, { i: { email, password } });
      return { ms: performance.now() - t0, body: res.body };
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await attempt(`nobody-${randomUUID()}@example.test`, 'Whatever-Pass-1');
      const w = await attempt(input.email, 'Wrong-Password-1');
      expect(u.body).toEqual(w.body);
      expect(w.body.data?.login).toEqual({
        accessToken: null,
        refreshToken: null,
        user: null,
        errors: [{ code: 'INVALID_CREDENTIALS', field: null, message: expect.any(String) }],
        expiresAt: null,
      });
      unknown.push(u.ms);
      wrong.push(w.ms);
    }
    const ratio = median(unknown) / median(wrong);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it('rotates the refresh token on every use; reusing a rotated one revokes the whole session', async () => {
    const t = await signUpAndLogin(s.gatewayUrl);
    const r1 = await gql<{ refreshSession: { accessToken: string; refreshToken: string; user: { id: string }; errors: unknown[] } }>(REFRESH, {
      t: t.refreshToken,
    });
    const p1 = r1.body.data!.refreshSession;
    expect(p1.errors).toEqual([]);
    expect(p1.user.id).toBe(t.userId);
    expect(p1.refreshToken).not.toBe(t.refreshToken);
    expect(decodeJwt(p1.accessToken).sid).toBe(decodeJwt(t.accessToken).sid);
    expect((await gql(ME, {}, bearer(p1.accessToken))).body.data).toMatchObject({ me: { kind: 'USER' } });

    const r2 = await gql<{ refreshSession: { refreshToken: string; errors: unknown[] } }>(REFRESH, { t: p1.refreshToken });
    const p2 = r2.body.data!.refreshSession;
    expect(p2.errors).toEqual([]);

    // The first token was rotated long ago: presenting it again means it leaked.
    const reuse = await gql<{ refreshSession: { accessToken: unknown; refreshToken: unknown; errors: Array<{ code: string }> } }>(REFRESH, {
      t: t.refreshToken,
    });
    expect(reuse.body.data!.refreshSession).toMatchObject({ accessToken: null, refreshToken: null, errors: [{ code: 'REFRESH_TOKEN_REUSED' }] });
    const sid = decodeJwt(t.accessToken).sid as string;
    const [session] = await s.authDs.query(`SELECT revoked_at, revoked_reason FROM auth.session WHERE id = $1`, [sid]);
    expect(session.revoked_at).not.toBeNull();
    expect(session.revoked_reason).toBe('refresh_token_reuse');
    // …so the newest refresh token of that session fails too, and so do its access tokens.
    const after = await gql<{ refreshSession: { errors: Array<{ code: string }> } }>(REFRESH, { t: p2.refreshToken });
    expect(after.body.data!.refreshSession.errors[0]!.code).toBe('SESSION_REVOKED');
    await eventually(() => expectRefused(p1.accessToken, 'TOKEN_REVOKED'));
    // An unknown refresh token is a typed error as well.
    const unknown = await gql<{ refreshSession: { errors: Array<{ code: string }> } }>(REFRESH, { t: 'dlx_rt_nope' });
    expect(unknown.body.data!.refreshSession.errors[0]!.code).toBe('REFRESH_TOKEN_INVALID');
  });

  describe('refuses through the gateway', () => {
    let t: Awaited<ReturnType<typeof signUpAndLogin>>;
    let claims: Record<string, unknown>;
    beforeAll(async () => {
      t = await signUpAndLogin(s.gatewayUrl);
      claims = decodeJwt(t.accessToken) as Record<string, unknown>;
    });
    /** The real token's private claims (org, role, sid, ep), to re-sign under test conditions. */
    const body = () => {
      const { iss: _i, aud: _a, iat: _t, exp: _e, sub: _s, ...rest } = claims;
      return rest;
    };
    const forge = async (o: { key?: string; kid?: string; aud?: string; iatOffset?: number; expOffset?: number } = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(body())
        .setProtectedHeader({ alg: 'EdDSA', kid: o.kid ?? s.issuer.kid, typ: 'at+jwt' })
        .setSubject(claims.sub as string)
        .setIssuer('dlx-auth')
        .setAudience(o.aud ?? 'dlx-api')
        .setIssuedAt(now + (o.iatOffset ?? 0))
        .setExpirationTime(now + (o.expOffset ?? 300))
        .sign(await importPKCS8(o.key ?? s.signingKeyPem, 'EdDSA'));
    };

    it('accepts a token forged with the right key (the control for the cases below)', async () => {
      expect((await gql(ME, {}, bearer(await forge()))).body.data).toMatchObject({ me: { kind: 'USER', user: { id: t.userId } } });
    });

    it('a JWT with alg none', async () => {
      const none = new UnsecuredJWT(body())
        .setSubject(claims.sub as string)
        .setIssuer('dlx-auth')
        .setAudience('dlx-api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .encode();
      await expectRefused(none, 'TOKEN_INVALID');
    });

    it('a JWT signed by another Ed25519 key, under the real kid and under its own', async () => {
      const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      await expectRefused(await forge({ key: other }), 'TOKEN_INVALID');
      await expectRefused(await forge({ key: other, kid: 'attacker-1' }), 'TOKEN_INVALID');
    });

    it('an HS256 JWT (algorithm confusion)', async () => {
      const hs = await new SignJWT(body())
        .setProtectedHeader({ alg: 'HS256', kid: s.issuer.kid })
        .setSubject(claims.sub as string)
        .setIssuer('dlx-auth')
        .setAudience('dlx-api')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!!'));
      await expectRefused(hs, 'TOKEN_INVALID');
    });

    it('an expired JWT', async () => {
      await expectRefused(await forge({ iatOffset: -400, expOffset: -60 }), 'TOKEN_EXPIRED');
    });

    it('a JWT for another audience', async () => {
      await expectRefused(await forge({ aud: 'dlx-subgraph' }), 'TOKEN_INVALID');
    });

    it('a JWT that claims to live longer than 15 minutes', async () => {
      await expectRefused(await forge({ expOffset: 3600 }), 'TOKEN_INVALID');
    });

    it('a tampered JWT (role raised to ADMIN of another org)', async () => {
      const [h, , sig] = t.accessToken.split('.');
      const p = Buffer.from(JSON.stringify({ ...claims, org: randomUUID() })).toString('base64url');
      await expectRefused(`${h}.${p}.${sig}`, 'TOKEN_INVALID');
    });

    it('the access token of a logged-out session, while a second session of the same user goes on', async () => {
      const other = await login(s.gatewayUrl, t.input.email, t.input.password);
      const out = await gql<{ logout: { ok: boolean; errors: unknown[] } }>(`mutation { logout { ok errors { code } } }`, {}, bearer(other.accessToken));
      expect(out.body.data).toEqual({ logout: { ok: true, errors: [] } });
      await eventually(() => expectRefused(other.accessToken, 'TOKEN_REVOKED'));
      const refresh = await gql<{ refreshSession: { errors: Array<{ code: string }> } }>(REFRESH, { t: other.refreshToken });
      expect(refresh.body.data!.refreshSession.errors[0]!.code).toBe('SESSION_REVOKED');
      expect((await gql(ME, {}, bearer(t.accessToken))).body.data).toMatchObject({ me: { kind: 'USER' } });
      expect((await gql(`mutation { logout { ok } }`)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  it('deactivating a user rejects their still-valid access token on the next request; only an ADMIN may, never on themself', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    // A MEMBER of the same org, with a workspace grant that ends up in their token.
    const memberEmail = `member-${randomUUID()}@example.test`;
    const password = 'Member-Pass-1234!';
    const hash = await (await import('../../services/auth/src/managers/passwords')).hashPassword(password);
    const [{ id: memberId }] = await s.authDs.query(
      `INSERT INTO auth."user" (org_id, email, display_name, org_role, password_hash) VALUES ($1, $2, 'Mo Member', 'MEMBER', $3) RETURNING id`,
      [admin.orgId, memberEmail, hash],
    );
    const workspaceId = randomUUID();
    await new WorkspaceGrantDao(s.authDs).upsert(admin.orgId, memberId, workspaceId, 'EDITOR');
    const member = await login(s.gatewayUrl, memberEmail, password);
    expect(decodeJwt(member.accessToken)).toMatchObject({ role: 'MEMBER', grants: [{ workspaceId, role: 'EDITOR' }], ep: 0 });
    expect((await gql(ME, {}, bearer(member.accessToken))).body.data).toMatchObject({ me: { kind: 'USER', user: { id: memberId } } });

    const DEACTIVATE = `mutation($id: ID!){ deactivateUser(id: $id) { user { id status } errors { code field } } }`;
    const byMember = await gql(DEACTIVATE, { id: admin.userId }, bearer(member.accessToken));
    expect(byMember.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const self = await gql(DEACTIVATE, { id: admin.userId }, bearer(admin.accessToken));
    expect(self.body.data).toEqual({ deactivateUser: { user: null, errors: [{ code: 'CANNOT_DEACTIVATE_SELF', field: 'id' }] } });
    const stranger = await signUpAndLogin(s.gatewayUrl);
    const crossOrg = await gql(DEACTIVATE, { id: memberId }, bearer(stranger.accessToken));
    expect(crossOrg.body.data).toEqual({ deactivateUser: { user: null, errors: [{ code: 'USER_NOT_FOUND', field: 'id' }] } });

    const done = await gql(DEACTIVATE, { id: memberId }, bearer(admin.accessToken));
    expect(done.body.data).toEqual({ deactivateUser: { user: { id: memberId, status: 'DEACTIVATED' }, errors: [] } });
    // Still inside its 15 minutes and correctly signed — refused anyway (epoch bumped, sessions revoked).
    await eventually(() => expectRefused(member.accessToken, 'TOKEN_REVOKED'));
    const [{ token_epoch }] = await s.authDs.query(`SELECT token_epoch FROM auth."user" WHERE id = $1`, [memberId]);
    expect(token_epoch).toBe(1);
    expect(s.revocations.currentEpoch(memberId)).toBe(1);
    // The epoch alone refuses too: a correctly signed token of a session that was never revoked, still at epoch 0.
    const { iss: _i, aud: _a, iat: _t, exp: _e, ...memberClaims } = decodeJwt(member.accessToken);
    const otherSession = await new SignJWT({ ...memberClaims, sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid: s.issuer.kid, typ: 'at+jwt' })
      .setIssuer('dlx-auth')
      .setAudience('dlx-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(await importPKCS8(s.signingKeyPem, 'EdDSA'));
    await expectRefused(otherSession, 'TOKEN_REVOKED');
    const refresh = await gql<{ refreshSession: { errors: Array<{ code: string }> } }>(REFRESH, { t: member.refreshToken });
    expect(refresh.body.data!.refreshSession.errors[0]!.code).toBe('SESSION_REVOKED');
    const relogin = await gql<{ login: { accessToken: unknown; errors: Array<{ code: string }> } }>(LOGIN, { i: { email: memberEmail, password } });
    expect(relogin.body.data!.login).toMatchObject({ accessToken: null, errors: [{ code: 'INVALID_CREDENTIALS' }] });
    // The admin is unaffected.
    expect((await gql(ME, {}, bearer(admin.accessToken))).body.data).toMatchObject({ me: { kind: 'USER', user: { id: admin.userId } } });
    const audit = await s.authDs.query(`SELECT payload FROM auth.outbox WHERE subject = $1 AND payload->>'action' = 'auth.user.deactivated'`, [
      `audit.${admin.orgId}`,
    ]);
    expect(audit).toHaveLength(1);
  });
});

describe('the bearer authenticator when it cannot check', () => {
  it('answers AUTH_UNAVAILABLE (not "invalid token") when the JWKS cannot be fetched or revocations are not loaded', async () => {
    const { AccessTokenIssuer } = await import('../../services/auth/src/tokens/access-tokens');
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const issuer = await AccessTokenIssuer.fromPem(key);
    const { token } = await issuer.sign({ sub: randomUUID(), org: randomUUID(), role: 'MEMBER', sid: randomUUID(), ep: 0 });
    const req = { headers: { authorization: `Bearer ${token}` } } as never;
    const log = createLogger('bearer-test', 'silent');
    const loaded = { ready: true, isSessionRevoked: () => false, currentEpoch: () => undefined, isApiKeyRevoked: () => false };
    const down = bearerAuthenticator({ jwks: remoteJwks('http://127.0.0.1:9/.well-known/jwks.json'), revocations: loaded, log });
    await expect(down(req)).rejects.toBeInstanceOf(AuthUnavailableError);
    const localJwks = async () => (await import('jose')).importJWK(issuer.jwks().keys[0]!, 'EdDSA');
    const notLoaded = bearerAuthenticator({ jwks: localJwks, revocations: { ...loaded, ready: false }, log });
    await expect(notLoaded(req)).rejects.toBeInstanceOf(AuthUnavailableError);
    const ok = bearerAuthenticator({ jwks: localJwks, revocations: loaded, log });
    await expect(ok(req)).resolves.toMatchObject({ kind: 'user', orgRole: 'MEMBER', authMethod: 'bearer', grants: [] });
  });

  it("derives the JWKS URL from AUTH_URL's origin", () => {
    expect(defaultJwksUrl('http://auth:4001/graphql')).toBe('http://auth:4001/.well-known/jwks.json');
  });
});

describe("the gateway's revocation view", () => {
  it('has every earlier revocation loaded when start() resolves (a gateway started later refuses at once)', async () => {
    const { connectNats } = await import('@datalinx/messaging');
    const nats = await connectNats(process.env.NATS_URL!, 'revocation-view-test');
    try {
      const publisher = new RevocationPublisher(await openIdentityBucket(nats.nc));
      const sid = randomUUID();
      const userId = randomUUID();
      await publisher.sessionsRevoked([sid]);
      await publisher.epochChanged(userId, 3);
      const view = await RevocationView.start(nats.nc, createLogger('view-test', 'silent'));
      try {
        expect(view.ready).toBe(true);
        expect(view.isSessionRevoked(sid)).toBe(true);
        expect(view.isSessionRevoked(randomUUID())).toBe(false);
        expect(view.currentEpoch(userId)).toBe(3);
        expect(view.currentEpoch(randomUUID())).toBeUndefined();
        // …and later writes arrive through the watch.
        const later = randomUUID();
        await publisher.sessionsRevoked([later]);
        const until = Date.now() + 2000;
        while (!view.isSessionRevoked(later) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        expect(view.isSessionRevoked(later)).toBe(true);
      } finally {
        await view.stop();
      }
      expect(view.ready).toBe(false);
    } finally {
      await nats.close();
    }
  });
});

/**
 * Revocations reach the gateway through a NATS KV watch, asynchronously to the HTTP answer of the
 * mutation; in practice the update lands first. Retry briefly so the test states the guarantee
 * (refused within moments) rather than a race, and fail if it never happens.
 */
async function eventually(check: () => Promise<void>, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
