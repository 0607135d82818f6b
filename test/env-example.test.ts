import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ZodTypeAny } from 'zod';

/**
 * `.env.example` must stay complete: every variable any process reads (its zod `envSchema`)
 * appears in it, so operators find every setting in one place.
 */
const ROOT = path.resolve(__dirname, '..');
const MODULES = [
  'services/auth/src/env.ts',
  'services/workspace/src/env.ts',
  'services/schema/src/env.ts',
  'services/mapping/src/env.ts',
  'services/monitoring/src/env.ts',
  'gateway/src/env.ts',
  'workers/src/env.ts',
  'web/lib/env.ts',
];

const documented = new Set(
  readFileSync(path.join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .map((l) => /^\s*#?\s*([A-Z][A-Z0-9_]*)=/.exec(l)?.[1])
    .filter((v): v is string => Boolean(v)),
);

describe.each(MODULES)('%s', (mod) => {
  it('documents every variable in .env.example', () => {
    const { envSchema } = require(path.join(ROOT, mod)) as { envSchema: { shape: Record<string, ZodTypeAny> } };
    const missing = Object.keys(envSchema.shape).filter((k) => !documented.has(k));
    expect(missing).toEqual([]);
  });
});

/**
 * Read outside the zod schemas: internal TLS (packages/graphql-kit serverTlsFromEnv, packages/messaging
 * natsTlsOptions, gateway/src/tls.ts, web/server.mjs, scripts/start.mjs) and node itself.
 */
const READ_OUTSIDE_SCHEMAS = [
  'DLX_INTERNAL_TLS',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
  'TLS_CA_FILE',
  'TLS_REQUIRE_CLIENT_CERT',
  'TLS_CLIENT_CERT_FILE',
  'TLS_CLIENT_KEY_FILE',
  'NODE_EXTRA_CA_CERTS',
  'DLX_BIND_ADDRESS',
];

it('documents the internal-TLS variables read outside the schemas', () => {
  expect(READ_OUTSIDE_SCHEMAS.filter((k) => !documented.has(k))).toEqual([]);
});
