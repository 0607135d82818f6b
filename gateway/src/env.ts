import { z } from 'zod';
import { commonEnv, natsEnv, pem, port } from '@datalinx/common';

const subgraphUrl = (name: string, p: number) => z.string().url(`${name} must be the subgraph's http(s) URL`).default(`http://127.0.0.1:${p}/graphql`);

export const envSchema = z.object({
  ...commonEnv,
  /** NATS: the gateway watches the `dlx-identity` KV bucket (revoked sessions, token epochs). */
  ...natsEnv,
  GATEWAY_PORT: port(4000),
  /** Address the gateway listens on (npm start passes DLX_BIND_ADDRESS, default 127.0.0.1). */
  GATEWAY_BIND_ADDRESS: z.string().min(1).default('0.0.0.0'),
  AUTH_URL: subgraphUrl('AUTH_URL', 4001),
  WORKSPACE_URL: subgraphUrl('WORKSPACE_URL', 4002),
  SCHEMA_URL: subgraphUrl('SCHEMA_URL', 4003),
  MAPPING_URL: subgraphUrl('MAPPING_URL', 4004),
  MONITORING_URL: subgraphUrl('MONITORING_URL', 4005),
  DLX_ASSERTION_PRIVATE_KEY: pem('DLX_ASSERTION_PRIVATE_KEY'),
  DLX_ASSERTION_KEY_ID: z.string().default('gateway-1'),
  /** The auth service's JWKS (access-token public keys). Default: AUTH_URL's origin + /.well-known/jwks.json. */
  AUTH_JWKS_URL: z.string().url('AUTH_JWKS_URL must be an http(s) URL').optional(),
  /** Path of the composed supergraph (committed at schema/supergraph.graphql). */
  SUPERGRAPH_PATH: z.string().optional(),
  GATEWAY_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GATEWAY_MAX_ALIASES: z.coerce.number().int().min(1).max(1000).default(30),
  GATEWAY_MAX_TOKENS: z.coerce.number().int().min(100).max(100000).default(5000),
  GATEWAY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(50_000_000).default(1_000_000),
  /**
   * Express `trust proxy` for the client IP (rate limits, sessions): unset/false = the socket
   * address; `true`, a hop count (`1`) or addresses/subnets (`loopback, 10.0.0.0/8`) to believe
   * those proxies' X-Forwarded-For. Only behind a proxy that overwrites that header.
   */
  GATEWAY_TRUST_PROXY: z
    .string()
    .optional()
    .transform((v): boolean | number | string => {
      const t = (v ?? '').trim();
      if (t === '' || t === 'false') return false;
      if (t === 'true') return true;
      return /^\d+$/.test(t) ? Number(t) : t;
    }),
  GATEWAY_SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(30000),
  /**
   * API requests per minute of a workspace that has no limit of its own in the `dlx-quotas` KV
   * bucket: the same variable (and value) as the workspace service's default.
   */
  QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /**
   * `Secure` on the browser-session cookies (`dlx_session`, `dlx_csrf`): true unless the gateway is
   * served over plain http://localhost in local development (scripts/start.mjs, tests).
   */
  GATEWAY_COOKIE_SECURE: z
    .enum(['true', 'false'], { errorMap: () => ({ message: 'GATEWAY_COOKIE_SECURE must be true or false' }) })
    .default('true')
    .transform((v) => v === 'true'),
});
export type Env = z.infer<typeof envSchema>;

export const SUBGRAPH_URL_VARS = {
  auth: 'AUTH_URL',
  workspace: 'WORKSPACE_URL',
  schema: 'SCHEMA_URL',
  mapping: 'MAPPING_URL',
  monitoring: 'MONITORING_URL',
} as const;
