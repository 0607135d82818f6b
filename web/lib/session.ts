/**
 * The browser side of cookie sessions. The gateway keeps the session in the httpOnly
 * `dlx_session` cookie; the page only ever reads `dlx_csrf` (double submit) to send it back as
 * the `x-dlx-csrf` header. Tokens from `login` are handed straight to `/api/auth/session` and
 * never stored.
 */
export const CSRF_COOKIE = 'dlx_csrf';
export const CSRF_HEADER = 'x-dlx-csrf';
export const WORKSPACE_HEADER = 'x-dlx-workspace';
export const SESSION_ROUTE = '/api/auth/session';

export function readCookie(name: string): string | null {
  if (typeof document === 'undefined') return null;
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/** Headers every GraphQL request of the page carries. */
export function sessionHeaders(workspaceId: string | null): Record<string, string> {
  const headers: Record<string, string> = {};
  const csrf = readCookie(CSRF_COOKIE);
  if (csrf) headers[CSRF_HEADER] = csrf;
  if (workspaceId) headers[WORKSPACE_HEADER] = workspaceId;
  return headers;
}

interface SessionAnswer {
  error?: string;
  message?: string;
}

/** Turns the refresh token of a sign-in into the session cookies; throws with the gateway's reason. */
export async function startSession(refreshToken: string): Promise<void> {
  const response = await fetch(SESSION_ROUTE, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken }),
    credentials: 'same-origin',
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as SessionAnswer;
    throw new Error(body.message ?? `The session could not be started (HTTP ${response.status}).`);
  }
}

/** Signs the session out at the gateway, which clears both cookies. */
export async function endSession(): Promise<void> {
  const response = await fetch(SESSION_ROUTE, { method: 'DELETE', headers: sessionHeaders(null), credentials: 'same-origin' });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as SessionAnswer;
    throw new Error(body.message ?? `Signing out failed (HTTP ${response.status}). Try again.`);
  }
}
