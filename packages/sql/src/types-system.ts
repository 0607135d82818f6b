/** Normalized PostgreSQL type names and what may be written into a target column. */
import type { AssignableResult } from './types';

/** The normalized scalar types; anything else normalizes to 'unknown'. Arrays are `<scalar>[]`. */
export const NORMALIZED_TYPES = [
  'text',
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'boolean',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'json',
  'jsonb',
  'bytea',
  'unknown',
] as const;

const ALIASES: Record<string, string> = {
  text: 'text',
  'character varying': 'text',
  varchar: 'text',
  character: 'text',
  char: 'text',
  bpchar: 'text',
  name: 'text',
  citext: 'text',
  smallint: 'smallint',
  int2: 'smallint',
  smallserial: 'smallint',
  serial2: 'smallint',
  integer: 'integer',
  int: 'integer',
  int4: 'integer',
  serial: 'integer',
  serial4: 'integer',
  bigint: 'bigint',
  int8: 'bigint',
  bigserial: 'bigint',
  serial8: 'bigint',
  numeric: 'numeric',
  decimal: 'numeric',
  real: 'real',
  float4: 'real',
  'double precision': 'double precision',
  float8: 'double precision',
  float: 'double precision',
  boolean: 'boolean',
  bool: 'boolean',
  date: 'date',
  time: 'time',
  'time without time zone': 'time',
  timetz: 'timetz',
  'time with time zone': 'timetz',
  timestamp: 'timestamp',
  'timestamp without time zone': 'timestamp',
  timestamptz: 'timestamptz',
  'timestamp with time zone': 'timestamptz',
  interval: 'interval',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
  bytea: 'bytea',
};

/**
 * A discovered or written PostgreSQL type name in its normalized form: 'character varying(20)'
 * → 'text', 'int4' → 'integer', 'numeric(12,2)' → 'numeric', 'timestamp(3) with time zone' →
 * 'timestamptz', 'text[]' and '_text' → 'text[]', 'USER-DEFINED' or anything unrecognized →
 * 'unknown'. Modifiers (length, precision) are dropped: inferred types carry none.
 */
export function normalizeType(pgType: string): string {
  let t = pgType
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^pg_catalog\./, '')
    .replace(/"/g, '');
  let array = false;
  if (t.endsWith('[]')) {
    array = true;
    t = t.replace(/(\s*\[\])+$/, '');
  } else if (t.startsWith('_')) {
    array = true;
    t = t.slice(1);
  }
  const floatPrecision = /^float\s*\(\s*(\d+)\s*\)$/.exec(t);
  if (floatPrecision) t = Number(floatPrecision[1]) <= 24 ? 'real' : 'double precision';
  // Drop type modifiers wherever they stand: 'timestamp(3) with time zone', 'numeric(12, 2)'.
  t = t.replace(/\s*\([^)]*\)/g, '').trim();
  const base = ALIASES[t] ?? 'unknown';
  if (!array) return base;
  return base === 'unknown' ? 'unknown' : `${base}[]`;
}

const INTEGER_TYPES = ['smallint', 'integer', 'bigint'];
const NUMERIC_TYPES = [...INTEGER_TYPES, 'numeric', 'real', 'double precision'];

/** Whether `t` is a numeric normalized type. */
export function isNumeric(t: string): boolean {
  return NUMERIC_TYPES.includes(t);
}

/** Whether `t` is an integer normalized type. */
export function isInteger(t: string): boolean {
  return INTEGER_TYPES.includes(t);
}

/** The type PostgreSQL resolves two numeric operands of an arithmetic operator to. */
export function widerNumeric(a: string, b: string): string {
  const order = ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'];
  const ia = order.indexOf(a);
  const ib = order.indexOf(b);
  if (ia < 0 || ib < 0) return 'unknown';
  // A float operand makes double precision unless both are real (integers and numeric cast to float8).
  const float = (t: string) => t === 'real' || t === 'double precision';
  if (a === 'real' && b === 'real') return 'real';
  if (float(a) || float(b)) return 'double precision';
  return order[Math.max(ia, ib)];
}

/**
 * For each target base type, the normalized source types that widen into it without loss
 * (PostgreSQL implicit casts, minus the narrowing ones that PostgreSQL allows on assignment).
 */
const WIDENS_INTO: Record<string, string[]> = {
  smallint: ['smallint'],
  integer: ['smallint', 'integer'],
  bigint: ['smallint', 'integer', 'bigint'],
  numeric: ['smallint', 'integer', 'bigint', 'numeric'],
  real: ['smallint', 'integer', 'bigint', 'numeric', 'real'],
  'double precision': ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'],
  boolean: ['boolean'],
  date: ['date'],
  time: ['time'],
  timestamp: ['date', 'timestamp'],
  timestamptz: ['date', 'timestamp', 'timestamptz'],
  uuid: ['uuid'],
  jsonb: ['json', 'jsonb'],
  bytea: ['bytea'],
};

/** Normalized base of a target data type ('varchar(20)' → 'text', 'numeric(12,2)' → 'numeric'). */
function targetBase(to: string): { base: string; modifier: boolean } | undefined {
  const t = to.trim().toLowerCase();
  const m = /^(text|varchar|smallint|integer|bigint|numeric|real|double precision|boolean|date|time|timestamp|timestamptz|uuid|jsonb|bytea)(\(.*\))?$/.exec(t);
  if (!m) return undefined;
  return { base: m[1] === 'varchar' ? 'text' : m[1], modifier: m[2] !== undefined };
}

/**
 * Whether a value of type `from` (any PostgreSQL type name; normalized here) may be written
 * into a column of target data type `to` (a target-schema data type: text, varchar(n),
 * smallint, integer, bigint, numeric[(p,s)], real, double precision, boolean, date, time,
 * timestamp, timestamptz, uuid, jsonb, bytea). Lossless widening only: integer → bigint,
 * numeric or text is fine, text → integer is not. `cast` says the emitted SQL must cast the
 * value to the target type: when the types differ, when the target has a modifier (varchar(n):
 * an explicit cast truncates to n characters, numeric(p,s) rounds to s digits), and when
 * `from` is 'unknown'.
 */
export function assignable(from: string, to: string): AssignableResult {
  const target = targetBase(to);
  if (!target) {
    return {
      ok: false,
      message: `"${to}" is not a target data type; use one of text, varchar(n), smallint, integer, bigint, numeric, real, double precision, boolean, date, time, timestamp, timestamptz, uuid, jsonb, bytea.`,
    };
  }
  const source = normalizeType(from);
  if (source === 'unknown') return { ok: true, cast: true };
  const cast = source !== target.base || target.modifier;
  if (target.base === 'text') return { ok: true, cast };
  if (WIDENS_INTO[target.base]?.includes(source)) return { ok: true, cast };
  return {
    ok: false,
    message: `A value of type ${source} cannot be written into a column of type ${to.trim()} without losing or misreading data; convert it explicitly in the expression (for example CAST(… AS ${target.base})) or change the target column's type.`,
  };
}
