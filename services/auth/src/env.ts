import { z } from 'zod';
import { commonEnv, databaseEnv, natsEnv, pem, port } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  AUTH_PORT: port(4001),
  DLX_ASSERTION_PUBLIC_KEY: pem('DLX_ASSERTION_PUBLIC_KEY'),
  /** The auth service's own Ed25519 key (PKCS8 PEM): signs access tokens; its public half is the JWKS. */
  DLX_AUTH_SIGNING_KEY: pem('DLX_AUTH_SIGNING_KEY'),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(900).default(900),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
});
export type Env = z.infer<typeof envSchema>;
