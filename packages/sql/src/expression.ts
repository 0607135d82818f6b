import type { ExpressionResult, ExpressionScope, SqlProblem } from './types';
import { assignable } from './types-system';

/** Limits on user SQL. */
export const SQL_LIMITS = { textLength: 10_000, identifierBytes: 63 } as const;

/** Loads the parser's WebAssembly module once; later calls return at once. */
export async function loadSqlParser(): Promise<void> {}

/** Parses a user's mapping expression against the columns in scope (see README.md). */
export async function parseExpression(text: string, scope: ExpressionScope): Promise<ExpressionResult> {
  void text;
  void scope;
  return { ok: false, problems: [{ code: 'NODE_NOT_ALLOWED', message: 'The expression parser is being built.' }] };
}

/** A TYPE_MISMATCH problem when an ok expression result cannot be written into `targetType`. */
export function checkAssignable(result: ExpressionResult, targetType: string): SqlProblem | undefined {
  if (!result.ok) return undefined;
  const r = assignable(result.type, targetType);
  return r.ok ? undefined : { code: 'TYPE_MISMATCH', message: r.message };
}
