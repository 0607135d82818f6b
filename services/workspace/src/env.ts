import { z } from 'zod';
import { commonEnv, databaseEnv, natsEnv, pem, port } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  WORKSPACE_PORT: port(4002),
  DLX_ASSERTION_PUBLIC_KEY: pem('DLX_ASSERTION_PUBLIC_KEY'),
  /** 32 bytes, base64: seals connection secrets at rest and inside job messages. */
  DLX_MASTER_KEY: z.string({ required_error: 'DLX_MASTER_KEY is required (32 bytes, base64: openssl rand -base64 32)' }).min(40),
  /**
   * The master key before a rotation (32 bytes, base64), while `npm run rotate-master-key`
   * re-wraps the workspace data keys: data keys still wrapped by it stay readable meanwhile.
   */
  DLX_MASTER_KEY_PREVIOUS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(40, 'DLX_MASTER_KEY_PREVIOUS must be 32 bytes, base64 (or empty)').optional(),
  ),
  /** Where uploaded files are stored (<dir>/<workspaceId>/<fileId>); the workers read the same directory. */
  DLX_FILE_STORAGE_DIR: z.string().min(1).default('./.datalinx/files'),
  /** Largest accepted upload, in bytes (default 100 MiB). */
  FILE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(10 * 1024 ** 3)
    .default(100 * 1024 * 1024),
  /** Re-test HEALTHY connections whose last test is older than this many seconds; 0 turns it off. */
  CONNECTION_RETEST_INTERVAL_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .default(3600),
  CONNECTION_TEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  /** Durable consumer on RUNS for connection-test results (distinct from monitoring's). */
  CONNECTION_RESULTS_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('workspace-connection-tests'),
  /** Durable consumer on EVENTS for the other services' parts of promotions (`*.promotion.completed.v1`). */
  PROMOTION_RESULTS_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('workspace-promotions'),
  /** Durable consumer of `schema.canonical_type.created.v1` (EVENTS) feeding `canonical_type_ref`, shared by every instance. */
  CANONICAL_TYPE_REPLICA_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('workspace-canonical-types'),
  /**
   * The platform warehouse database (ARCHITECTURE.md §7). This service only records and shows its
   * host, port and database; the workers use its credentials. Unset: database datalinx_warehouse
   * on DATABASE_URL's server.
   */
  WAREHOUSE_ADMIN_URL: z.string().url().optional(),
  /** Quotas of a workspace that has not set its own (Workspace.quotas, updateWorkspaceQuotas). */
  QUOTA_DEFAULT_STORAGE_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .default(10 * 1024 ** 3),
  QUOTA_DEFAULT_CONCURRENT_RUNS: z.coerce.number().int().min(0).max(1000).default(4),
  QUOTA_DEFAULT_ROWS_PER_RUN: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(50_000_000),
  /** Also read by the gateway, for workspaces without a published limit: keep both the same. */
  QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** How often the pipeline scheduler looks for due schedules (cron has minute resolution; 1 s keeps dispatch within a second of the slot). */
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(100).max(60000).default(1000),
});
export type Env = z.infer<typeof envSchema>;
