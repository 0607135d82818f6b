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
  /** Outgoing e-mail (invitations, password resets): smtp://user:pass@host:587 or smtps://…; empty = local mode (e-mails are logged with their link, not sent). */
  SMTP_URL: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() ? v.trim() : undefined))
    .refine((v) => v === undefined || /^smtps?:\/\/[^\s]+$/.test(v), 'SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465'),
  /** The From header of outgoing e-mail. */
  MAIL_FROM: z.string().min(3).default('Datalinx <no-reply@localhost>'),
  /** Where the web app runs: e-mailed links point at `${WEB_BASE_URL}/accept-invitation` and `/reset-password`. */
  WEB_BASE_URL: z.string().url().default('http://localhost:3000'),
  /** How long an invitation link stays valid. */
  INVITATION_TTL_HOURS: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 30)
    .default(168),
  /** How long a password-reset link stays valid. */
  PASSWORD_RESET_TTL_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(30),
});
export type Env = z.infer<typeof envSchema>;
