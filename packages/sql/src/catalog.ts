/**
 * The allow-lists: functions (with arity, argument kinds and return types), aggregates and window
 * functions (CTEs only), cast target types and operators. Everything not listed is refused.
 *
 * Left out on purpose: volatile or run-dependent functions (now, current_date, random,
 * gen_random_uuid, clock_timestamp, age with one argument), set-returning functions
 * (generate_series, unnest, regexp_matches, jsonb_array_elements, …), anything touching the
 * server, sessions or other objects (pg_sleep, pg_read_file, set_config, current_setting,
 * nextval, dblink, lo_*, pg_terminate_backend, txid_*, …), and functions whose output size a
 * single argument can blow up (repeat). format() is left out because its `%I`/`%L` placeholders
 * build SQL text.
 */
import { isInteger, isNumeric, widerNumeric } from './types-system';

/** An inferred type; `literal` marks an untyped string literal, which adapts to its context like PostgreSQL's `unknown`. */
export interface Inferred {
  type: string;
  literal?: boolean;
  isNull?: boolean;
}

/** What an argument must be: checked only when its type is known (not 'unknown', not a literal). */
export type ArgKind = 'text' | 'number' | 'integer' | 'datetime' | 'timestamp' | 'bytea' | 'json' | 'boolean' | 'any';

export interface FunctionSpec {
  min: number;
  max: number;
  /** Kinds of the arguments; the last one repeats for extra arguments. */
  args: ArgKind[];
  returns: (args: Inferred[]) => string;
}

const DATETIME = ['date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval'];

/** Whether a known type fits an argument kind. */
export function fitsKind(type: string, kind: ArgKind): boolean {
  switch (kind) {
    case 'any':
      return true;
    case 'text':
      return type === 'text';
    case 'number':
      return isNumeric(type);
    case 'integer':
      return isInteger(type);
    case 'datetime':
      return DATETIME.includes(type);
    case 'timestamp':
      return ['date', 'timestamp', 'timestamptz'].includes(type);
    case 'bytea':
      return type === 'bytea';
    case 'json':
      return type === 'json' || type === 'jsonb';
    case 'boolean':
      return type === 'boolean';
  }
}

const fixed = (type: string) => (): string => type;
/** numeric in → numeric out; any other number → double precision (PostgreSQL's float8 variants). */
const numericOrDouble = (args: Inferred[]): string => (args[0]?.type === 'numeric' ? 'numeric' : 'double precision');
const sameAsFirst = (args: Inferred[]): string => (args[0] && !args[0].literal ? args[0].type : 'unknown');
const sameNumber = (args: Inferred[]): string => {
  const known = args.filter((a) => !a.literal && isNumeric(a.type)).map((a) => a.type);
  return known.length ? known.reduce(widerNumeric) : 'unknown';
};
/** date_trunc keeps timestamp, timestamptz and interval; a date resolves to timestamptz. */
const truncated = (args: Inferred[]): string => {
  const t = args[1]?.type;
  if (t === 'timestamp' || t === 'interval' || t === 'timestamptz') return t;
  return t === 'date' ? 'timestamptz' : 'unknown';
};
/** `x AT TIME ZONE z` (timezone(z, x)) flips between timestamp and timestamptz. */
const atTimeZone = (args: Inferred[]): string => {
  const t = args[1]?.type;
  if (t === 'timestamptz') return 'timestamp';
  if (t === 'timestamp' || t === 'date') return 'timestamptz';
  return 'unknown';
};
const jsonSame = (args: Inferred[]): string => (args[0]?.type === 'json' ? 'json' : 'jsonb');

const f = (min: number, max: number, args: ArgKind[], returns: FunctionSpec['returns']): FunctionSpec => ({ min, max, args, returns });
const MANY = 100;

/** Scalar functions allowed in expressions and CTEs, by the name PostgreSQL's parser gives them. */
export const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  // text
  lower: f(1, 1, ['text'], fixed('text')),
  upper: f(1, 1, ['text'], fixed('text')),
  initcap: f(1, 1, ['text'], fixed('text')),
  btrim: f(1, 2, ['text'], fixed('text')),
  ltrim: f(1, 2, ['text'], fixed('text')),
  rtrim: f(1, 2, ['text'], fixed('text')),
  length: f(1, 1, ['any'], fixed('integer')),
  char_length: f(1, 1, ['text'], fixed('integer')),
  character_length: f(1, 1, ['text'], fixed('integer')),
  octet_length: f(1, 1, ['any'], fixed('integer')),
  substring: f(2, 3, ['text', 'any'], fixed('text')),
  substr: f(2, 3, ['text', 'integer'], fixed('text')),
  left: f(2, 2, ['text', 'integer'], fixed('text')),
  right: f(2, 2, ['text', 'integer'], fixed('text')),
  replace: f(3, 3, ['text'], fixed('text')),
  translate: f(3, 3, ['text'], fixed('text')),
  regexp_replace: f(3, 6, ['text', 'text', 'text', 'any'], fixed('text')),
  regexp_match: f(2, 3, ['text'], fixed('text[]')),
  regexp_like: f(2, 3, ['text'], fixed('boolean')),
  split_part: f(3, 3, ['text', 'text', 'integer'], fixed('text')),
  concat: f(1, MANY, ['any'], fixed('text')),
  concat_ws: f(2, MANY, ['text', 'any'], fixed('text')),
  lpad: f(2, 3, ['text', 'integer', 'text'], fixed('text')),
  rpad: f(2, 3, ['text', 'integer', 'text'], fixed('text')),
  reverse: f(1, 1, ['text'], fixed('text')),
  position: f(2, 2, ['text'], fixed('integer')),
  strpos: f(2, 2, ['text'], fixed('integer')),
  starts_with: f(2, 2, ['text'], fixed('boolean')),
  overlay: f(3, 4, ['text', 'text', 'integer'], fixed('text')),
  ascii: f(1, 1, ['text'], fixed('integer')),
  chr: f(1, 1, ['integer'], fixed('text')),
  to_hex: f(1, 1, ['integer'], fixed('text')),
  md5: f(1, 1, ['any'], fixed('text')),
  // sha2 functions take bytea: hash text as sha256(convert_to(x, 'UTF8')), print with encode(…, 'hex').
  sha224: f(1, 1, ['bytea'], fixed('bytea')),
  sha256: f(1, 1, ['bytea'], fixed('bytea')),
  sha384: f(1, 1, ['bytea'], fixed('bytea')),
  sha512: f(1, 1, ['bytea'], fixed('bytea')),
  convert_to: f(2, 2, ['text'], fixed('bytea')),
  convert_from: f(2, 2, ['bytea', 'text'], fixed('text')),
  encode: f(2, 2, ['bytea', 'text'], fixed('text')),
  decode: f(2, 2, ['text'], fixed('bytea')),
  // numbers
  abs: f(1, 1, ['number'], sameAsFirst),
  round: f(1, 2, ['number', 'integer'], numericOrDouble),
  ceil: f(1, 1, ['number'], numericOrDouble),
  ceiling: f(1, 1, ['number'], numericOrDouble),
  floor: f(1, 1, ['number'], numericOrDouble),
  trunc: f(1, 2, ['number', 'integer'], numericOrDouble),
  sign: f(1, 1, ['number'], numericOrDouble),
  mod: f(2, 2, ['number'], sameNumber),
  div: f(2, 2, ['number'], fixed('numeric')),
  power: f(2, 2, ['number'], numericOrDouble),
  pow: f(2, 2, ['number'], numericOrDouble),
  sqrt: f(1, 1, ['number'], numericOrDouble),
  exp: f(1, 1, ['number'], numericOrDouble),
  ln: f(1, 1, ['number'], numericOrDouble),
  log: f(1, 2, ['number'], numericOrDouble),
  // date and time
  date_trunc: f(2, 3, ['text', 'datetime', 'text'], truncated),
  date_part: f(2, 2, ['text', 'datetime'], fixed('double precision')),
  extract: f(2, 2, ['text', 'datetime'], fixed('numeric')),
  timezone: f(2, 2, ['text', 'timestamp'], atTimeZone),
  to_char: f(2, 2, ['any', 'text'], fixed('text')),
  to_date: f(2, 2, ['text'], fixed('date')),
  to_timestamp: f(1, 2, ['any', 'text'], fixed('timestamptz')),
  to_number: f(2, 2, ['text'], fixed('numeric')),
  make_date: f(3, 3, ['integer'], fixed('date')),
  make_time: f(3, 3, ['integer', 'integer', 'number'], fixed('time')),
  make_timestamp: f(6, 6, ['integer', 'integer', 'integer', 'integer', 'integer', 'number'], fixed('timestamp')),
  age: f(2, 2, ['timestamp'], fixed('interval')),
  // json
  jsonb_extract_path_text: f(2, MANY, ['json', 'text'], fixed('text')),
  json_extract_path_text: f(2, MANY, ['json', 'text'], fixed('text')),
  jsonb_extract_path: f(2, MANY, ['json', 'text'], fixed('jsonb')),
  json_extract_path: f(2, MANY, ['json', 'text'], fixed('json')),
  jsonb_typeof: f(1, 1, ['json'], fixed('text')),
  jsonb_array_length: f(1, 1, ['json'], fixed('integer')),
  to_jsonb: f(1, 1, ['any'], fixed('jsonb')),
  jsonb_build_object: f(0, MANY, ['any'], fixed('jsonb')),
  jsonb_build_array: f(0, MANY, ['any'], fixed('jsonb')),
  jsonb_strip_nulls: f(1, 1, ['json'], jsonSame),
  // nulls
  num_nulls: f(1, MANY, ['any'], fixed('integer')),
  num_nonnulls: f(1, MANY, ['any'], fixed('integer')),
};

const sumType = (args: Inferred[]): string => {
  const t = args[0]?.type;
  if (t === 'smallint' || t === 'integer') return 'bigint';
  if (t === 'bigint' || t === 'numeric') return 'numeric';
  if (t === 'real' || t === 'double precision' || t === 'interval') return t;
  return 'unknown';
};
const avgType = (args: Inferred[]): string => {
  const t = args[0]?.type;
  if (t === 'real' || t === 'double precision') return 'double precision';
  if (t === 'interval') return t;
  return t && isNumeric(t) ? 'numeric' : 'unknown';
};
const arrayOf = (args: Inferred[]): string => {
  const t = args[0]?.type;
  return t && t !== 'unknown' && !t.endsWith('[]') ? `${t}[]` : 'unknown';
};

/** Aggregates, allowed in CTEs only (with DISTINCT, ORDER BY, FILTER and OVER). */
export const AGGREGATES: Readonly<Record<string, FunctionSpec>> = {
  count: f(0, 1, ['any'], fixed('bigint')),
  sum: f(1, 1, ['any'], sumType),
  avg: f(1, 1, ['any'], avgType),
  min: f(1, 1, ['any'], sameAsFirst),
  max: f(1, 1, ['any'], sameAsFirst),
  bool_and: f(1, 1, ['boolean'], fixed('boolean')),
  bool_or: f(1, 1, ['boolean'], fixed('boolean')),
  every: f(1, 1, ['boolean'], fixed('boolean')),
  string_agg: f(2, 2, ['text'], fixed('text')),
  array_agg: f(1, 1, ['any'], arrayOf),
  jsonb_agg: f(1, 1, ['any'], fixed('jsonb')),
  jsonb_object_agg: f(2, 2, ['any'], fixed('jsonb')),
};

/** Window functions, allowed in CTEs only and only with OVER. */
export const WINDOW_FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  row_number: f(0, 0, [], fixed('bigint')),
  rank: f(0, 0, [], fixed('bigint')),
  dense_rank: f(0, 0, [], fixed('bigint')),
  percent_rank: f(0, 0, [], fixed('double precision')),
  cume_dist: f(0, 0, [], fixed('double precision')),
  ntile: f(1, 1, ['integer'], fixed('integer')),
  lag: f(1, 3, ['any', 'integer', 'any'], sameAsFirst),
  lead: f(1, 3, ['any', 'integer', 'any'], sameAsFirst),
  first_value: f(1, 1, ['any'], sameAsFirst),
  last_value: f(1, 1, ['any'], sameAsFirst),
  nth_value: f(2, 2, ['any', 'integer'], sameAsFirst),
};

/** Why some well-known functions are refused, for messages that explain rather than just say no. */
export const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = Object.fromEntries([
  ...['now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday', 'random', 'gen_random_uuid', 'uuid_generate_v4'].map((n) => [
    n,
    'its result changes from run to run, so a mapping would not give the same rows twice; map a source column instead',
  ]),
  ...[
    'generate_series',
    'unnest',
    'regexp_matches',
    'regexp_split_to_table',
    'jsonb_array_elements',
    'jsonb_array_elements_text',
    'json_array_elements',
    'jsonb_each',
    'jsonb_each_text',
    'json_each',
    'jsonb_object_keys',
  ].map((n) => [n, 'it returns a set of rows, and a field expression computes one value per row']),
  ...[
    'nextval',
    'setval',
    'currval',
    'lastval',
    'set_config',
    'current_setting',
    'pg_sleep',
    'pg_read_file',
    'pg_read_binary_file',
    'pg_ls_dir',
    'pg_terminate_backend',
    'pg_cancel_backend',
    'dblink',
    'dblink_exec',
    'lo_import',
    'lo_export',
    'txid_current',
    'pg_current_xact_id',
  ].map((n) => [n, 'it reads or changes the server, its sessions or its files']),
  ['format', 'it builds SQL text; use concat() or ||'],
  ['repeat', 'one argument can make its result arbitrarily large; use lpad() or rpad() with a length'],
]);

export const ALLOWED_FUNCTIONS: readonly string[] = Object.keys(FUNCTIONS).sort();
export const ALLOWED_AGGREGATES: readonly string[] = [...Object.keys(AGGREGATES), ...Object.keys(WINDOW_FUNCTIONS)].sort();

/**
 * Cast target types: the parser's name (after `pg_catalog.`) → normalized type and whether
 * type modifiers are accepted. Casts to anything else (regclass, regproc, oid, …: they read the
 * catalogs) are refused.
 */
export const CAST_TYPES: Readonly<Record<string, { type: string; sql: string; modifiers: number }>> = {
  text: { type: 'text', sql: 'text', modifiers: 0 },
  varchar: { type: 'text', sql: 'varchar', modifiers: 1 },
  bpchar: { type: 'text', sql: 'bpchar', modifiers: 1 },
  int2: { type: 'smallint', sql: 'smallint', modifiers: 0 },
  smallint: { type: 'smallint', sql: 'smallint', modifiers: 0 },
  int4: { type: 'integer', sql: 'integer', modifiers: 0 },
  integer: { type: 'integer', sql: 'integer', modifiers: 0 },
  int: { type: 'integer', sql: 'integer', modifiers: 0 },
  int8: { type: 'bigint', sql: 'bigint', modifiers: 0 },
  bigint: { type: 'bigint', sql: 'bigint', modifiers: 0 },
  numeric: { type: 'numeric', sql: 'numeric', modifiers: 2 },
  decimal: { type: 'numeric', sql: 'numeric', modifiers: 2 },
  float4: { type: 'real', sql: 'real', modifiers: 0 },
  real: { type: 'real', sql: 'real', modifiers: 0 },
  float8: { type: 'double precision', sql: 'double precision', modifiers: 0 },
  bool: { type: 'boolean', sql: 'boolean', modifiers: 0 },
  boolean: { type: 'boolean', sql: 'boolean', modifiers: 0 },
  date: { type: 'date', sql: 'date', modifiers: 0 },
  time: { type: 'time', sql: 'time', modifiers: 1 },
  timetz: { type: 'timetz', sql: 'timetz', modifiers: 1 },
  timestamp: { type: 'timestamp', sql: 'timestamp', modifiers: 1 },
  timestamptz: { type: 'timestamptz', sql: 'timestamptz', modifiers: 1 },
  interval: { type: 'interval', sql: 'interval', modifiers: 0 },
  uuid: { type: 'uuid', sql: 'uuid', modifiers: 0 },
  json: { type: 'json', sql: 'json', modifiers: 0 },
  jsonb: { type: 'jsonb', sql: 'jsonb', modifiers: 0 },
  bytea: { type: 'bytea', sql: 'bytea', modifiers: 0 },
};
export const ALLOWED_CAST_TYPES: readonly string[] = [...new Set(Object.values(CAST_TYPES).map((c) => c.sql))];

/** Binary and unary operators allowed in A_Expr (kind AEXPR_OP), with their result types. */
export const OPERATORS: ReadonlySet<string> = new Set([
  '+',
  '-',
  '*',
  '/',
  '%',
  '^',
  '||',
  '=',
  '<>',
  '!=',
  '<',
  '>',
  '<=',
  '>=',
  '~',
  '~*',
  '!~',
  '!~*',
  '->',
  '->>',
  '#>',
  '#>>',
  '@>',
  '<@',
  '?',
  '?|',
  '?&',
]);
