import type { Request } from 'express';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Logger } from '@datalinx/common';
import { ANONYMOUS, type Viewer } from '@datalinx/graphql-kit';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ACCESS_TOKEN_MAX_TTL_S,
  JWKS_PATH,
  accessTokenClaims,
  serviceAccountTokenClaims,
} from '@datalinx/contracts';
import { AuthenticationError, AuthUnavailableError } from './errors';

/** The auth service's JWKS URL when AUTH_JWKS_URL is not set: AUTH_URL's origin + the well-known path. */
export const defaultJwksUrl = (authUrl: string) => new URL(JWKS_PATH, new URL(authUrl).origin).toString();

export interface RevocationCheck {
  readonly ready: boolean;
  isSessionRevoked(sessionId: string): boolean;
  currentEpoch(userId: string): number | undefined;
  isApiKeyRevoked(keyId: string): boolean;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;
const CLOCK_TOLERANCE_S = 5;

/**
 * `Authorization: Bearer <access JWT>` → viewer. Verified against the auth service's JWKS
 * (EdDSA only: `alg: none`, HS256 and friends are refused before any key is looked at), audience
 * `dlx-api`, issuer `dlx-auth`, expiry; then the revocation view (session revoked? epoch bumped?).
 * No header → anonymous. Any failure throws AuthenticationError with a reason — never the token.
 */
export function bearerAuthenticator(o: { jwks: JWTVerifyGetKey; revocations: RevocationCheck; log: Logger }): (req: Request) => Promise<Viewer> {
  const verify = accessTokenVerifier(o);
  return async (req) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') return ANONYMOUS;
    const token = BEARER.exec(header)?.[1];
    if (!token || token.length > 8192) throw new AuthenticationError('TOKEN_INVALID');
    return verify(token);
  };
}

/**
 * Access JWT → viewer: a user's token (session + epoch checks) or a service account's (from an
 * API key exchange; refused once its key is revoked in the identity bucket).
 */
export function accessTokenVerifier(o: { jwks: JWTVerifyGetKey; revocations: RevocationCheck; log: Logger }): (token: string) => Promise<Viewer> {
  const log = o.log.child({ component: 'BearerAuthenticator' });
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, o.jwks, {
        algorithms: ['EdDSA'],
        audience: ACCESS_TOKEN_AUDIENCE,
        issuer: ACCESS_TOKEN_ISSUER,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'iat', 'sub'],
        clockTolerance: CLOCK_TOLERANCE_S,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new AuthenticationError('TOKEN_EXPIRED');
      if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout) && !(err instanceof joseErrors.JWKSInvalid))
        throw new AuthenticationError('TOKEN_INVALID');
      // The JWKS could not be fetched (auth service down?): not the caller's fault.
      log.warn({ err: (err as Error).message }, 'could not verify an access token: JWKS unavailable');
      throw new AuthUnavailableError((err as Error).message);
    }
    const exp = payload.exp as number;
    const iat = payload.iat as number;
    if (exp - iat > ACCESS_TOKEN_MAX_TTL_S || iat > Date.now() / 1000 + CLOCK_TOLERANCE_S) throw new AuthenticationError('TOKEN_INVALID');
    if (payload.akid !== undefined) {
      const sa = serviceAccountTokenClaims.safeParse(payload);
      if (!sa.success) throw new AuthenticationError('TOKEN_INVALID');
      if (!o.revocations.ready) throw new AuthUnavailableError('revocation view not loaded');
      if (o.revocations.isApiKeyRevoked(sa.data.akid)) {
        log.info({ serviceAccountId: sa.data.sub, keyId: sa.data.akid }, 'token of a revoked API key refused');
        throw new AuthenticationError('API_KEY_REVOKED');
      }
      const grant = sa.data.grants[0]!;
      return { kind: 'service-account', serviceAccountId: sa.data.sub, orgId: sa.data.org, grants: [grant], keyId: sa.data.akid, authMethod: 'api-key' };
    }
    const claims = accessTokenClaims.safeParse(payload);
    if (!claims.success) throw new AuthenticationError('TOKEN_INVALID');
    const c = claims.data;
    if (!o.revocations.ready) throw new AuthUnavailableError('revocation view not loaded');
    const epoch = o.revocations.currentEpoch(c.sub);
    if (o.revocations.isSessionRevoked(c.sid) || (epoch !== undefined && epoch !== c.ep)) {
      log.info({ userId: c.sub, sessionId: c.sid }, 'revoked access token refused');
      throw new AuthenticationError('TOKEN_REVOKED');
    }
    return { kind: 'user', userId: c.sub, orgId: c.org, orgRole: c.role, grants: c.grants ?? [], sessionId: c.sid, authMethod: 'bearer' };
  };
}

/** JWKS fetched from the auth service and cached (jose refetches on an unknown `kid`, at most every 30 s). */
export const remoteJwks = (url: string): JWTVerifyGetKey =>
  createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5000 });
