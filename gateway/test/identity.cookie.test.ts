import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { SESSION_COOKIE_PATTERN } from '@datalinx/contracts';
import { type GqlResponse, gqlClient } from '../../test/support/http';
import { REFRESH, bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack, type Tokens } from '../../test/support/identity';

/**
 * Browser sessions through the real gateway and the real auth service: a refresh token is turned
 * into the httpOnly `dlx_session` cookie (+ the `dlx_csrf` double-submit cookie) by POST
 * /auth/session; GraphQL requests with the cookie need the matching x-dlx-csrf header; the
 * gateway exchanges the cookie for short-lived access tokens (cached) and still applies every
 * revocation on the next request; DELETE /auth/session signs out; the org's idle timeout ends it.
 */

const ME = `{ me { kind user { id email } } }`;
const SESSIONS = `{ mySessions { id current } }`;
const sid = (t: Tokens) => decodeJwt(t.accessToken).sid as string;

interface Jar {
  session: string;
  csrf: string;
}

/** One Set-Cookie header → name, value and attributes (lower-cased names; flags map to ''). */
function parseSetCookie(header: string): { name: string; value: string; attrs: Map<string, string> } {
  const [pair, ...rest] = header.split(';').map((x) => x.trim());
  const eq = pair!.indexOf('=');
  const attrs = new Map(rest.map((a) => [a.split('=')[0]!.toLowerCase(), a.includes('=') ? a.slice(a.indexOf('=') + 1) : '']));
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attrs };
}

function setCookies(res: Response) {
  return new Map(
    res.headers
      .getSetCookie()
      .map((h) => parseSetCookie(h))
      .map((c) => [c.name, c] as const),
  );
}

describe('browser sessions: the dlx_session cookie through the gateway', () => {
  let s: IdentityStack;
  /** Every GraphQL answer and every /auth/session answer body, and every cookie value seen: no answer may contain a cookie. */
  const bodies: string[] = [];
  const cookieValues: string[] = [];

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  const sessionUrl = () => new URL('/auth/session', s.gatewayUrl).toString();
  const client = gqlClient(() => s.gatewayUrl, { onResponse: (res) => bodies.push(JSON.stringify(res.body)) });
  const gql = <T = Record<string, unknown>>(
    query: string,
    headers: Record<string, string> = {},
    variables: Record<string, unknown> = {},
  ): Promise<GqlResponse<T>> => client<T>(query, variables, headers);
  /** The browser's request headers: both cookies, and the CSRF header (the CSRF cookie's value unless given). */
  const browser = (j: Jar, csrfHeader: string | null = j.csrf): Record<string, string> => ({
    cookie: `dlx_session=${j.session}; dlx_csrf=${j.csrf}`,
    ...(csrfHeader !== null ? { 'x-dlx-csrf': csrfHeader } : {}),
  });
  const openCookie = async (refreshToken: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    const res = await fetch(sessionUrl(), { method: 'POST', headers, body: JSON.stringify({ refreshToken }) });
    const text = await res.text();
    bodies.push(text);
    return { res, body: JSON.parse(text) as Record<string, unknown>, cookies: setCookies(res) };
  };
  /** POST /auth/session with a fresh login's refresh token → the cookie jar. */
  const signInBrowser = async (t: Tokens): Promise<Jar> => {
    const { res, cookies } = await openCookie(t.refreshToken);
    expect(res.status).toBe(200);
    const jar = { session: cookies.get('dlx_session')!.value, csrf: cookies.get('dlx_csrf')!.value };
    cookieValues.push(jar.session, jar.csrf);
    return jar;
  };
  const me = async (headers: Record<string, string>) => {
    const res = await gql<{ me: { kind: string; user: { id: string; email: string } | null } }>(ME, headers);
    return { status: res.status, data: res.body.data, code: res.body.errors?.[0]?.extensions?.code, reason: res.body.errors?.[0]?.extensions?.reason };
  };
  /** Polls until the cookie is refused (revocations reach the gateway through NATS KV). */
  const untilRefused = async (j: Jar) => {
    const deadline = Date.now() + 5000;
    let r = await me(browser(j));
    while (r.status === 200 && Date.now() < deadline) {
      await new Promise((x) => setTimeout(x, 25));
      r = await me(browser(j));
    }
    return r;
  };

  it('turns a refresh token into httpOnly session + CSRF cookies, and signs the browser in with them', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const { res, body, cookies } = await openCookie(a.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const session = cookies.get('dlx_session')!;
    const csrf = cookies.get('dlx_csrf')!;
    expect(session.value).toMatch(SESSION_COOKIE_PATTERN);
    expect(session.attrs.has('httponly')).toBe(true);
    expect(session.attrs.get('samesite')).toBe('Lax');
    expect(session.attrs.get('path')).toBe('/');
    expect(session.attrs.has('secure')).toBe(false); // this stack is plain http://127.0.0.1
    // The session's absolute lifetime (default 30 days).
    expect(Number(session.attrs.get('max-age'))).toBeGreaterThan(30 * 86400 - 60);
    expect(Number(session.attrs.get('max-age'))).toBeLessThanOrEqual(30 * 86400);
    // The CSRF cookie is for the page's JS: not HttpOnly, same scope and lifetime.
    expect(csrf.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrf.attrs.has('httponly')).toBe(false);
    expect(csrf.attrs.get('samesite')).toBe('Lax');
    expect(csrf.attrs.get('path')).toBe('/');
    expect(csrf.attrs.get('max-age')).toBe(session.attrs.get('max-age'));
    expect(body).toEqual({ csrfToken: csrf.value, expiresAt: expect.any(String) });
    expect(Math.abs(new Date(body.expiresAt as string).getTime() - (Date.now() + 30 * 86400_000))).toBeLessThan(120_000);
    const jar = { session: session.value, csrf: csrf.value };
    cookieValues.push(jar.session, jar.csrf);
    // Only the sha256 of the cookie is stored, on the very session of the login.
    const [row] = await s.authDs.query(`SELECT encode(cookie_hash, 'hex') AS h FROM auth.session WHERE id = $1`, [sid(a)]);
    expect(row.h).toMatch(/^[0-9a-f]{64}$/);

    // Signed in: twice (the second answer comes from the gateway's cached token).
    for (let i = 0; i < 2; i++) {
      expect(await me(browser(jar))).toMatchObject({ status: 200, data: { me: { kind: 'USER', user: { id: a.userId, email: a.input.email } } } });
    }
    // It is the login's session, now the browser's.
    expect((await gql<{ mySessions: Array<{ id: string; current: boolean }> }>(SESSIONS, browser(jar))).body.data!.mySessions).toEqual([
      { id: sid(a), current: true },
    ]);

    // No CSRF header, a wrong one, or no CSRF cookie: 403 and no data, on every method.
    for (const headers of [
      browser(jar, null),
      browser(jar, randomBytes(32).toString('base64url')),
      browser(jar, ''),
      { cookie: `dlx_session=${jar.session}`, 'x-dlx-csrf': jar.csrf },
    ]) {
      const r = await me(headers);
      expect(r).toMatchObject({ status: 403, code: 'CSRF_TOKEN_INVALID' });
      expect(r.data).toBeUndefined();
    }
    const get = await fetch(`${s.gatewayUrl}?query=${encodeURIComponent(ME)}`, { headers: { ...browser(jar, null), 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(403);
    const getBody = await get.text();
    bodies.push(getBody);
    expect(JSON.parse(getBody)).toMatchObject({ errors: [{ extensions: { code: 'CSRF_TOKEN_INVALID' } }] });
    expect(JSON.parse(getBody).data).toBeUndefined();
    // An explicit credential wins over the cookie (no CSRF needed for a bearer token).
    expect(await me({ ...browser(jar, null), ...bearer(a.accessToken) })).toMatchObject({ status: 200, data: { me: { kind: 'USER' } } });

    // The refresh token was spent by the conversion: presenting it again is reuse, which signs the session out.
    const reused = await gql<{ refreshSession: { errors: Array<{ code: string }> } }>(REFRESH, {}, { t: a.refreshToken });
    expect(reused.body.data!.refreshSession.errors[0]!.code).toBe('REFRESH_TOKEN_REUSED');
    expect(await untilRefused(jar)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    // …and it cannot be converted again either.
    const again = await openCookie(a.refreshToken);
    expect(again.res.status).toBe(401);
    expect(again.body).toEqual({ error: 'SESSION_REVOKED', message: expect.stringMatching(/Sign in again/) });
    expect(again.res.headers.getSetCookie()).toEqual([]);
  });

  it('refuses bad conversion requests with a typed error that says what to do', async () => {
    const unknown = await openCookie(`dlx_rt_${randomBytes(32).toString('base64url')}`);
    expect(unknown.res.status).toBe(401);
    expect(unknown.body).toEqual({ error: 'REFRESH_TOKEN_INVALID', message: 'The refresh token is not valid. Sign in again.' });
    expect(unknown.res.headers.getSetCookie()).toEqual([]);
    const missing = await openCookie(undefined);
    expect(missing.res.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'BAD_REQUEST', message: expect.stringMatching(/refreshToken/) });
    // Not JSON (what a cross-site form could send): refused.
    const t = await signUpAndLogin(s.gatewayUrl);
    const form = await openCookie(t.refreshToken, { 'content-type': 'text/plain' });
    expect(form.res.status).toBe(400);
    // The refresh token was not spent by the refused request.
    const refreshed = await gql<{ refreshSession: { errors: unknown[] } }>(REFRESH, {}, { t: t.refreshToken });
    expect(refreshed.body.data!.refreshSession.errors).toEqual([]);
    // A malformed session cookie (with a valid CSRF pair) is refused and cleared.
    const csrf = randomBytes(32).toString('base64url');
    const res = await fetch(s.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `dlx_session=dlx_cs_nope; dlx_csrf=${csrf}`, 'x-dlx-csrf': csrf },
      body: JSON.stringify({ query: ME }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED', reason: 'SESSION_INVALID' } }] });
    expect([...setCookies(res).values()].map((c) => [c.name, c.value, c.attrs.get('max-age')])).toEqual([
      ['dlx_session', '', '0'],
      ['dlx_csrf', '', '0'],
    ]);
  });

  it('refuses the cookie on the next request once its session is revoked from another session, despite the cached token', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const b = await login(s.gatewayUrl, a.input.email, a.input.password);
    const jar = await signInBrowser(b);
    expect(await me(browser(jar))).toMatchObject({ status: 200, data: { me: { user: { id: a.userId } } } });
    const revoked = await gql<{ revokeSession: { ok: boolean } }>(`mutation($id: ID!){ revokeSession(id: $id) { ok } }`, bearer(a.accessToken), { id: sid(b) });
    expect(revoked.body.data!.revokeSession.ok).toBe(true);
    expect(await untilRefused(jar)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    expect((await me(browser(jar))).data).toBeUndefined();
    // The refusal clears the browser's cookies.
    const res = await fetch(s.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...browser(jar) },
      body: JSON.stringify({ query: ME }),
    });
    expect(res.status).toBe(401);
    const cleared = setCookies(res);
    expect(cleared.get('dlx_session')).toMatchObject({ value: '' });
    expect(cleared.get('dlx_session')!.attrs.get('max-age')).toBe('0');
    expect(cleared.get('dlx_csrf')!.attrs.get('max-age')).toBe('0');
    // The other session is untouched.
    expect(await me(bearer(a.accessToken))).toMatchObject({ status: 200, data: { me: { kind: 'USER' } } });
  });

  it('signs out with DELETE /auth/session (CSRF required): cookies cleared, the cookie refused afterwards', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const jar = await signInBrowser(a);
    expect((await me(browser(jar))).status).toBe(200);
    const del = (headers: Record<string, string>) => fetch(sessionUrl(), { method: 'DELETE', headers });

    const noCsrf = await del(browser(jar, null));
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.json()).toMatchObject({ error: 'CSRF_TOKEN_INVALID' });
    expect(noCsrf.headers.getSetCookie()).toEqual([]);
    expect((await me(browser(jar))).status).toBe(200);

    const out = await del(browser(jar));
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ ok: true });
    const cleared = setCookies(out);
    for (const name of ['dlx_session', 'dlx_csrf']) {
      expect(cleared.get(name)).toMatchObject({ value: '' });
      expect(cleared.get(name)!.attrs.get('max-age')).toBe('0');
      expect(cleared.get(name)!.attrs.get('path')).toBe('/');
    }
    expect(cleared.get('dlx_session')!.attrs.has('httponly')).toBe(true);
    // Refused at once by this gateway (its cached token was dropped) and by every other (KV).
    expect(await me(browser(jar))).toMatchObject({ status: 401, reason: 'SESSION_REVOKED' });
    const [row] = await s.authDs.query(`SELECT revoked_reason FROM auth.session WHERE id = $1`, [sid(a)]);
    expect(row.revoked_reason).toBe('logout');
    const [event] = await s.authDs.query(`SELECT count(*)::int AS n FROM auth.outbox WHERE payload::text LIKE '%auth.logout%' AND payload::text LIKE $1`, [
      `%${sid(a)}%`,
    ]);
    expect(event.n).toBe(1);
    // Signing out again, or without a session cookie, is fine.
    expect((await del(browser(jar))).status).toBe(200);
    expect((await del({})).status).toBe(200);
  });

  it("ends a browser session after the org's idle timeout; each exchange counts as use", async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    const policy = await gql<{ updateSecurityPolicy: { errors: unknown[] } }>(
      `mutation($i: SecurityPolicyInput!){ updateSecurityPolicy(input: $i) { errors { code } } }`,
      bearer(admin.accessToken),
      { i: { idleTimeoutMinutes: 30 } },
    );
    expect(policy.body.data!.updateSecurityPolicy.errors).toEqual([]);
    const t = await login(s.gatewayUrl, admin.input.email, admin.input.password);
    const jar = await signInBrowser(t);
    expect((await me(browser(jar))).status).toBe(200);

    // Used 10 minutes ago: still open, and the exchange resets the idle timer.
    await s.authDs.query(`UPDATE auth.session SET last_used_at = now() - interval '10 minutes' WHERE id = $1`, [sid(t)]);
    s.cookies.clearCache();
    expect((await me(browser(jar))).status).toBe(200);
    const [used] = await s.authDs.query(`SELECT now() - last_used_at < interval '1 minute' AS recent FROM auth.session WHERE id = $1`, [sid(t)]);
    expect(used.recent).toBe(true);

    // Unused for 31 minutes: the next exchange ends it.
    await s.authDs.query(`UPDATE auth.session SET last_used_at = now() - interval '31 minutes' WHERE id = $1`, [sid(t)]);
    s.cookies.clearCache();
    expect(await me(browser(jar))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', reason: 'SESSION_EXPIRED' });
    const [row] = await s.authDs.query(`SELECT revoked_reason FROM auth.session WHERE id = $1`, [sid(t)]);
    expect(row.revoked_reason).toBe('idle_timeout');
    expect(await me(browser(jar))).toMatchObject({ status: 401, reason: 'SESSION_REVOKED' });
  });

  it('issues cookie-session tokens that expire within half the idle timeout, so an active browser never idles out', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    await gql(`mutation($i: SecurityPolicyInput!){ updateSecurityPolicy(input: $i) { errors { code } } }`, bearer(admin.accessToken), {
      i: { idleTimeoutMinutes: 10 },
    });
    const t = await login(s.gatewayUrl, admin.input.email, admin.input.password);
    const jar = await signInBrowser(t);
    const ex = await fetch(new URL('/sessions/exchange', s.authUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cookie: jar.session }),
    });
    expect(ex.status).toBe(200);
    expect(ex.headers.get('cache-control')).toBe('no-store');
    const { accessToken } = (await ex.json()) as { accessToken: string };
    const claims = decodeJwt(accessToken);
    expect(claims).toMatchObject({ sub: admin.userId, org: admin.orgId, role: 'ADMIN', sid: sid(t), ep: 0 });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
  });

  it('never puts a session cookie in any answer body', () => {
    expect(cookieValues.length).toBeGreaterThan(0);
    const sessions = cookieValues.filter((v) => v.startsWith('dlx_cs_'));
    expect(sessions.length).toBeGreaterThan(3);
    for (const body of bodies) for (const v of sessions) expect(body).not.toContain(v);
  });
});

describe('browser sessions: Secure cookies outside local development', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack({ cookieSecure: true });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  it('marks both cookies Secure (and still HttpOnly/SameSite=Lax/Path=/ for the session)', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const res = await fetch(new URL('/auth/session', s.gatewayUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: a.refreshToken }),
    });
    expect(res.status).toBe(200);
    const cookies = setCookies(res);
    const session = cookies.get('dlx_session')!;
    expect([...session.attrs.keys()].sort()).toEqual(['httponly', 'max-age', 'path', 'samesite', 'secure']);
    expect(session.attrs.get('samesite')).toBe('Lax');
    expect(session.attrs.get('path')).toBe('/');
    expect(cookies.get('dlx_csrf')!.attrs.has('secure')).toBe(true);
    expect(cookies.get('dlx_csrf')!.attrs.has('httponly')).toBe(false);
  });
});
