import { z } from 'zod';

/**
 * Environment of the web process (`next start`). Read at request/boot time, never at build
 * time: one built image serves every environment, so nothing here may be inlined by the
 * bundler (no `NEXT_PUBLIC_` variables).
 */
export const envSchema = z.object({
  /** GraphQL endpoint of the gateway, as reached from the web server (not from the browser). */
  GATEWAY_URL: z.string().refine(isHttpUrl, 'must be an http(s) URL, e.g. http://127.0.0.1:4000/graphql').default('http://127.0.0.1:4000/graphql'),
  /** How long the same-origin proxy waits for the gateway before answering 504. */
  GATEWAY_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

export type WebEnv = z.infer<typeof envSchema>;

export class WebEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid web environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'WebEnvError';
  }
}

/** Parses the whole environment and reports every problem at once. */
export function parseWebEnv(source: Record<string, string | undefined> = process.env): WebEnv {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    throw new WebEnvError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  return result.data;
}
