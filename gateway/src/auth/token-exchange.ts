import { createHash } from 'node:crypto';
import type { Logger } from '@datalinx/common';
import { AuthUnavailableError } from './errors';

/**
 * The machinery shared by the credentials the gateway trades with the auth service for
 * short-lived access tokens (X-API-Key, the `dlx_session` cookie): the HTTP call, and a bounded
 * in-memory cache keyed by sha256(credential) — the credential itself is never kept in clear.
 */

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** POSTs a JSON body to the auth service; unreachable → AuthUnavailableError. The body (a secret) is never logged. */
export async function postToAuth(
  url: string,
  payload: unknown,
  o: { log: Logger; what: string; timeoutMs?: number },
): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
    });
  } catch (err) {
    o.log.warn({ err: (err as Error).name }, `${o.what} unreachable`);
    throw new AuthUnavailableError(`${o.what} unreachable`);
  }
  const body = (await res.json().catch(() => ({}))) as unknown;
  return { status: res.status, body: body && typeof body === 'object' ? (body as Record<string, unknown>) : {} };
}

export interface ExchangedToken {
  token: string;
  /** Use it until this time (ms), i.e. shortly before it expires. */
  useUntil: number;
}

const REFRESH_MARGIN_MS = 30_000;

/**
 * One exchange: `{ accessToken, expiresAt }` on 200; a 401 becomes `refused(error code)`; anything
 * else is the auth service's problem (AuthUnavailableError), not the caller's.
 */
export async function exchangeForToken(
  url: string,
  payload: unknown,
  o: { log: Logger; what: string; timeoutMs?: number; refused: (error: unknown) => Error },
): Promise<ExchangedToken> {
  const { status, body } = await postToAuth(url, payload, o);
  if (status === 401) throw o.refused(body.error);
  if (status !== 200 || typeof body.accessToken !== 'string' || typeof body.expiresAt !== 'string') {
    o.log.warn({ status }, `${o.what} failed`);
    throw new AuthUnavailableError(`${o.what} answered ${status}`);
  }
  return { token: body.accessToken, useUntil: new Date(body.expiresAt).getTime() - REFRESH_MARGIN_MS };
}

/**
 * Exchanged tokens under sha256(credential), used until shortly before they expire. Concurrent
 * requests with the same credential share one exchange; the oldest entry makes room once full.
 * Callers still verify every token they get (signature, expiry, revocation view) per request.
 */
export class ExchangedTokenCache {
  private readonly cache = new Map<string, ExchangedToken>();
  private readonly inFlight = new Map<string, Promise<ExchangedToken>>();

  constructor(
    private readonly exchange: (credential: string) => Promise<ExchangedToken>,
    private readonly maxEntries = 10_000,
  ) {}

  /** The token for a credential; `cached` tells whether it came from the cache (vs. a fresh exchange). */
  async get(credential: string, hash: string): Promise<{ token: string; cached: boolean }> {
    const hit = this.cache.get(hash);
    if (hit && hit.useUntil > Date.now()) return { token: hit.token, cached: true };
    this.cache.delete(hash);
    let p = this.inFlight.get(hash);
    if (!p) {
      p = this.exchange(credential).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, p);
    }
    const fresh = await p;
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, fresh);
    return { token: fresh.token, cached: false };
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }

  clear(): void {
    this.cache.clear();
  }
}
