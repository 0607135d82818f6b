import { DomainError } from './errors';

/**
 * Per-workspace quotas (PRODUCT.md, Administration). One error shape everywhere a quota is
 * enforced — the gateway (API requests per minute), the workspace service (concurrent runs,
 * storage at dispatch) and the workers (rows per run): GraphQL error code `QUOTA_EXCEEDED` with
 * `extensions: { quota, limit, used }` and a message naming the limit, the usage and what to do.
 */
export const QUOTA_NAMES = ['STORAGE_BYTES', 'CONCURRENT_RUNS', 'ROWS_PER_RUN', 'API_REQUESTS_PER_MINUTE'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
export const QUOTA_EXCEEDED = 'QUOTA_EXCEEDED';

export interface QuotaExceededExtensions {
  [key: string]: unknown;
  code: typeof QUOTA_EXCEEDED;
  quota: QuotaName;
  limit: number;
  used: number;
}

const fmtBytes = (n: number) => {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(v >= 10 ? 0 : 1)} ${units[i]} (${n} bytes)`;
};

/** The message: which limit, how much is used, and what the caller can do about it. */
export function quotaExceededMessage(quota: QuotaName, limit: number, used: number, o: { retryAfterSeconds?: number } = {}): string {
  const admin = 'an organization admin can raise it in the workspace settings (updateWorkspaceQuotas)';
  switch (quota) {
    case 'STORAGE_BYTES':
      return `This workspace's warehouse storage quota is ${fmtBytes(limit)} and ${fmtBytes(used)} are used, so a run may not load more into it. Drop data you no longer need, or ${admin}.`;
    case 'CONCURRENT_RUNS':
      return `This workspace may have ${limit} run(s) active at once and ${used} are active. Wait for one to finish (or cancel one), or ${admin}.`;
    case 'ROWS_PER_RUN':
      return `A run of this workspace may load at most ${limit} rows and this one reached ${used}. Load less per run (a filter or incremental sync), or ${admin}.`;
    case 'API_REQUESTS_PER_MINUTE':
      return `This workspace may make ${limit} API requests per minute and ${used} were made this minute. Retry ${o.retryAfterSeconds !== undefined ? `in ${o.retryAfterSeconds} s` : 'in the next minute'} (Retry-After), spread requests out, or ${admin}.`;
  }
}

export function quotaExceededExtensions(quota: QuotaName, limit: number, used: number): QuotaExceededExtensions {
  return { code: QUOTA_EXCEEDED, quota, limit, used };
}

/** Thrown by managers (and workers) when an action would exceed a quota; graphql-kit maps it to the GraphQL error. */
export class QuotaExceededError extends DomainError {
  constructor(
    readonly quota: QuotaName,
    readonly limit: number,
    readonly used: number,
    o: { retryAfterSeconds?: number } = {},
  ) {
    super(QUOTA_EXCEEDED, quotaExceededMessage(quota, limit, used, o), { quota, limit, used });
    this.name = 'QuotaExceededError';
  }

  get extensions(): QuotaExceededExtensions {
    return quotaExceededExtensions(this.quota, this.limit, this.used);
  }
}
