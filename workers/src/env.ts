import path from 'node:path';
import { z } from 'zod';
import { commonEnv, natsEnv, networkPolicyEnv } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...natsEnv,
  /** 32 bytes, base64: opens the secrets sealed into job messages. */
  DLX_MASTER_KEY: z.string({ required_error: 'DLX_MASTER_KEY is required (32 bytes, base64)' }).min(40),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_DURABLE: z
    .string()
    .regex(/^[\w-]+$/)
    .default('workers'),
  /**
   * JOBS is a work queue: consumers must not overlap. The main consumer's job kinds
   * (connection.*); the other domains (warehouse, source, column, pipeline) have their own
   * consumers, each derived from this filter unless set. Narrow it further (e.g.
   * jobs.connection.*.<workspaceId>) for isolated workers.
   */
  WORKER_FILTER_SUBJECT: z.string().default('jobs.connection.>'),
  /**
   * The source jobs (source.*) on a second consumer (durable `<WORKER_DURABLE>-source`); not
   * started when WORKER_FILTER_SUBJECT already covers them (JOBS is a work queue). Default: the
   * worker filter with `source` as the domain (`jobs.connection.>` → `jobs.source.>`,
   * `jobs.connection.*.<ws>` → `jobs.source.*.<ws>`).
   */
  SOURCE_FILTER_SUBJECT: z.string().optional(),
  JOB_ACK_WAIT_MS: z.coerce.number().int().min(500).max(600000).default(30000),
  JOB_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  JOB_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(600000).default(1000),
  DLX_DATA_DIR: z.string().optional(),
  /**
   * File storage shared with the workspace service (it writes uploads, workers read them):
   * `<dir>/<workspaceId>/<fileId>`. Default: `files` under DLX_DATA_DIR (./.datalinx), the same
   * place whatever the current OS temp directory is.
   */
  DLX_FILE_STORAGE_DIR: z.string().min(1).optional(),
  /** The largest uploaded file a connection may use (default 100 MiB, the same as the workspace service’s upload limit). */
  FILE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(100 * 1024 * 1024),
  DLX_VENV_DIR: z.string().optional(),
  /**
   * Admin URL of the platform warehouse database (ARCHITECTURE.md §7): a superuser, or the
   * database's owner with CREATEROLE. With it, this worker also runs the warehouse.* jobs on a
   * second consumer (durable `<WORKER_DURABLE>-warehouse`, WAREHOUSE_FILTER_SUBJECT); without it,
   * it leaves them queued for a worker that has it.
   */
  WAREHOUSE_ADMIN_URL: z.string().url().optional(),
  /** Must not overlap WORKER_FILTER_SUBJECT (JOBS is a work queue). */
  WAREHOUSE_FILTER_SUBJECT: z.string().default('jobs.warehouse.>'),
  /**
   * The column jobs (column.canonicalize) on their own consumer (`<WORKER_DURABLE>-column`), started
   * with WAREHOUSE_ADMIN_URL. Default: WORKER_FILTER_SUBJECT with `column` as the domain
   * (jobs.connection.> → jobs.column.>); must not overlap the other filters.
   */
  COLUMN_FILTER_SUBJECT: z.string().optional(),
  /**
   * The pipeline jobs (pipeline.run) on their own consumer (`<WORKER_DURABLE>-pipeline`), started
   * with WAREHOUSE_ADMIN_URL. Default: WORKER_FILTER_SUBJECT with `pipeline` as the domain
   * (jobs.connection.> → jobs.pipeline.>); must not overlap the other filters.
   */
  PIPELINE_FILTER_SUBJECT: z.string().optional(),
  /**
   * The mapping previews this worker answers (core NATS request/reply, queue group `dlx-preview`),
   * when it has WAREHOUSE_ADMIN_URL: `dlx.preview.*` is every workspace's; `dlx.preview.<workspaceId>` one workspace's.
   */
  PREVIEW_FILTER_SUBJECT: z.string().default('dlx.preview.*'),
  /**
   * The outbound network policy of every connection a tenant's configuration causes (connection
   * tests, discovery, sync sources, external warehouses, REST APIs; not WAREHOUSE_ADMIN_URL, which is
   * the operator's). CONNECTION_ALLOWED_NETWORKS: comma-separated CIDRs of loopback, private,
   * link-local… ranges connections may reach (default none; `npm start` allows 127.0.0.0/8,::1/128
   * for databases on the same machine). Cloud metadata addresses stay refused whatever it says.
   * DLX_PLATFORM_ENDPOINTS: comma-separated host:port of the platform's own servers (system
   * database, warehouse server, gateway, subgraphs, web, Dagster), never reachable; NATS_URL's
   * servers are always added.
   */
  ...networkPolicyEnv,
  /**
   * The Dagster webserver (e.g. http://127.0.0.1:3070): pipeline runs execute as runs of the Dagster
   * job `pipeline_run` launched through its GraphQL API. Unset: this worker runs a pipeline's load in
   * its own process and cannot build its dbt models.
   */
  DAGSTER_URL: z.string().url().optional(),
  /** Tests only: pause (ms) after every committed incremental source.sync batch, so a test can kill a worker mid-sync. 0 in production. */
  SYNC_BATCH_DELAY_MS: z.coerce.number().int().min(0).max(60000).default(0),
});
export type Env = z.infer<typeof envSchema>;

export const fileStorageDir = (env: Pick<Env, 'DLX_FILE_STORAGE_DIR' | 'DLX_DATA_DIR'>) =>
  path.resolve(env.DLX_FILE_STORAGE_DIR ?? path.join(env.DLX_DATA_DIR ?? '.datalinx', 'files'));
