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
  CONNECTION_TEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
  /** Durable consumer on RUNS for connection-test results (distinct from monitoring's). */
  CONNECTION_RESULTS_DURABLE: z.string().regex(/^[A-Za-z0-9_-]+$/).default('workspace-connection-tests'),
});
export type Env = z.infer<typeof envSchema>;
