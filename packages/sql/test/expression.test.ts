/**
 * Field-mapping expressions: what is accepted (and how it is re-emitted and typed), what is
 * refused (with the code and the position in the user's text), and that the emitted SQL runs on
 * the real PostgreSQL (DATABASE_URL) with the values the user's SQL means.
 */
import { Client } from 'pg';
import { checkAssignable, parseExpression, type ExpressionScope, type SqlProblem } from '@datalinx/sql';

const scope: ExpressionScope = {
  columns: [
    { relation: 't', name: 'a', type: 'integer' },
    { relation: 't', name: 'b', type: 'character varying' },
    { relation: 't', name: 'amount', type: 'numeric(12,2)' },
    { relation: 't', name: 'at', type: 'timestamp with time zone' },
    { relation: 't', name: 'doc', type: 'jsonb' },
    { relation: 't', name: 'Mixed Case', type: 'text' },
    { relation: 'o', name: 'a', type: 'bigint' },
    { relation: 'o', name: 'email', type: 'text' },
    { relation: 'o', name: 'tags', type: 'text[]' },
    { relation: 'o', name: 'kind', type: 'USER-DEFINED' },
  ],
};

async function ok(text: string) {
  const r = await parseExpression(text, scope);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problems)}`);
  return r;
}

async function refused(text: string): Promise<SqlProblem[]> {
  const r = await parseExpression(text, scope);
  if (r.ok) throw new Error(`${text} was accepted as ${r.sql}`);
  return r.problems;
}

describe('parseExpression: accepted expressions', () => {
  it.each([
    ['lower(b)', 'lower("t"."b")', 'text'],
    ['t.a + o.a', '("t"."a" + "o"."a")', 'bigint'],
    ['amount * 2', '("t"."amount" * 2)', 'numeric'],
    ['t.a / 2.5', '("t"."a" / 2.5)', 'numeric'],
    ["b || '-' || email", '(("t"."b" || \'-\') || "o"."email")', 'text'],
    ["doc->>'name'", '("t"."doc" ->> \'name\')', 'text'],
    ["doc->'x'->'y'", '(("t"."doc" -> \'x\') -> \'y\')', 'jsonb'],
    ["b ILIKE '%x%'", '("t"."b" ILIKE \'%x%\')', 'boolean'],
    ["b NOT LIKE 'x_'", '("t"."b" NOT LIKE \'x_\')', 'boolean'],
    ['t.a IN (1, 2, 3)', '("t"."a" IN (1, 2, 3))', 'boolean'],
    ['t.a NOT IN (1)', '("t"."a" NOT IN (1))', 'boolean'],
    ['t.a BETWEEN 1 AND 10', '("t"."a" BETWEEN 1 AND 10)', 'boolean'],
    ['t.a IS DISTINCT FROM o.a', '("t"."a" IS DISTINCT FROM "o"."a")', 'boolean'],
    ["b ~* '^a'", '("t"."b" ~* \'^a\')', 'boolean'],
    ['b IS NULL OR NOT (t.a > 1)', '(("t"."b" IS NULL) OR (NOT ("t"."a" > 1)))', 'boolean'],
    ['(t.a > 1) IS TRUE', '(("t"."a" > 1) IS TRUE)', 'boolean'],
    [
      "CASE WHEN t.a > 0 THEN 'pos' WHEN t.a < 0 THEN 'neg' ELSE b END",
      '(CASE WHEN ("t"."a" > 0) THEN \'pos\' WHEN ("t"."a" < 0) THEN \'neg\' ELSE "t"."b" END)',
      'text',
    ],
    ['CASE t.a WHEN 1 THEN amount ELSE 0 END', '(CASE "t"."a" WHEN 1 THEN "t"."amount" ELSE 0 END)', 'numeric'],
    ['coalesce(amount, t.a, 0)', 'COALESCE("t"."amount", "t"."a", 0)', 'numeric'],
    ["nullif(b, '')", 'NULLIF("t"."b", \'\')', 'text'],
    ['greatest(t.a, o.a)', 'GREATEST("t"."a", "o"."a")', 'bigint'],
    ['least(at, at)', 'LEAST("t"."at", "t"."at")', 'timestamptz'],
    ['t.a::text', 'CAST("t"."a" AS text)', 'text'],
    ['CAST(b AS varchar(10))', 'CAST("t"."b" AS varchar(10))', 'text'],
    ['amount::numeric(10,1)', 'CAST("t"."amount" AS numeric(10,1))', 'numeric'],
    ["date '2020-01-02'", "CAST('2020-01-02' AS date)", 'date'],
    ['b::timestamp with time zone', 'CAST("t"."b" AS timestamptz)', 'timestamptz'],
    ["date_trunc('month', at)", 'date_trunc(\'month\', "t"."at")', 'timestamptz'],
    ['extract(year from at)', '"extract"(\'year\', "t"."at")', 'numeric'],
    ["at AT TIME ZONE 'UTC'", 'timezone(\'UTC\', "t"."at")', 'timestamp'],
    ["trim(both ' ' from b)", 'btrim("t"."b", \' \')', 'text'],
    ["position('@' in email)", '"position"("o"."email", \'@\')', 'integer'],
    ['substring(b from 2 for 3)', '"substring"("t"."b", 2, 3)', 'text'],
    ["encode(sha256(convert_to(b, 'UTF8')), 'hex')", 'encode(sha256(convert_to("t"."b", \'UTF8\')), \'hex\')', 'text'],
    ['md5(b)', 'md5("t"."b")', 'text'],
    ['round(amount, 1)', 'round("t"."amount", 1)', 'numeric'],
    ['-t.a', '(- "t"."a")', 'integer'],
    ['-1', '(-1)', 'integer'],
    ['1e3', '1e3', 'numeric'],
    ['9999999999', '9999999999', 'bigint'],
    ['0x1F + 1_000', '(31 + 1000)', 'integer'],
    ['true', 'TRUE', 'boolean'],
    ['NULL', 'NULL', 'unknown'],
    ["'x'", "'x'", 'text'],
    ["'a -- not a comment /* nor this */'", "'a -- not a comment /* nor this */'", 'text'],
    ["'it''s'", "'it''s'", 'text'],
    ["E'back\\\\slash'", "E'back\\\\slash'", 'text'],
    ['\'{{ env_var("SECRET") }}\'', 'E\'\\173\\173 env_var("SECRET") \\175\\175\'', 'text'],
    ['"Mixed Case"', '"t"."Mixed Case"', 'text'],
    ['mixed_case_is_not_this', undefined, undefined],
    ['EMAIL', '"o"."email"', 'text'],
    ['(tags)[1]', '("o"."tags")[1]', 'text'],
    ["(regexp_match(b, 'a(b)'))[1]", '(regexp_match("t"."b", \'a(b)\'))[1]', 'text'],
    ['kind', '"o"."kind"', 'unknown'],
    ["jsonb_extract_path_text(doc, 'a', 'b')", 'jsonb_extract_path_text("t"."doc", \'a\', \'b\')', 'text'],
    ["concat(b, ' ', t.a)", 'concat("t"."b", \' \', "t"."a")', 'text'],
    ["at + interval '1 day'", '("t"."at" + CAST(\'1 day\' AS interval))', 'timestamptz'],
    ["at::date - date '2020-01-01'", '(CAST("t"."at" AS date) - CAST(\'2020-01-01\' AS date))', 'integer'],
    ['  lower(\n  b\n)  ', 'lower("t"."b")', 'text'],
    ['lower(b);', 'lower("t"."b")', 'text'],
  ])('%s', async (text, sql, type) => {
    if (sql === undefined) {
      expect((await refused(text))[0].code).toBe('UNKNOWN_COLUMN');
      return;
    }
    const r = await ok(text);
    expect(r.sql).toBe(sql);
    expect(r.type).toBe(type);
  });

  it('the same text in another scope resolves against that scope (parse trees are cached, analyses are not)', async () => {
    const a = await parseExpression('upper(name)', { columns: [{ relation: 'p', name: 'name', type: 'text' }] });
    const b = await parseExpression('upper(name)', { columns: [{ relation: 'q', name: 'name', type: 'text' }] });
    expect(a).toMatchObject({ ok: true, sql: 'upper("p"."name")' });
    expect(b).toMatchObject({ ok: true, sql: 'upper("q"."name")' });
    expect((await parseExpression('upper(name)', { columns: [] })).ok).toBe(false);
  });

  it('lists the columns read (once each) and the functions in evaluation order', async () => {
    const r = await ok("concat_ws(' ', upper(b), lower(b), o.email)");
    expect(r.columns).toEqual([
      { relation: 't', name: 'b' },
      { relation: 'o', name: 'email' },
    ]);
    expect(r.functions).toEqual(['upper', 'lower', 'concat_ws']);
    const nested = await ok("coalesce(nullif(trim(b), ''), 'n/a')");
    expect(nested.functions).toEqual(['btrim', 'nullif', 'coalesce']);
  });
});

describe('parseExpression: refused input, with positions in the user text', () => {
  const cases: Array<[string, SqlProblem['code'], number, number]> = [
    // text, code, line, column
    ['1; DROP TABLE x', 'MULTIPLE_STATEMENTS', 1, 4],
    ['pg_sleep(10)', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['(SELECT password FROM auth.users)', 'SUBQUERY_NOT_ALLOWED', 1, 1],
    ['(SELECT 1 FROM ws_0123456789ab.orders)', 'SUBQUERY_NOT_ALLOWED', 1, 1],
    ["lower(b) -- ' ; DELETE", 'COMMENT', 1, 10],
    ['lower(/* */b)', 'COMMENT', 1, 7],
    ['b/**/;DROP TABLE y', 'COMMENT', 1, 2],
    ['upper(b) || foo(b)', 'FUNCTION_NOT_ALLOWED', 1, 13],
    ["COPY t TO '/tmp/x'", 'SYNTAX', 1, 8],
    ['a'.repeat(64), 'IDENTIFIER_TOO_LONG', 1, 1],
    [`t."${'x'.repeat(64)}"`, 'IDENTIFIER_TOO_LONG', 1, 3],
    ['x'.repeat(10_001), 'TOO_LONG', 1, 10_001],
    ['', 'EMPTY', 0, 0],
    ['   \n ', 'EMPTY', 0, 0],
    ['public.t.a', 'SCHEMA_NOT_ALLOWED', 1, 1],
    ['pg_catalog.lower(b)', 'SCHEMA_NOT_ALLOWED', 1, 1],
    ['t.*', 'NODE_NOT_ALLOWED', 1, 1],
    ['b AS alias', 'NOT_AN_EXPRESSION', 1, 1],
    ['a, b', 'NOT_AN_EXPRESSION', 1, 4],
    ['a FROM t', 'NOT_AN_EXPRESSION', 1, 8],
    ['a WHERE true', 'NOT_AN_EXPRESSION', 1, 9],
    ['a UNION SELECT 1', 'NOT_AN_EXPRESSION', 1, 1],
    ['lower(b) \n  + emial', 'UNKNOWN_COLUMN', 2, 5],
    ['t.nope', 'UNKNOWN_COLUMN', 1, 1],
    ['x.a', 'UNKNOWN_RELATION', 1, 1],
    ['a', 'AMBIGUOUS_COLUMN', 1, 1],
    ['count(*)', 'NODE_NOT_ALLOWED', 1, 1],
    ['sum(a) OVER ()', 'NODE_NOT_ALLOWED', 1, 1],
    ['row_number() OVER ()', 'NODE_NOT_ALLOWED', 1, 1],
    ['now()', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['current_date', 'NODE_NOT_ALLOWED', 1, 1],
    ['random()', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['generate_series(1, 3)', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["regexp_matches(b, 'a')", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['unnest(tags)', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["set_config('a', 'b', false)", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["current_setting('x')", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["nextval('s')", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["pg_read_file('/etc/passwd')", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ["dblink('h', 'q')", 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['lo_import(b)', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['pg_terminate_backend(1)', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['txid_current()', 'FUNCTION_NOT_ALLOWED', 1, 1],
    ['$1', 'NODE_NOT_ALLOWED', 1, 1],
    ['ROW(a, b)', 'NODE_NOT_ALLOWED', 1, 1],
    ['b COLLATE "C"', 'NODE_NOT_ALLOWED', 1, 3],
    ['ARRAY[1, 2]', 'NODE_NOT_ALLOWED', 1, 1],
    ['t.a = ANY(o.tags)', 'NODE_NOT_ALLOWED', 1, 5],
    ["b SIMILAR TO 'a'", 'NODE_NOT_ALLOWED', 1, 3],
    ['EXISTS (SELECT 1)', 'SUBQUERY_NOT_ALLOWED', 1, 1],
    ['t.a IN (SELECT 1)', 'SUBQUERY_NOT_ALLOWED', 1, 5],
    ['b::regclass', 'TYPE_NOT_ALLOWED', 1, 4],
    ["'pg_authid'::regclass::oid", 'TYPE_NOT_ALLOWED', 1, 14],
    ['t.a OPERATOR(pg_catalog.+) 1', 'SCHEMA_NOT_ALLOWED', 1, 5],
    ["b || U&'\\0061'", 'NODE_NOT_ALLOWED', 1, 6],
    ['"{{x}}"', 'NODE_NOT_ALLOWED', 1, 1],
    ['lower(b, b)', 'WRONG_ARGUMENTS', 1, 1],
    ['lower(t.a)', 'TYPE_MISMATCH', 1, 7],
    ['sha256(b)', 'TYPE_MISMATCH', 1, 8],
    ['b + 1', 'TYPE_MISMATCH', 1, 3],
    ['t.a = b', 'TYPE_MISMATCH', 1, 5],
    ['1 +', 'SYNTAX', 1, 4],
    ["'unterminated", 'SYNTAX', 1, 1],
    ['lower(b)\n  +  + )', 'SYNTAX', 2, 8],
  ];
  it.each(cases)('%s → %s at %i:%i', async (text, code, line, column) => {
    const problems = await refused(text);
    const problem = problems.find((p) => p.code === code);
    expect(problem).toBeDefined();
    expect(problem?.message.length).toBeGreaterThan(20);
    if (line === 0) expect(problem?.position).toBeUndefined();
    else expect(problem?.position).toMatchObject({ line, column });
  });

  it('positions are in the user text, counted in UTF-16 units, after non-ASCII text', async () => {
    const [p] = await refused("'é€😀' || emial");
    expect(p).toMatchObject({ code: 'UNKNOWN_COLUMN', position: { offset: 10, line: 1, column: 11 } });
    const [s] = await refused("'é€😀' ||\n ) ");
    expect(s).toMatchObject({ code: 'SYNTAX', position: { line: 2, column: 2 } });
  });

  it('says what to do: suggestions for near misses, qualifiers for ambiguity, the hashing recipe', async () => {
    expect((await refused('lowr(b)'))[0].message).toContain('lower()');
    expect((await refused('emial'))[0].message).toContain('email');
    expect((await refused('a'))[0].message).toMatch(/"t" and "o".*qualify/);
    expect((await refused('sha256(b)'))[0].message).toContain("encode(sha256(convert_to(x, 'UTF8')), 'hex')");
    expect((await refused('now()'))[0].message).toContain('changes from run to run');
    expect((await refused('generate_series(1, 2)'))[0].message).toContain('set of rows');
  });

  it('SQL nested too deeply for the parser is refused as TOO_LONG, and the parser keeps working', async () => {
    const [p] = await refused('lower('.repeat(1400) + 'b' + ')'.repeat(1400));
    expect(p.code).toBe('TOO_LONG');
    expect((await ok('lower(b)')).sql).toBe('lower("t"."b")');
  });

  it('an identifier of 63 bytes is fine, 64 is not (PostgreSQL would truncate it)', async () => {
    const long = { columns: [{ relation: 't', name: 'x'.repeat(63), type: 'text' }] };
    expect((await parseExpression('x'.repeat(63), long)).ok).toBe(true);
    const r = await parseExpression('x'.repeat(64), long);
    expect(r.ok).toBe(false);
  });
});

describe('checkAssignable', () => {
  it('a text expression into an integer column is a TYPE_MISMATCH naming both types', async () => {
    const problem = checkAssignable(await ok('lower(b)'), 'integer');
    expect(problem?.code).toBe('TYPE_MISMATCH');
    expect(problem?.message).toContain('text');
    expect(problem?.message).toContain('integer');
    expect(checkAssignable(await ok('t.a'), 'bigint')).toBeUndefined();
    expect(checkAssignable(await ok('t.a'), 'text')).toBeUndefined();
  });
});

describe('emitted SQL on PostgreSQL', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
  });

  const one = {
    columns: [
      { relation: 't', name: 'a', type: 'integer' },
      { relation: 't', name: 'b', type: 'text' },
      { relation: 't', name: 'at', type: 'timestamptz' },
      { relation: 't', name: 'doc', type: 'jsonb' },
    ],
  };

  /** Evaluates the emitted SQL over two rows and returns the values and PostgreSQL's type name. */
  async function evaluate(text: string) {
    const r = await parseExpression(text, one);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const { rows } = await client.query(
      `SELECT (${r.sql})::text AS v, pg_typeof(${r.sql})::text AS pgtype FROM (VALUES (1, 'Ab ', '2024-03-05 10:00:00+00'::timestamptz, '{"k":"v"}'::jsonb), (-2, NULL, NULL, NULL)) AS "t"("a","b","at","doc")`,
    );
    return { values: rows.map((row: { v: string | null }) => row.v), pgtype: rows[0].pgtype as string, type: r.type };
  }

  it.each([
    ['lower(b)', ['ab ', null], 'text'],
    ["upper(trim(both ' ' from b)) || '!'", ['AB!', null], 'text'],
    ['a * 2 + 1', ['3', '-3'], 'integer'],
    ['abs(a)::numeric(5,2)', ['1.00', '2.00'], 'numeric'],
    ["coalesce(b, 'none')", ['Ab ', 'none'], 'text'],
    ["CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END", ['pos', 'neg'], 'text'],
    ['extract(year from at)', ['2024', null], 'numeric'],
    ["date_trunc('month', at AT TIME ZONE 'UTC')", ['2024-03-01 00:00:00', null], 'timestamp'],
    ["doc->>'k'", ['v', null], 'text'],
    ["encode(sha256(convert_to(b, 'UTF8')), 'hex')", ['(a sha-256 in hex)', null], 'text'],
    ["'{{ x }}' || b", ['{{ x }}Ab ', null], 'text'],
    ["E'a\\\\b' || 'c''d'", ["a\\bc'd", "a\\bc'd"], 'text'],
    ["position('b' in b)", ['2', null], 'integer'],
    ['substring(b from 1 for 1)', ['A', null], 'text'],
    ['greatest(a, 0)', ['1', '0'], 'integer'],
    ['nullif(a, 1)', [null, '-2'], 'integer'],
    ['a BETWEEN 0 AND 5', ['true', 'false'], 'boolean'],
    ['-a', ['-1', '2'], 'integer'],
  ])('%s', async (text, values, type) => {
    const r = await evaluate(text);
    if (text.startsWith('encode')) {
      expect(r.values[0]).toMatch(/^[0-9a-f]{64}$/);
    } else {
      expect(r.values).toEqual(values);
    }
    expect(r.type).toBe(type);
    expect(r.pgtype).toBe({ text: 'text', integer: 'integer', numeric: 'numeric', timestamp: 'timestamp without time zone', boolean: 'boolean' }[type]);
  });
});
