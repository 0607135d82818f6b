import { z } from 'zod';

/**
 * Validates the whole environment at boot. Every problem is listed at once (not just the first)
 * and the process exits non-zero, so an operator fixes the configuration in one pass.
 */
export class EnvError extends Error {
  constructor(
    readonly service: string,
    readonly issues: string[],
  ) {
    super(`${service}: invalid environment:\n  - ${issues.join('\n  - ')}\nSee .env.example for every variable.`);
    this.name = 'EnvError';
  }
}

export function parseEnv<S extends z.ZodRawShape>(service: string, schema: z.ZodObject<S>, source: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new EnvError(service, issues);
}

/** Loads the environment or prints every problem and exits(1): for process entry points. */
export function loadEnvOrExit<S extends z.ZodRawShape>(service: string, schema: z.ZodObject<S>): z.infer<z.ZodObject<S>> {
  try {
    return parseEnv(service, schema);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

/** PEM values arrive through env files with literal "\n" sequences; accept both forms. */
export const pem = (label: string) =>
  z
    .string({ required_error: `${label} is required (PEM)` })
    .transform((v) => v.replace(/\\n/g, '\n').trim())
    .refine((v) => v.startsWith('-----BEGIN '), { message: `${label} must be a PEM block` });

export const port = (def: number) => z.coerce.number().int().min(1).max(65535).default(def);

export const commonEnv = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

export const databaseEnv = {
  DATABASE_URL: z.string({ required_error: 'DATABASE_URL is required' }).url('DATABASE_URL must be a postgres:// URL'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15000),
};

export const natsEnv = {
  NATS_URL: z.string({ required_error: 'NATS_URL is required' }).min(1),
};
