import { randomBytes, timingSafeEqual } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import { SESSION_COOKIE_PATH, SESSION_COOKIE_PATTERN, SESSION_COOKIE_REVOKE_PATH, SESSION_EXCHANGE_PATH } from '@datalinx/contracts';
import { AuthenticationError, AuthUnavailableError, type AuthFailureReason } from './errors';
import { ExchangedTokenCache, exchangeForToken, postToAuth, sha256Hex } from './token-exchange';

/**
 * Browser sessions (ARCHITECTURE.md §3): the httpOnly `dlx_session` cookie.
 *
 *   POST   /auth/session  `{ refreshToken }` (JSON) → the auth service turns the refresh token's
 *          session into a browser session (the refresh token is spent) and answers an opaque
 *          cookie; the gateway sets it httpOnly plus the `dlx_csrf` cookie (readable by the
 *          page's JS) and answers `{ csrfToken, expiresAt }`.
 *   DELETE /auth/session  (CSRF header required) → logout of that session; both cookies cleared.
 *
 * On /graphql, without Authorization and X-API-Key, a `dlx_session` cookie is the credential:
 * every request (any method) must carry `x-dlx-csrf` equal to the `dlx_csrf` cookie (double
 * submit: a cross-site page can make the browser send the cookies, but cannot read them to set
 * the header), else 403 CSRF_TOKEN_INVALID. The cookie is then exchanged with the auth service
 * for a short-lived access token of its session — cached under sha256(cookie), like API keys —
 * and that token is verified like a bearer token on every request, so KV revocations (logout,
 * revokeSession, deactivation) apply on the next request even with a cached token. There is no
 * refresh-token rotation on this path: concurrent browser requests cannot race each other.
 */

export const SESSION_COOKIE = 'dlx_session';
export const CSRF_COOKIE = 'dlx_csrf';
export const CSRF_HEADER = 'x-dlx-csrf';
export const AUTH_SESSION_PATH = '/auth/session';

const CSRF_TOKEN = /^[A-Za-z0-9_-]{43}$/;
// RFC 6265 §4.1.1: a cookie name is a token; a value is cookie-octets, optionally in double quotes.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^(?:"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*"|[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*)$/;

/**
 * A strict `Cookie` header parser: `name=value` pairs separated by `;`. A pair that is not
 * well-formed is skipped (other applications on the domain may set odd cookies) and never
 * "repaired"; values are not URL-decoded (ours are base64url). The first occurrence of a name
 * wins — browsers send the most specific path first.
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header || header.length > 16_384) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!COOKIE_NAME.test(name) || !COOKIE_VALUE.test(value) || out.has(name)) continue;
    out.set(name, value.startsWith('"') ? value.slice(1, -1) : value);
  }
  return out;
}

function serializeCookie(name: string, value: string, o: { maxAgeS: number; httpOnly: boolean; secure: boolean }): string {
  return [
    `${name}=${value}`,
    `Max-Age=${Math.max(0, Math.floor(o.maxAgeS))}`,
    'Path=/',
    'SameSite=Lax',
    ...(o.httpOnly ? ['HttpOnly'] : []),
    ...(o.secure ? ['Secure'] : []),
  ].join('; ');
}

/** The header equals the CSRF cookie (both present, well-formed), compared in constant time. */
function csrfMatches(req: Request, cookies: Map<string, string>): boolean {
  const cookie = cookies.get(CSRF_COOKIE);
  const header = req.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string' || !CSRF_TOKEN.test(cookie) || !CSRF_TOKEN.test(header)) return false;
  return timingSafeEqual(Buffer.from(cookie, 'utf8'), Buffer.from(header, 'utf8'));
}

/** What the auth service may answer when it refuses to turn a refresh token into a cookie, with what the user should do. */
const CONVERSION_MESSAGES: Record<string, string> = {
  REFRESH_TOKEN_INVALID: 'The refresh token is not valid. Sign in again.',
  REFRESH_TOKEN_REUSED: 'This refresh token was already used; the session has been signed out for safety. Sign in again.',
  SESSION_REVOKED: 'This session has been signed out. Sign in again.',
  SESSION_EXPIRED: 'This session has expired. Sign in again.',
  MFA_ENROLLMENT_REQUIRED: 'Your organization requires administrators to use two-factor authentication. Sign in again to set it up.',
};

const SESSION_REASONS = new Set<AuthFailureReason>(['SESSION_INVALID', 'SESSION_EXPIRED', 'SESSION_REVOKED', 'MFA_ENROLLMENT_REQUIRED']);

export interface CookieSessionOptions {
  /** The auth subgraph's URL (AUTH_URL); its origin serves the session routes. */
  authUrl: string;
  /** The bearer path's access-token verifier (JWKS + revocation view). */
  verify: (token: string) => Promise<Viewer>;
  /** Add `Secure` to the cookies (GATEWAY_COOKIE_SECURE; false only for http://localhost development). */
  secure: boolean;
  log: Logger;
  timeoutMs?: number;
}

export interface CookieSessions {
  /** POST and DELETE /auth/session. */
  router: Router;
  /** The `dlx_session` cookie authenticator, in front of `next` (the bearer authenticator). */
  authenticator: (next: (req: Request) => Promise<Viewer>) => (req: Request) => Promise<Viewer>;
  /** Drops every cached exchanged token (tests; the next request exchanges again). */
  clearCache: () => void;
}

export function cookieSessions(o: CookieSessionOptions): CookieSessions {
  const log = o.log.child({ component: 'CookieSessions' });
  const origin = new URL(o.authUrl).origin;
  const url = (p: string) => new URL(p, origin).toString();
  const http = { log, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) };
  const cookiesUntil = (maxAgeS: number, session: string, csrf: string) => [
    serializeCookie(SESSION_COOKIE, session, { maxAgeS, httpOnly: true, secure: o.secure }),
    // Not HttpOnly: the page's JS reads it to send the x-dlx-csrf header (double submit).
    serializeCookie(CSRF_COOKIE, csrf, { maxAgeS, httpOnly: false, secure: o.secure }),
  ];
  const clearing = () => cookiesUntil(0, '', '');
  /** A refused session: 401, and the browser drops the dead cookies in the same answer. */
  const refused = (reason: AuthFailureReason) => new AuthenticationError(reason, { status: 401, setCookies: clearing() });
  const csrfRefused = () => new AuthenticationError('CSRF_TOKEN_INVALID', { status: 403, code: 'CSRF_TOKEN_INVALID' });

  const tokens = new ExchangedTokenCache((cookie) =>
    exchangeForToken(
      url(SESSION_EXCHANGE_PATH),
      { cookie },
      {
        ...http,
        what: 'session cookie exchange',
        refused: (error) => refused(SESSION_REASONS.has(error as AuthFailureReason) ? (error as AuthFailureReason) : 'SESSION_EXPIRED'),
      },
    ),
  );

  /** The session's viewer, from a verified token (a cookie only ever yields a user's session token). */
  const sessionViewer = async (token: string): Promise<Viewer> => {
    const viewer = await o.verify(token);
    if (viewer.kind !== 'user') throw refused('SESSION_INVALID');
    return { ...viewer, authMethod: 'session' };
  };

  const authenticator: CookieSessions['authenticator'] = (next) => async (req) => {
    // An explicit credential wins; the cookie is only the browser's fallback.
    if ((req.headers.authorization !== undefined && req.headers.authorization !== '') || req.headers['x-api-key'] !== undefined) return next(req);
    const cookies = parseCookies(req.headers.cookie);
    const cookie = cookies.get(SESSION_COOKIE);
    if (!cookie) return next(req);
    if (!csrfMatches(req, cookies)) throw csrfRefused();
    if (!SESSION_COOKIE_PATTERN.test(cookie)) throw refused('SESSION_INVALID');
    const hash = sha256Hex(cookie);
    try {
      const { token, cached } = await tokens.get(cookie, hash);
      try {
        return await sessionViewer(token);
      } catch (err) {
        tokens.forget(hash);
        if (!cached || !(err instanceof AuthenticationError)) throw err;
        // A cached token the revocation view refuses (session revoked, epoch bumped): the auth
        // service decides with a fresh exchange — it refuses a revoked session, and issues a
        // token with the new epoch to a session that is still open.
        return await sessionViewer((await tokens.get(cookie, hash)).token);
      }
    } catch (err) {
      if (!(err instanceof AuthenticationError) || err.status === 401) throw err;
      tokens.forget(hash);
      throw refused(err.reason === 'TOKEN_REVOKED' ? 'SESSION_REVOKED' : err.reason === 'TOKEN_EXPIRED' ? 'SESSION_EXPIRED' : 'SESSION_INVALID');
    }
  };

  const router = Router();
  const noStore = (_req: Request, res: Response, next: NextFunction) => {
    res.set('cache-control', 'no-store');
    next();
  };
  const fail = (res: Response, status: number, error: string, message: string) => {
    res.status(status).json({ error, message });
  };
  // Only a JSON body: a cross-site form cannot send one without a CORS preflight (which fails).
  router.post(AUTH_SESSION_PATH, noStore, express.json({ limit: '4kb', type: 'application/json' }), async (req, res, next) => {
    const refreshToken = (req.body as { refreshToken?: unknown } | undefined)?.refreshToken;
    if (typeof refreshToken !== 'string' || refreshToken === '') {
      fail(res, 400, 'BAD_REQUEST', 'Send a JSON body { "refreshToken": "…" } with the refresh token from login, completeMfaLogin or refreshSession.');
      return;
    }
    try {
      const { status, body } = await postToAuth(url(SESSION_COOKIE_PATH), { refreshToken }, { ...http, what: 'session cookie creation' });
      if (status === 401) {
        const code = typeof body.error === 'string' && CONVERSION_MESSAGES[body.error] ? body.error : 'REFRESH_TOKEN_INVALID';
        fail(res, 401, code, CONVERSION_MESSAGES[code]!);
        return;
      }
      const expiresAt = typeof body.expiresAt === 'string' ? new Date(body.expiresAt) : new Date(NaN);
      if (status !== 200 || typeof body.cookie !== 'string' || !SESSION_COOKIE_PATTERN.test(body.cookie) || Number.isNaN(expiresAt.getTime())) {
        log.warn({ status }, 'session cookie creation failed');
        throw new AuthUnavailableError(`session cookie creation answered ${status}`);
      }
      const csrfToken = randomBytes(32).toString('base64url');
      res.append('Set-Cookie', cookiesUntil((expiresAt.getTime() - Date.now()) / 1000, body.cookie, csrfToken));
      res.json({ csrfToken, expiresAt: expiresAt.toISOString() });
    } catch (err) {
      next(err);
    }
  });
  router.delete(AUTH_SESSION_PATH, noStore, async (req, res, next) => {
    const cookies = parseCookies(req.headers.cookie);
    const cookie = cookies.get(SESSION_COOKIE);
    try {
      if (cookie) {
        if (!csrfMatches(req, cookies)) {
          const e = csrfRefused();
          fail(res, 403, e.code, e.message);
          return;
        }
        if (SESSION_COOKIE_PATTERN.test(cookie)) {
          // Keep the cookies when the logout did not happen: the user retries (a 503 says so).
          const { status } = await postToAuth(url(SESSION_COOKIE_REVOKE_PATH), { cookie }, { ...http, what: 'session cookie revocation' });
          if (status !== 200) throw new AuthUnavailableError(`session cookie revocation answered ${status}`);
          tokens.forget(sha256Hex(cookie));
        }
      }
      res.append('Set-Cookie', clearing());
      res.json({ ok: true });
    } catch (err) {
      next(err);
    }
  });
  // This router's own errors, as `{ error, message }` (never the body: it holds a secret).
  router.use(AUTH_SESSION_PATH, (err: Error & { type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large' || err.type === 'entity.parse.failed') {
      fail(res, 400, 'BAD_REQUEST', 'Send a small JSON body { "refreshToken": "…" }.');
      return;
    }
    if (!(err instanceof AuthUnavailableError)) {
      next(err);
      return;
    }
    fail(res, 503, 'AUTH_UNAVAILABLE', err.message);
  });

  return { router, authenticator, clearCache: () => tokens.clear() };
}
