import type { Request } from 'express';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import { API_KEY_EXCHANGE_PATH, API_KEY_PATTERN } from '@datalinx/contracts';
import { AuthenticationError } from './errors';
import { ExchangedTokenCache, exchangeForToken, sha256Hex } from './token-exchange';

/** The auth service's API key exchange URL: AUTH_URL's origin + /api-keys/exchange. */
export const defaultApiKeyExchangeUrl = (authUrl: string) => new URL(API_KEY_EXCHANGE_PATH, new URL(authUrl).origin).toString();

/**
 * `X-API-Key: dlx_sk_live_…` → a service-account viewer. The key is exchanged with the auth
 * service (HTTP POST to its exchange route) for a ≤ 5-minute access token, cached in memory under
 * sha256(key) until shortly before it expires; every request still verifies the cached token
 * (signature, expiry) and checks its key id against the identity revocation view, so a revoked or
 * rotated key is refused on the next request. Without the header the next authenticator decides.
 * The key is never logged, echoed or kept in memory in clear.
 */
export function apiKeyAuthenticator(o: {
  exchangeUrl: string;
  verify: (token: string) => Promise<Viewer>;
  next: (req: Request) => Promise<Viewer>;
  log: Logger;
  timeoutMs?: number;
}): (req: Request) => Promise<Viewer> {
  const log = o.log.child({ component: 'ApiKeyAuthenticator' });
  const tokens = new ExchangedTokenCache((apiKey) =>
    exchangeForToken(
      o.exchangeUrl,
      { apiKey },
      {
        log,
        what: 'API key exchange',
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
        refused: (error) => new AuthenticationError(error === 'API_KEY_REVOKED' ? 'API_KEY_REVOKED' : 'API_KEY_INVALID'),
      },
    ),
  );

  return async (req) => {
    const header = req.headers['x-api-key'];
    if (header === undefined) return o.next(req);
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey || !API_KEY_PATTERN.test(apiKey)) throw new AuthenticationError('API_KEY_INVALID');
    const hash = sha256Hex(apiKey);
    try {
      return await o.verify((await tokens.get(apiKey, hash)).token);
    } catch (err) {
      tokens.forget(hash);
      if (err instanceof AuthenticationError && (err.reason === 'TOKEN_REVOKED' || err.reason === 'TOKEN_INVALID' || err.reason === 'TOKEN_EXPIRED')) {
        throw new AuthenticationError(err.reason === 'TOKEN_REVOKED' ? 'API_KEY_REVOKED' : 'API_KEY_INVALID');
      }
      throw err;
    }
  };
}
