import { z } from 'zod';
import { commonEnv, databaseEnv, natsEnv, pem, port } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  SCHEMA_PORT: port(4003),
  DLX_ASSERTION_PUBLIC_KEY: pem('DLX_ASSERTION_PUBLIC_KEY'),
});
export type Env = z.infer<typeof envSchema>;
