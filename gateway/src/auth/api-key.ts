import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import { API_KEY_EXCHANGE_PATH, API_KEY_PATTERN } from '@datalinx/contracts';
import { AuthenticationError, AuthUnavailableError } from './errors';

/** The auth service's API key exchange URL: AUTH_URL's origin + /api-keys/exchange. */
export const defaultApiKeyExchangeUrl = (authUrl: string) => new URL(API_KEY_EXCHANGE_PATH, new URL(authUrl).origin).toString();

interface CachedToken {
  token: string;
  /** Use it until this time (ms), i.e. shortly before it expires. */
  useUntil: number;
}

const REFRESH_MARGIN_MS = 30_000;
const MAX_CACHED = 10_000;

/**
 * `X-API-Key: dlx_sk_live_…` → a service-account viewer. The key is exchanged with the auth
 * service (HTTP POST to its exchange route) for a ≤ 5-minute access token, cached in memory under
 * sha256(key) until shortly before it expires; every request still verifies the cached token
 * (signature, expiry) and checks its key id against the identity revocation view, so a revoked or
 * rotated key is refused on the next request. Without the header the next authenticator (bearer)
 * decides. The key is never logged, echoed or kept in memory in clear.
 */
export function apiKeyAuthenticator(o: {
  exchangeUrl: string;
  verify: (token: string) => Promise<Viewer>;
  next: (req: Request) => Promise<Viewer>;
  log: Logger;
  timeoutMs?: number;
}): (req: Request) => Promise<Viewer> {
  const log = o.log.child({ component: 'ApiKeyAuthenticator' });
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<CachedToken>>();

  const exchange = async (apiKey: string): Promise<CachedToken> => {
    let res: Response;
    try {
      res = await fetch(o.exchangeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiKey }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      });
    } catch (err) {
      log.warn({ err: (err as Error).name }, 'API key exchange unreachable');
      throw new AuthUnavailableError('API key exchange unreachable');
    }
    const body = (await res.json().catch(() => ({}))) as { accessToken?: unknown; expiresAt?: unknown; error?: unknown };
    if (res.status === 401) throw new AuthenticationError(body.error === 'API_KEY_REVOKED' ? 'API_KEY_REVOKED' : 'API_KEY_INVALID');
    if (!res.ok || typeof body.accessToken !== 'string' || typeof body.expiresAt !== 'string') {
      log.warn({ status: res.status }, 'API key exchange failed');
      throw new AuthUnavailableError(`API key exchange answered ${res.status}`);
    }
    return { token: body.accessToken, useUntil: new Date(body.expiresAt).getTime() - REFRESH_MARGIN_MS };
  };

  const tokenFor = async (apiKey: string, hash: string): Promise<CachedToken> => {
    const hit = cache.get(hash);
    if (hit && hit.useUntil > Date.now()) return hit;
    cache.delete(hash);
    let p = inFlight.get(hash);
    if (!p) {
      p = exchange(apiKey).finally(() => inFlight.delete(hash));
      inFlight.set(hash, p);
    }
    const fresh = await p;
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(hash, fresh);
    return fresh;
  };

  return async (req) => {
    const header = req.headers['x-api-key'];
    if (header === undefined) return o.next(req);
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey || !API_KEY_PATTERN.test(apiKey)) throw new AuthenticationError('API_KEY_INVALID');
    const hash = createHash('sha256').update(apiKey, 'utf8').digest('hex');
    try {
      return await o.verify((await tokenFor(apiKey, hash)).token);
    } catch (err) {
      cache.delete(hash);
      if (err instanceof AuthenticationError && (err.reason === 'TOKEN_REVOKED' || err.reason === 'TOKEN_INVALID' || err.reason === 'TOKEN_EXPIRED')) {
        throw new AuthenticationError(err.reason === 'TOKEN_REVOKED' ? 'API_KEY_REVOKED' : 'API_KEY_INVALID');
      }
      throw err;
    }
  };
}
