import type { CombinedError } from '@urql/next';

/** An expected failure of a mutation, as every payload's `errors` carries it. */
export interface UserErrorLike {
  code: string;
  field?: string | null;
  message: string;
}

/**
 * Splits payload errors into the ones a form field shows (by `UserError.field`, the last path
 * segment, e.g. `postgres.host` → `host`) and the rest, which the form shows above its buttons.
 */
export function splitUserErrors(
  errors: readonly UserErrorLike[],
  fields: readonly string[],
  aliases: Record<string, string> = {},
): { byField: Record<string, string>; general: string[] } {
  const byField: Record<string, string> = {};
  const general: string[] = [];
  for (const e of errors) {
    const key = e.field ? (aliases[e.field] ?? (fields.includes(e.field) ? e.field : e.field.split('.').pop())) : undefined;
    if (key && fields.includes(key)) byField[key] = byField[key] ? `${byField[key]} ${e.message}` : e.message;
    else general.push(e.message);
  }
  return { byField, general };
}

/** A request that failed as a whole, phrased for people: what happened and what to do. */
export function describeRequestError(error: CombinedError): string {
  const messages = error.graphQLErrors.map((e) => e.message);
  if (error.networkError) messages.push(error.networkError.message);
  const codes = error.graphQLErrors.map((e) => e.extensions?.code);
  if (codes.includes('GATEWAY_UNREACHABLE') || codes.includes('GATEWAY_TIMEOUT')) {
    return `${messages.join('; ')}. The platform is not answering: check that it runs (npm start), then try again.`;
  }
  if (codes.includes('FORBIDDEN')) return 'You do not have permission for this. Ask an organization admin for access.';
  return `${messages.join('; ') || 'The request failed'}. Try again; if it keeps failing, check the platform status page.`;
}
