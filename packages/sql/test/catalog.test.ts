/**
 * The function allow-list against the real PostgreSQL (DATABASE_URL): every allowed function has
 * an example here, each example is accepted, runs, and its inferred type is the type PostgreSQL
 * reports (pg_typeof), so the return-type table cannot drift from the server.
 */
import { Client } from 'pg';
import { ALLOWED_AGGREGATES, ALLOWED_FUNCTIONS, normalizeType, parseCte, parseExpression, type ExpressionScope } from '@datalinx/sql';

const scope: ExpressionScope = {
  columns: [
    { relation: 't', name: 's', type: 'text' },
    { relation: 't', name: 'i', type: 'integer' },
    { relation: 't', name: 'n', type: 'numeric(10,2)' },
    { relation: 't', name: 'd', type: 'double precision' },
    { relation: 't', name: 'ts', type: 'timestamp with time zone' },
    { relation: 't', name: 'tsn', type: 'timestamp without time zone' },
    { relation: 't', name: 'dt', type: 'date' },
    { relation: 't', name: 'j', type: 'jsonb' },
    { relation: 't', name: 'by', type: 'bytea' },
  ],
};
const ROW = `(VALUES ('a,b'::text, 3, 2.5::numeric(10,2), 4.0::float8, '2024-03-05 10:00+00'::timestamptz, '2024-03-05 10:00'::timestamp, '2024-03-05'::date, '{"k":"v","arr":[1,2],"z":null}'::jsonb, '\\x00ff'::bytea)) AS "t"("s","i","n","d","ts","tsn","dt","j","by")`;

/** One example per allowed function (the key is the function's name as the parser gives it). */
const EXAMPLES: Record<string, string> = {
  lower: 'lower(s)',
  upper: 'upper(s)',
  initcap: 'initcap(s)',
  btrim: "trim(both 'a' from s)",
  ltrim: "ltrim(s, 'a')",
  rtrim: 'rtrim(s)',
  length: 'length(s)',
  char_length: 'char_length(s)',
  character_length: 'character_length(s)',
  octet_length: 'octet_length(s)',
  substring: 'substring(s from 1 for 2)',
  substr: 'substr(s, 2)',
  left: 'left(s, 2)',
  right: 'right(s, 2)',
  replace: "replace(s, 'a', 'b')",
  translate: "translate(s, 'a', 'b')",
  regexp_replace: "regexp_replace(s, 'a', 'b', 'g')",
  regexp_match: "regexp_match(s, '(a)')",
  regexp_like: "regexp_like(s, 'a')",
  split_part: "split_part(s, ',', 2)",
  concat: 'concat(s, i, n)',
  concat_ws: "concat_ws('-', s, i)",
  lpad: "lpad(s, 6, '*')",
  rpad: 'rpad(s, 6)',
  reverse: 'reverse(s)',
  position: "position(',' in s)",
  strpos: "strpos(s, ',')",
  starts_with: "starts_with(s, 'a')",
  overlay: "overlay(s placing 'x' from 1 for 1)",
  ascii: 'ascii(s)',
  chr: 'chr(i + 62)',
  to_hex: 'to_hex(i)',
  md5: 'md5(s)',
  sha224: "sha224(convert_to(s, 'UTF8'))",
  sha256: "encode(sha256(convert_to(s, 'UTF8')), 'hex')",
  sha384: 'sha384(by)',
  sha512: 'sha512(by)',
  convert_to: "convert_to(s, 'UTF8')",
  convert_from: "convert_from(convert_to(s, 'UTF8'), 'UTF8')",
  encode: "encode(by, 'base64')",
  decode: "decode('00ff', 'hex')",
  abs: 'abs(n)',
  round: 'round(n, 1)',
  ceil: 'ceil(n)',
  ceiling: 'ceiling(d)',
  floor: 'floor(d)',
  trunc: 'trunc(n, 1)',
  sign: 'sign(d)',
  mod: 'mod(i, 2)',
  div: 'div(n, 2)',
  power: 'power(d, 2)',
  pow: 'pow(n, 2)',
  sqrt: 'sqrt(d)',
  exp: 'exp(n)',
  ln: 'ln(d)',
  log: 'log(n)',
  date_trunc: "date_trunc('month', tsn)",
  date_part: "date_part('year', ts)",
  extract: 'extract(month from dt)',
  timezone: "ts AT TIME ZONE 'UTC'",
  to_char: "to_char(ts, 'YYYY-MM')",
  to_date: "to_date('2024-01', 'YYYY-MM')",
  to_timestamp: 'to_timestamp(d)',
  to_number: "to_number('12.5', '99.9')",
  make_date: 'make_date(2024, 1, i)',
  make_time: 'make_time(1, 2, 3.5)',
  make_timestamp: 'make_timestamp(2024, 1, i, 0, 0, 0)',
  age: 'age(tsn, dt)',
  jsonb_extract_path_text: "jsonb_extract_path_text(j, 'k')",
  json_extract_path_text: "json_extract_path_text(CAST(j AS json), 'k')",
  jsonb_extract_path: "jsonb_extract_path(j, 'arr')",
  json_extract_path: "json_extract_path(CAST(j AS json), 'arr')",
  jsonb_typeof: 'jsonb_typeof(j)',
  jsonb_array_length: "jsonb_array_length(j -> 'arr')",
  to_jsonb: 'to_jsonb(s)',
  jsonb_build_object: "jsonb_build_object('a', i)",
  jsonb_build_array: 'jsonb_build_array(i, s)',
  jsonb_strip_nulls: 'jsonb_strip_nulls(j)',
  num_nulls: 'num_nulls(s, i)',
  num_nonnulls: 'num_nonnulls(s, i)',
};

/** Aggregates and window functions, in CTEs, with the type PostgreSQL gives them. */
const CTE_EXAMPLES: Array<[string, string]> = [
  ['count(*)', 'bigint'],
  ['count(DISTINCT s)', 'bigint'],
  ['sum(i)', 'bigint'],
  ['sum(n)', 'numeric'],
  ['sum(d)', 'double precision'],
  ['avg(i)', 'numeric'],
  ['avg(d)', 'double precision'],
  ['min(ts)', 'timestamptz'],
  ['max(s)', 'text'],
  ['bool_and(i > 1)', 'boolean'],
  ['bool_or(i > 1)', 'boolean'],
  ['every(i > 1)', 'boolean'],
  ["string_agg(s, ',' ORDER BY s)", 'text'],
  ['array_agg(i)', 'integer[]'],
  ['jsonb_agg(s)', 'jsonb'],
  ['jsonb_object_agg(s, i)', 'jsonb'],
  ['row_number() OVER (ORDER BY i)', 'bigint'],
  ['rank() OVER (ORDER BY i)', 'bigint'],
  ['dense_rank() OVER (ORDER BY i)', 'bigint'],
  ['percent_rank() OVER (ORDER BY i)', 'double precision'],
  ['cume_dist() OVER (ORDER BY i)', 'double precision'],
  ['ntile(2) OVER (ORDER BY i)', 'integer'],
  ['lag(n) OVER (ORDER BY i)', 'numeric'],
  ["lead(s, 1, 'x') OVER (ORDER BY i)", 'text'],
  ['first_value(dt) OVER (ORDER BY i)', 'date'],
  ['last_value(dt) OVER (ORDER BY i)', 'date'],
  ['nth_value(s, 1) OVER (ORDER BY i)', 'text'],
  ['sum(n) OVER (PARTITION BY s)', 'numeric'],
];

describe('the function allow-list on PostgreSQL', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  it('has an example for every allowed function', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([...ALLOWED_FUNCTIONS].sort());
  });

  it.each(Object.entries(EXAMPLES))('%s: accepted, runs, and its inferred type is what PostgreSQL reports', async (name, text) => {
    const r = await parseExpression(text, scope);
    if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problems)}`);
    expect(r.functions).toContain(name);
    const { rows } = await client.query(`SELECT pg_typeof(${r.sql})::text AS t, (${r.sql})::text AS v FROM ${ROW}`);
    expect(r.type).toBe(normalizeType(rows[0].t));
  });

  it('has a CTE example for every aggregate and window function', () => {
    expect([...new Set(CTE_EXAMPLES.map(([e]) => /^(\w+)\(/.exec(e)?.[1]))].sort()).toEqual([...ALLOWED_AGGREGATES].sort());
  });

  it.each(CTE_EXAMPLES)('CTE %s: accepted, runs, inferred as %s', async (expr, type) => {
    const emit = `(SELECT * FROM ${ROW.replace('AS "t"', 'AS "x"')})`;
    const r = await parseCte('c', `SELECT ${expr} AS v FROM t`, [{ name: 't', columns: scope.columns.map((c) => ({ name: c.name, type: c.type })), emit }]);
    if (!r.ok) throw new Error(`${expr}: ${JSON.stringify(r.problems)}`);
    expect(r.columns).toEqual([{ name: 'v', type }]);
    const { rows } = await client.query(`SELECT pg_typeof(v)::text AS t FROM (${r.sql}) AS q`);
    expect(normalizeType(rows[0].t)).toBe(type);
  });
});
