import { z } from 'zod';

/**
 * Quota data shared by the workspace service (writer), the gateway (reader) and the data plane.
 *
 * KV bucket `dlx-quotas` (history 1, no TTL): `api.<workspaceId>` = JSON `ApiLimitEntry`, the
 * workspace's API requests-per-minute limit. The workspace service writes it after every change
 * (fast path) and through its outbox to `$KV.dlx-quotas.api.<workspaceId>` (durable path, same
 * value). `version` grows with every change of the workspace's quotas, so a reader keeps the
 * highest version it has seen and a late duplicate never rolls a limit back. A missing key means
 * the default limit (QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE).
 */
export const QUOTAS_KV_BUCKET = 'dlx-quotas';
export const QUOTAS_KV_OPTIONS = { history: 1 } as const;
export const apiLimitKey = (workspaceId: string) => `api.${workspaceId}`;
export const apiLimitSubject = (workspaceId: string) => `$KV.${QUOTAS_KV_BUCKET}.${apiLimitKey(workspaceId)}`;
export const apiLimitEntry = z.object({
  orgId: z.string().uuid(),
  limit: z.number().int().min(0),
  version: z.number().int().min(0),
});
export type ApiLimitEntry = z.infer<typeof apiLimitEntry>;

/**
 * KV bucket `dlx-api-counts`: `count.<orgId>.<workspaceId>.<epochMinute>` = decimal count of the
 * API requests admitted in that fixed one-minute window, shared by every gateway instance
 * (updated with compare-and-set on the entry's revision). The org is part of the key so a caller
 * of one org can never spend another org's count by naming its workspace. Entries live a few
 * minutes (bucket TTL): only the current window is ever read.
 */
export const API_COUNTS_KV_BUCKET = 'dlx-api-counts';
export const API_COUNTS_KV_OPTIONS = { history: 1, ttl: 3 * 60 * 1000 } as const;
export const epochMinute = (ms: number) => Math.floor(ms / 60_000);
export const apiCountKey = (orgId: string, workspaceId: string, minute: number) => `count.${orgId}.${workspaceId}.${minute}`;

/**
 * Limits a dispatch hands to the data plane with the job (`limits` on the job message): the data
 * plane stops a run that would load more than `maxRows` rows with QUOTA_EXCEEDED ROWS_PER_RUN
 * (enforced by the workers in a later issue; the workspace service already sends it).
 */
export const jobLimits = z.object({
  maxRows: z.number().int().min(0),
  /**
   * The workspace's warehouse storage quota in bytes (optional: older dispatchers omit it). A
   * `source.sync` measures its destination schema (sum of pg_total_relation_size) before the run
   * and while loading, and fails with QUOTA_EXCEEDED STORAGE_BYTES once the schema exceeds it.
   */
  maxStorageBytes: z.number().int().min(0).optional(),
});
export type JobLimits = z.infer<typeof jobLimits>;
