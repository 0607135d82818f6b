/**
 * Why a presented credential was refused. The gateway answers a GraphQL error
 * `{ code: UNAUTHENTICATED, reason }` and no data — HTTP 200 for a bearer token or an API key (as
 * GraphQL clients expect), 401 for a refused session cookie (the browser's cookies are cleared in
 * the same answer) — and 403 `{ code: CSRF_TOKEN_INVALID }` for a cookie request without the
 * matching CSRF header. The credential itself is never echoed or logged.
 */
export type AuthFailureReason =
  | 'TOKEN_EXPIRED'
  | 'TOKEN_INVALID'
  | 'TOKEN_REVOKED'
  | 'API_KEY_INVALID'
  | 'API_KEY_REVOKED'
  | 'SESSION_INVALID'
  | 'SESSION_EXPIRED'
  | 'SESSION_REVOKED'
  | 'MFA_ENROLLMENT_REQUIRED'
  | 'CSRF_TOKEN_INVALID';

const MESSAGES: Record<AuthFailureReason, string> = {
  TOKEN_EXPIRED: 'Your access token has expired. Refresh it or sign in again.',
  TOKEN_INVALID: 'The access token is not valid.',
  TOKEN_REVOKED: 'This access token has been revoked. Sign in again.',
  API_KEY_INVALID: 'The API key is not valid.',
  API_KEY_REVOKED: 'This API key has been revoked.',
  SESSION_INVALID: 'Your sign-in is not valid any more. Sign in again.',
  SESSION_EXPIRED: 'Your session has expired. Sign in again.',
  SESSION_REVOKED: 'You have been signed out. Sign in again.',
  MFA_ENROLLMENT_REQUIRED: 'Your organization requires administrators to use two-factor authentication. Sign in again to set it up.',
  CSRF_TOKEN_INVALID: 'The request lacks the CSRF header matching the dlx_csrf cookie (x-dlx-csrf). Reload the page; if that does not help, sign in again.',
};

export interface AuthenticationErrorOptions {
  /** HTTP status of the refusal (default 200: a GraphQL error). */
  status?: number;
  /** The GraphQL error code (default UNAUTHENTICATED). */
  code?: 'UNAUTHENTICATED' | 'CSRF_TOKEN_INVALID';
  /** Set-Cookie values for the refusal (e.g. clearing a dead session's cookies). */
  setCookies?: string[];
}

export class AuthenticationError extends Error {
  readonly status: number;
  readonly code: 'UNAUTHENTICATED' | 'CSRF_TOKEN_INVALID';
  readonly setCookies: string[];

  constructor(
    readonly reason: AuthFailureReason,
    o: AuthenticationErrorOptions = {},
  ) {
    super(MESSAGES[reason]);
    this.name = 'AuthenticationError';
    this.status = o.status ?? 200;
    this.code = o.code ?? 'UNAUTHENTICATED';
    this.setCookies = o.setCookies ?? [];
  }
}

/** The gateway cannot check credentials right now (JWKS or revocation view unavailable): not the caller's fault. */
export class AuthUnavailableError extends Error {
  constructor(readonly detail: string) {
    super('Sign-in cannot be checked right now. Try again in a moment.');
    this.name = 'AuthUnavailableError';
  }
}
