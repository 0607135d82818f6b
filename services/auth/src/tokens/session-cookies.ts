import { createHash, randomBytes } from 'node:crypto';
import { SESSION_COOKIE_PATTERN, SESSION_COOKIE_PREFIX } from '@datalinx/contracts';

/**
 * Browser-session cookies (the gateway's `dlx_session`): `dlx_cs_` + base64url(session uuid
 * bytes) + `.` + base64url(32 random bytes). The session id part only names the session (it is
 * no secret); the random part is. Only the sha256 of the whole value is stored.
 */
export const newSessionCookie = (sessionId: string): string =>
  `${SESSION_COOKIE_PREFIX}${Buffer.from(sessionId.replace(/-/g, ''), 'hex').toString('base64url')}.${randomBytes(32).toString('base64url')}`;

/** High-entropy secret: sha256 suffices (see refresh tokens). Bytes, for the bytea column. */
export const hashSessionCookie = (cookie: string): Buffer => createHash('sha256').update(cookie, 'utf8').digest();

/** The session id a well-formed cookie names, or null. */
export function sessionIdOfCookie(cookie: string): string | null {
  if (!SESSION_COOKIE_PATTERN.test(cookie)) return null;
  const hex = Buffer.from(cookie.slice(SESSION_COOKIE_PREFIX.length, cookie.indexOf('.')), 'base64url').toString('hex');
  if (hex.length !== 32) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
