import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { DomainError } from '@datalinx/common';
import type { Logger } from '@datalinx/common';

/** The one place domain errors become GraphQL errors (codes in `extensions.code`). */
export function toGraphQLError(err: unknown): GraphQLError | undefined {
  if (err instanceof GraphQLError && err.extensions?.code) return err;
  if (err instanceof DomainError) {
    return new GraphQLError(err.message, { extensions: { code: err.code, ...err.details } });
  }
  return undefined;
}

const KNOWN_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

/**
 * Apollo formatError: typed errors pass through; anything unexpected is logged with the request
 * id and replaced by a generic message (no stack traces, SQL or secrets reach the client).
 */
export function makeFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const mapped = toGraphQLError(original);
    if (mapped) return { ...formatted, message: mapped.message, extensions: { ...mapped.extensions } };
    const code = formatted.extensions?.code as string | undefined;
    if (code && (KNOWN_CODES.has(code) || code === 'FORBIDDEN' || code === 'UNAUTHENTICATED')) return formatted;
    log.error(
      { err: original instanceof Error ? { message: original.message, stack: original.stack } : String(original), path: formatted.path },
      'unexpected error',
    );
    return {
      message: 'Internal error. It has been logged; if it persists, contact support with the request id.',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

/**
 * An expected mutation failure, returned in the payload (never thrown). `C` is the service's
 * closed list of codes: `UserError.code` stays a `String!` in every subgraph (the type is
 * `@shareable`, so all subgraphs must declare the same field types) and each service lists its
 * values in its own `<Service>ErrorCode` enum.
 */
export interface UserError<C extends string = string> {
  code: C;
  field: string | null;
  message: string;
}

/**
 * The UserError builder of a service: it accepts only a code of the service's `as const` list,
 * so an unlisted code fails to compile.
 */
export function defineUserErrors<const C extends readonly string[]>(codes: C) {
  type Code = C[number];
  const known = new Set<string>(codes);
  return (code: Code, field: string | null, message: string): UserError<Code> => {
    if (!known.has(code)) throw new Error(`unlisted UserError code ${code}`);
    return { code, field, message };
  };
}
