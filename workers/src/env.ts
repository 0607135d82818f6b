import { z } from 'zod';
import { commonEnv, natsEnv } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...natsEnv,
  /** 32 bytes, base64: opens the secrets sealed into job messages. */
  DLX_MASTER_KEY: z.string({ required_error: 'DLX_MASTER_KEY is required (32 bytes, base64)' }).min(40),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_DURABLE: z.string().regex(/^[\w-]+$/).default('workers'),
  /** JOBS is a work queue: consumers must not overlap. Narrow it (e.g. jobs.*.<workspaceId>) for isolated workers. */
  WORKER_FILTER_SUBJECT: z.string().default('jobs.>'),
  JOB_ACK_WAIT_MS: z.coerce.number().int().min(500).max(600000).default(30000),
  JOB_MAX_DELIVER: z.coerce.number().int().min(1).max(100).default(5),
  JOB_BACKOFF_BASE_MS: z.coerce.number().int().min(10).max(600000).default(1000),
  DLX_DATA_DIR: z.string().optional(),
  DLX_VENV_DIR: z.string().optional(),
});
export type Env = z.infer<typeof envSchema>;
