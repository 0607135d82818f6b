import type { NextFunction, Request, Response } from 'express';
import type { Logger, QuotaExceededExtensions } from '@datalinx/common';
import { quotaExceededExtensions, quotaExceededMessage } from '@datalinx/common';
import { workspaceRoleOf, type Viewer } from '@datalinx/graphql-kit';
import type { ApiLimitView } from './api-limit-view';
import type { ApiRateLimiter } from './api-rate-limiter';

/** The workspace a browser request spends its API quota in (the web app sends its current one). */
export const WORKSPACE_HEADER = 'x-dlx-workspace';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Which workspace's API quota a request spends, or null when it spends none:
 * - a service account (API key) holds exactly one workspace grant: that workspace, always;
 * - a user: the workspace named by `x-dlx-workspace`, if the user has a role in it (org ADMINs:
 *   any workspace id; the counter key carries the caller's org, so naming another org's
 *   workspace only ever spends the caller's own org's count). No header, a malformed one, or a
 *   workspace the user has no role in: not workspace-limited (the subgraphs refuse such a
 *   workspace's data anyway);
 * - anonymous requests (sign-up, login): not workspace-limited.
 */
export function spentWorkspace(req: Request, viewer: Viewer): { orgId: string; workspaceId: string } | null {
  if (viewer.kind === 'anonymous') return null;
  if (viewer.kind === 'service-account') {
    const ws = viewer.grants[0]?.workspaceId;
    return ws ? { orgId: viewer.orgId, workspaceId: ws } : null;
  }
  const raw = req.headers[WORKSPACE_HEADER];
  const ws = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
  if (!ws || !UUID.test(ws) || !workspaceRoleOf(viewer, ws)) return null;
  return { orgId: viewer.orgId, workspaceId: ws };
}

export interface ApiQuotaOptions {
  limits: ApiLimitView;
  counter: ApiRateLimiter;
  log: Logger;
  /**
   * How long a request may wait for the shared counter (default 250 ms). When NATS is slow or
   * down the request is let through (logged): rate limiting protects capacity, and failing every
   * API call because the counter is unreachable would be the bigger outage.
   */
  timeoutMs?: number;
}

/**
 * Express middleware after authentication (it needs `res.locals.viewer`): counts the request
 * against its workspace's API requests-per-minute quota; over the limit it answers HTTP 429 with
 * `Retry-After` (seconds to the next window) and the GraphQL error QUOTA_EXCEEDED
 * (quota API_REQUESTS_PER_MINUTE, limit, used), and no subgraph is called.
 */
export function apiQuotaMiddleware(o: ApiQuotaOptions) {
  const log = o.log.child({ component: 'ApiQuota' });
  const timeoutMs = o.timeoutMs ?? 250;
  let lastWarn = 0;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const spent = spentWorkspace(req, res.locals.viewer as Viewer);
    if (!spent) return next();
    const limit = o.limits.limitFor(spent.orgId, spent.workspaceId);
    let timer: NodeJS.Timeout | undefined;
    try {
      const decision = await Promise.race([
        o.counter.consume(spent.orgId, spent.workspaceId, limit),
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error(`API request counter did not answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (decision.allowed) return next();
      const extensions: QuotaExceededExtensions & { retryAfterSeconds: number } = {
        ...quotaExceededExtensions('API_REQUESTS_PER_MINUTE', decision.limit, decision.used),
        retryAfterSeconds: decision.retryAfterSeconds,
      };
      res
        .status(429)
        .set('Retry-After', String(decision.retryAfterSeconds))
        .json({
          errors: [
            {
              message: quotaExceededMessage('API_REQUESTS_PER_MINUTE', decision.limit, decision.used, { retryAfterSeconds: decision.retryAfterSeconds }),
              extensions,
            },
          ],
        });
    } catch (err) {
      // Fail open, and say so at most every 10 s (an outage would otherwise log every request).
      if (Date.now() - lastWarn > 10_000) {
        lastWarn = Date.now();
        log.warn({ err: (err as Error).message, workspaceId: spent.workspaceId }, 'API quota not checked: request let through');
      }
      next();
    } finally {
      clearTimeout(timer);
    }
  };
}
