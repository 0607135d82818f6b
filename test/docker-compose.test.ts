/**
 * docker-compose.yml against the code: every compose service that runs one of our processes
 * sets every environment variable that process requires, and nothing the process does not
 * read. The required variables come from each process's zod schema (`envSchema` in
 * `<workspace>/src/env.ts`): a key is required when `shape[key].isOptional()` is false (a
 * `.default()` or `.optional()` makes it optional).
 *
 * No Docker engine needed: this reads the file the way compose does (YAML merge keys, `$$`
 * escapes, `${VAR}` interpolation with an empty environment).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { ZodTypeAny } from 'zod';

const ROOT = path.resolve(__dirname, '..');

interface EnvModule {
  envSchema: { shape: Record<string, ZodTypeAny> };
}

/** Compose service → the module that declares its process's environment. */
const PROCESS_ENV: Record<string, { module: string; exportName?: string; command: string[] }> = {
  auth: { module: 'services/auth/src/env.ts', command: ['node', 'services/auth/dist/index.js'] },
  workspace: { module: 'services/workspace/src/env.ts', command: ['node', 'services/workspace/dist/index.js'] },
  schema: { module: 'services/schema/src/env.ts', command: ['node', 'services/schema/dist/index.js'] },
  mapping: { module: 'services/mapping/src/env.ts', command: ['node', 'services/mapping/dist/index.js'] },
  monitoring: { module: 'services/monitoring/src/env.ts', command: ['node', 'services/monitoring/dist/index.js'] },
  gateway: { module: 'gateway/src/env.ts', command: ['node', 'gateway/dist/index.js'] },
  worker: { module: 'workers/src/env.ts', command: ['node', 'workers/dist/index.js'] },
  web: { module: 'web/lib/env.ts', command: ['node', 'server.mjs'] },
};

/** Subgraph compose service → the variable that holds its port (and the gateway's URL variable). */
const SUBGRAPHS = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'] as const;

/** Services that run no process of ours (images, or the Python Dagster UI). */
const NOT_OURS = new Set(['postgres', 'nats', 'dagster', 'certs']);

/**
 * Internal TLS: read by the shared server factory and clients (packages/graphql-kit serverTlsFromEnv,
 * packages/messaging natsTlsOptions, gateway/src/tls.ts, web/server.mjs) and by node itself
 * (NODE_EXTRA_CA_CERTS), not by the per-process schemas.
 */
const TLS_ENV = ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CA_FILE', 'NODE_EXTRA_CA_CERTS'];

/** Read by Node/Next themselves (or web/server.mjs: PORT, HOSTNAME) rather than by our schemas. */
const ALWAYS_ALLOWED = new Set(['NODE_ENV', 'PORT', 'HOSTNAME', ...TLS_ENV]);

interface ComposeService {
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  ports?: string[];
  healthcheck?: { test?: string[] | string };
}

function loadCompose(): { services: Record<string, ComposeService> } {
  const doc = parseDocument(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });
  if (doc.errors.length > 0) throw new Error(`docker-compose.yml: ${doc.errors.map((e) => e.message).join('\n')}`);
  return doc.toJS({ maxAliasCount: -1 }) as { services: Record<string, ComposeService> };
}

/**
 * Compose interpolation with no variables in the environment: `${X:-d}`/`${X-d}` give `d`,
 * `${X:?msg}`/`${X?msg}` make compose refuse to start without X (so the value is guaranteed:
 * returned as a placeholder), `${X}`/`$X` give '' and `$$` is a literal `$`.
 */
function interpolate(value: string): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, op?: string, arg?: string) => {
      if (match === '$$') return '$';
      if (name === undefined) return '';
      if (op === ':-' || op === '-') return interpolate(arg ?? '');
      if (op === ':?' || op === '?') return `<required:${name}>`;
      return '';
    },
  );
}

function environmentOf(service: ComposeService): Map<string, string> {
  const env = new Map<string, string>();
  const raw = service.environment ?? {};
  const entries: [string, string | null][] = Array.isArray(raw)
    ? raw.map((item) => {
        const eq = item.indexOf('=');
        return eq === -1 ? [item, null] : [item.slice(0, eq), item.slice(eq + 1)];
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? null : String(v)]);
  for (const [key, value] of entries) {
    // `KEY` without a value passes the host's variable through: not guaranteed to be set.
    env.set(key, value === null ? '' : interpolate(value));
  }
  return env;
}

function loadEnvSchema(service: string): EnvModule['envSchema'] {
  const { module } = PROCESS_ENV[service];
  const file = path.join(ROOT, module);
  if (!existsSync(file)) {
    throw new Error(`${module} does not exist: the ${service} process must export its zod \`envSchema\` from it`);
  }
  const mod = require(file) as Partial<EnvModule>;
  if (!mod.envSchema || typeof mod.envSchema !== 'object' || !('shape' in mod.envSchema)) {
    throw new Error(`${module} must export \`envSchema\`, a z.object(...)`);
  }
  return mod.envSchema;
}

function requiredKeys(schema: EnvModule['envSchema']): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => !field.isOptional())
    .map(([key]) => key);
}

const compose = loadCompose();
const serviceNames = Object.keys(compose.services);

describe('docker-compose.yml', () => {
  test('every service is either mapped to its process or known not to be ours', () => {
    const unmapped = serviceNames.filter((name) => !(name in PROCESS_ENV) && name !== 'migrate' && !NOT_OURS.has(name));
    expect(unmapped).toEqual([]);
    for (const name of [...Object.keys(PROCESS_ENV), 'migrate', ...NOT_OURS]) {
      expect(serviceNames).toContain(name);
    }
  });

  test('uses no env_file (the variables must be visible here, and compose must refuse to start without secrets)', () => {
    expect(serviceNames.filter((name) => compose.services[name].env_file !== undefined)).toEqual([]);
  });

  test.each(Object.keys(PROCESS_ENV))('%s runs the process whose environment is checked', (name) => {
    expect(compose.services[name].command).toEqual(PROCESS_ENV[name].command);
  });

  describe.each(Object.keys(PROCESS_ENV))('%s', (name) => {
    test('sets every variable its process requires', () => {
      const env = environmentOf(compose.services[name]);
      const missing = requiredKeys(loadEnvSchema(name)).filter((key) => (env.get(key) ?? '') === '');
      expect(missing).toEqual([]);
    });

    test('sets no variable its process does not read', () => {
      const known = new Set(Object.keys(loadEnvSchema(name).shape));
      const unknown = [...environmentOf(compose.services[name]).keys()].filter((key) => !known.has(key) && !ALWAYS_ALLOWED.has(key));
      expect(unknown).toEqual([]);
    });

    test('its values pass its schema (with the required secrets left to .env)', () => {
      const env = Object.fromEntries([...environmentOf(compose.services[name]).entries()].filter(([, value]) => !value.startsWith('<required:')));
      const schema = loadEnvSchema(name);
      const secretKeys = [...environmentOf(compose.services[name]).entries()].filter(([, value]) => value.startsWith('<required:')).map(([key]) => key);
      // Check the literal values only: the secrets come from the operator's .env.
      const problems: string[] = [];
      for (const [key, value] of Object.entries(env)) {
        const field = schema.shape[key];
        if (!field) continue;
        const result = field.safeParse(value);
        if (!result.success) problems.push(`${key}=${JSON.stringify(value)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
      }
      expect(problems).toEqual([]);
      expect(secretKeys.every((key) => key.startsWith('DLX_'))).toBe(true);
    });
  });

  test('internal TLS on every hop: certificates mounted, https between processes, PostgreSQL verify-full, NATS tls://', () => {
    const problems: string[] = [];
    for (const name of [...Object.keys(PROCESS_ENV), 'migrate']) {
      const service = compose.services[name];
      const env = environmentOf(service);
      const volumes = ((service as { volumes?: string[] }).volumes ?? []).map(String);
      if (!volumes.includes('certs:/certs:ro')) problems.push(`${name}: the certs volume is not mounted read-only at /certs`);
      if (name !== 'migrate') for (const key of TLS_ENV) if (!env.get(key)?.startsWith('/certs/')) problems.push(`${name}: ${key} is not a file in /certs`);
      for (const [key, value] of env) {
        if (/^postgres(ql)?:\/\//.test(value) && !/[?&]sslmode=verify-full(&|$)/.test(value))
          problems.push(`${name}: ${key} does not verify PostgreSQL's certificate (sslmode=verify-full)`);
        if (key === 'NATS_URL' && !value.startsWith('tls://')) problems.push(`${name}: NATS_URL is not tls://`);
        if (/_URL$/.test(key) && value.startsWith('http://')) problems.push(`${name}: ${key} is plain http`);
      }
      const health = JSON.stringify(service.healthcheck?.test ?? '');
      if (health.includes('http://')) problems.push(`${name}: the healthcheck uses plain http`);
    }
    const postgresCommand = JSON.stringify((compose.services.postgres as { command?: unknown }).command ?? '');
    for (const option of ['ssl=on', 'ssl_min_protocol_version=TLSv1.2', 'hba_file=/certs/pg_hba.conf'])
      if (!postgresCommand.includes(option)) problems.push(`postgres: missing -c ${option}`);
    const natsCommand = JSON.stringify(compose.services.nats.command ?? '');
    for (const option of ['--tls', '--tlscert', '--tlskey', '--tlscacert']) if (!natsCommand.includes(`"${option}"`)) problems.push(`nats: missing ${option}`);
    // Plain HTTP is left only to Dagster's webserver, published on loopback alone.
    expect(compose.services.dagster.ports).toEqual(['127.0.0.1:3070:3070']);
    expect(problems).toEqual([]);
  });

  test('migrate runs every subgraph migration with what migrate.js requires', () => {
    const migrate = compose.services.migrate;
    const script = (Array.isArray(migrate.command) ? migrate.command : [migrate.command ?? '']).map((part) => interpolate(part)).join(' ');
    expect(script).toContain('for s in auth workspace schema mapping monitoring;');
    expect(script).toContain('node services/$s/dist/migrate.js || exit 1');
    // migrate.js reads only the database settings (packages/common `databaseEnv`).
    const { databaseEnv } = require(path.join(ROOT, 'packages/common/src/env.ts')) as {
      databaseEnv: Record<string, ZodTypeAny>;
    };
    const env = environmentOf(migrate);
    const required = Object.entries(databaseEnv)
      .filter(([, field]) => !field.isOptional())
      .map(([key]) => key);
    expect(required).toContain('DATABASE_URL');
    expect(required.filter((key) => (env.get(key) ?? '') === '')).toEqual([]);
  });

  test('migrations run as the owner; the services connect as the runtime role the migrate service creates', () => {
    const migrate = environmentOf(compose.services.migrate);
    const postgres = environmentOf(compose.services.postgres);
    const owner = new URL(migrate.get('DATABASE_MIGRATION_URL') ?? '');
    expect(owner.username).toBe(postgres.get('POSTGRES_USER'));
    expect(owner.password).toBe(postgres.get('POSTGRES_PASSWORD'));
    // auth's migrate.js reads DATABASE_URL only: the owner's too.
    expect(migrate.get('DATABASE_URL')).toBe(migrate.get('DATABASE_MIGRATION_URL'));
    const role = migrate.get('DATABASE_RUNTIME_ROLE') ?? '';
    expect(role).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(role).not.toBe(owner.username);
    const script = (Array.isArray(compose.services.migrate.command) ? compose.services.migrate.command : []).join(' ');
    expect(script.indexOf('node scripts/runtime-role.mjs || exit 1')).toBeGreaterThan(-1);
    expect(script.indexOf('node scripts/runtime-role.mjs')).toBeLessThan(script.indexOf('migrate.js'));
    expect(existsSync(path.join(ROOT, 'scripts/runtime-role.mjs'))).toBe(true);
    for (const name of SUBGRAPHS) {
      const url = new URL(environmentOf(compose.services[name]).get('DATABASE_URL') ?? '');
      expect([name, url.username, url.password, url.host, url.pathname]).toEqual([
        name,
        role,
        migrate.get('DATABASE_RUNTIME_PASSWORD'),
        owner.host,
        owner.pathname,
      ]);
      expect(environmentOf(compose.services[name]).has('DATABASE_MIGRATION_URL')).toBe(false);
    }
  });

  test('the gateway reaches each subgraph on the port that subgraph listens on', () => {
    const gatewayEnv = environmentOf(compose.services.gateway);
    for (const name of SUBGRAPHS) {
      const portKey = `${name.toUpperCase()}_PORT`;
      const port = environmentOf(compose.services[name]).get(portKey);
      expect([portKey, port]).toEqual([portKey, expect.stringMatching(/^\d+$/)]);
      expect([`${name.toUpperCase()}_URL`, gatewayEnv.get(`${name.toUpperCase()}_URL`)]).toEqual([
        `${name.toUpperCase()}_URL`,
        `https://${name}:${port}/graphql`,
      ]);
      expect(compose.services[name].ports).toEqual([`${port}:${port}`]);
    }
  });

  test('secrets are demanded by interpolation, so compose refuses to start without them', () => {
    const raw = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(raw).toMatch(/\$\{DLX_ASSERTION_PUBLIC_KEY:\?[^}]+\}/);
    expect(raw).toMatch(/\$\{DLX_ASSERTION_PRIVATE_KEY:\?[^}]+\}/);
    expect(environmentOf(compose.services.gateway).get('DLX_ASSERTION_PRIVATE_KEY')).toBe('<required:DLX_ASSERTION_PRIVATE_KEY>');
    for (const name of SUBGRAPHS) {
      expect([name, environmentOf(compose.services[name]).get('DLX_ASSERTION_PUBLIC_KEY')]).toEqual([name, '<required:DLX_ASSERTION_PUBLIC_KEY>']);
    }
  });
});

describe('docker-compose.yml: the worker network policy', () => {
  test("DLX_PLATFORM_ENDPOINTS names every platform server, so a tenant's connection can reach none of them", () => {
    const endpoints = new Set((environmentOf(compose.services.worker).get('DLX_PLATFORM_ENDPOINTS') ?? '').split(',').map((e) => e.trim()));
    // Every published port (the container's side), plus the database and NATS that publish none.
    const listening = serviceNames.flatMap((name) => (compose.services[name].ports ?? []).map((p) => `${name}:${String(p).split(':').pop()}`));
    expect([...listening, 'postgres:5432', 'nats:4222'].filter((e) => !endpoints.has(e))).toEqual([]);
  });
});
