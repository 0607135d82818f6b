/**
 * Why a presented credential was refused. The gateway answers HTTP 200 with a GraphQL error
 * `{ code: UNAUTHENTICATED, reason }` and no data; the credential itself is never echoed or logged.
 */
export type AuthFailureReason = 'TOKEN_EXPIRED' | 'TOKEN_INVALID' | 'TOKEN_REVOKED' | 'API_KEY_INVALID' | 'API_KEY_REVOKED';

const MESSAGES: Record<AuthFailureReason, string> = {
  TOKEN_EXPIRED: 'Your access token has expired. Refresh it or sign in again.',
  TOKEN_INVALID: 'The access token is not valid.',
  TOKEN_REVOKED: 'This access token has been revoked. Sign in again.',
  API_KEY_INVALID: 'The API key is not valid.',
  API_KEY_REVOKED: 'This API key has been revoked.',
};

export class AuthenticationError extends Error {
  constructor(readonly reason: AuthFailureReason) {
    super(MESSAGES[reason]);
    this.name = 'AuthenticationError';
  }
}

/** The gateway cannot check credentials right now (JWKS or revocation view unavailable): not the caller's fault. */
export class AuthUnavailableError extends Error {
  constructor(readonly detail: string) {
    super('Sign-in cannot be checked right now. Try again in a moment.');
    this.name = 'AuthUnavailableError';
  }
}
