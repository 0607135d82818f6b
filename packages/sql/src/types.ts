/** The public shapes of `@datalinx/sql`: problems, scopes and results of parsing user SQL. */

/** Where in the user's text a problem is; `line` and `column` are 1-based, `offset` is 0-based (UTF-16 units). */
export interface SqlPosition {
  offset: number;
  line: number;
  column: number;
}

export const SQL_PROBLEM_CODES = [
  'SYNTAX',
  'EMPTY',
  'MULTIPLE_STATEMENTS',
  'NOT_AN_EXPRESSION',
  'NOT_A_SELECT',
  'COMMENT',
  'FUNCTION_NOT_ALLOWED',
  'NODE_NOT_ALLOWED',
  'UNKNOWN_COLUMN',
  'AMBIGUOUS_COLUMN',
  'UNKNOWN_RELATION',
  'AMBIGUOUS_RELATION',
  'SCHEMA_NOT_ALLOWED',
  'SUBQUERY_NOT_ALLOWED',
  'IDENTIFIER_TOO_LONG',
  'TOO_LONG',
  'TYPE_MISMATCH',
  'TYPE_NOT_ALLOWED',
  'WRONG_ARGUMENTS',
  'MISSING_ALIAS',
  'DUPLICATE_COLUMN',
] as const;
export type SqlProblemCode = (typeof SQL_PROBLEM_CODES)[number];

/** One thing wrong with the user's SQL; `message` says what is wrong and what to do about it. */
export interface SqlProblem {
  code: SqlProblemCode;
  message: string;
  position?: SqlPosition;
}

/**
 * A column visible to an expression: `relation` is the alias of a mapping source (table or CTE).
 * `type` is a PostgreSQL type name as discovered (e.g. 'character varying', 'integer',
 * 'timestamp with time zone', 'numeric(12,2)', 'USER-DEFINED', 'text[]').
 */
export interface ScopeColumn {
  relation: string;
  name: string;
  type: string;
}

export interface ExpressionScope {
  columns: ScopeColumn[];
}

export type ExpressionResult =
  | {
      ok: true;
      /** Re-emitted from the tree: every column as "relation"."column", keywords and functions normalized. */
      sql: string;
      /** Inferred normalized type ('text', 'integer', 'numeric', 'timestamptz', …, or 'unknown'). */
      type: string;
      /** Columns read, each once, in order of first appearance. */
      columns: Array<{ relation: string; name: string }>;
      /** Functions called, in evaluation order (arguments before the call), for lineage. */
      functions: string[];
    }
  | { ok: false; problems: SqlProblem[] };

/**
 * A relation a CTE may read: the source table as the user names it (schema + name, e.g.
 * public.customers, or a bare name when unambiguous), and what to emit for it (e.g. a dbt
 * `{{ ref('stg_…') }}` or a quoted warehouse table). Other CTEs of the same mapping are relations too.
 */
export interface CteRelation {
  schema?: string;
  name: string;
  columns: Array<{ name: string; type: string }>;
  emit: string;
}

export type CteResult =
  | {
      ok: true;
      /** The SELECT re-emitted with relations replaced by their `emit`. */
      sql: string;
      /** Output columns with inferred normalized types. */
      columns: Array<{ name: string; type: string }>;
      /** Every relation column the SELECT reads (relation as `schema.name` or `name`, as declared). */
      reads: Array<{ relation: string; column: string }>;
      /** For each output column, the relation columns it is computed from. */
      lineage: Record<string, Array<{ relation: string; column: string }>>;
    }
  | { ok: false; problems: SqlProblem[] };

export type AssignableResult = { ok: true; cast: boolean } | { ok: false; message: string };
