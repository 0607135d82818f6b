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
  /** 32 bytes, base64 (the platform's at-rest key, as in workspace and workers): seals TOTP secrets. */
  DLX_MASTER_KEY: z.string({ required_error: 'DLX_MASTER_KEY is required (32 bytes, base64: openssl rand -base64 32)' }).min(40),
  ACCESS_TOKEN_TTL_S: z.coerce.number().int().min(30).max(900).default(900),
  /** Brute force: failed sign-ins per account (e-mail) / per client IP within the window, then a temporary lock. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(5),
  LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().min(1).max(100000).default(50),
  LOGIN_FAILURE_WINDOW_S: z.coerce.number().int().min(10).max(86400).default(900),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  /** Durable consumer of workspace.workspace.created.v1 feeding auth.workspace_ref (one per service: never share mapping's). */
  AUTH_WORKSPACE_EVENTS_DURABLE: z.string().min(1).default('auth-workspaces'),
});
export type Env = z.infer<typeof envSchema>;
