import { z } from 'zod';

/**
 * Identity contracts shared by the auth service (issuer) and the gateway (verifier): the access
 * token's claims and the NATS KV bucket through which revocations reach every gateway at once.
 */
export const ACCESS_TOKEN_AUDIENCE = 'dlx-api';
export const ACCESS_TOKEN_ISSUER = 'dlx-auth';
/** Access tokens never live longer than this (ARCHITECTURE.md §4). */
export const ACCESS_TOKEN_MAX_TTL_S = 900;
export const JWKS_PATH = '/.well-known/jwks.json';

export const accessTokenClaims = z.object({
  sub: z.string().uuid(),
  org: z.string().uuid(),
  role: z.enum(['ADMIN', 'MEMBER', 'VIEWER']),
  grants: z.array(z.object({ workspaceId: z.string().uuid(), role: z.enum(['EDITOR', 'VIEWER']) })).optional(),
  sid: z.string().uuid(),
  /** The user's token epoch when the token was issued; a bump invalidates every older token. */
  ep: z.number().int().min(0),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaims>;

/**
 * A service account's access token (from an API key exchange, ≤ 5 minutes): `sub` is the service
 * account, `akid` the API key it was exchanged for (the gateway refuses it once `apikey.<akid>`
 * is revoked in the identity bucket), `grants` its one workspace grant. No `sid`/`ep`: a user
 * token never carries `akid`, so the two shapes cannot be confused.
 */
export const serviceAccountTokenClaims = z.object({
  sub: z.string().uuid(),
  org: z.string().uuid(),
  grants: z.array(z.object({ workspaceId: z.string().uuid(), role: z.enum(['EDITOR', 'VIEWER']) })).length(1),
  akid: z.string().uuid(),
});
export type ServiceAccountTokenClaims = z.infer<typeof serviceAccountTokenClaims>;
/** Service-account tokens live at most this long (shorter than user tokens: the key is the long-lived secret). */
export const SERVICE_ACCOUNT_TOKEN_TTL_S = 300;
/** The auth service's API key exchange (plain HTTP POST `{ apiKey }` → `{ accessToken, expiresAt, keyId }`). */
export const API_KEY_EXCHANGE_PATH = '/api-keys/exchange';
export const API_KEY_PREFIX = 'dlx_sk_live_';
/** `dlx_sk_live_` + base64url of 32 random bytes (43 characters). */
export const API_KEY_PATTERN = /^dlx_sk_live_[A-Za-z0-9_-]{43}$/;

/**
 * Browser sessions (the gateway's httpOnly `dlx_session` cookie), plain HTTP on the auth service
 * like the API key exchange: POST `{ refreshToken }` to SESSION_COOKIE_PATH → `{ cookie, expiresAt }`
 * (spends the refresh token); POST `{ cookie }` to SESSION_EXCHANGE_PATH → `{ accessToken,
 * expiresAt }`; POST `{ cookie }` to SESSION_COOKIE_REVOKE_PATH → `{ ok: true }` (logout).
 */
export const SESSION_COOKIE_PATH = '/sessions/cookie';
export const SESSION_EXCHANGE_PATH = '/sessions/exchange';
export const SESSION_COOKIE_REVOKE_PATH = '/sessions/cookie/revoke';
export const SESSION_COOKIE_PREFIX = 'dlx_cs_';
/** `dlx_cs_` + base64url(the session's 16 uuid bytes) + `.` + base64url(32 random bytes). */
export const SESSION_COOKIE_PATTERN = /^dlx_cs_[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

/**
 * KV bucket `dlx-identity` (history 1): `epoch.<userId>` = the user's current epoch (decimal),
 * `session.<sessionId>` = "revoked", `apikey.<keyId>` = "revoked". Entries outlive every access token they concern (bucket
 * TTL ≥ the access-token lifetime), so a missing key means "nothing revoked".
 */
export const IDENTITY_KV_BUCKET = 'dlx-identity';
export const IDENTITY_KV_TTL_MS = 24 * 3600 * 1000;
export const epochKey = (userId: string) => `epoch.${userId}`;
export const sessionKey = (sessionId: string) => `session.${sessionId}`;
export const SESSION_REVOKED = 'revoked';
/** `apikey.<keyId>` = "revoked": written on revoke and rotate; the gateway refuses tokens of that key. */
export const apiKeyKvKey = (keyId: string) => `apikey.${keyId}`;

/** Audit events (contract `auditEventV1`, see audit.ts) go to `audit.<orgId>` on EVENTS, through the publisher's outbox. */
export const auditSubject = (orgId: string) => `audit.${orgId}` as const;

/** The bucket's configuration, identical in every process that creates it (creation is idempotent). */
export const IDENTITY_KV_OPTIONS = { history: 1, ttl: IDENTITY_KV_TTL_MS } as const;
