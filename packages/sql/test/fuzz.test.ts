/**
 * Property-based tests (fast-check): whatever the text, parseExpression and parseCte answer with a
 * result and never throw; every accepted expression's `sql` re-parses as exactly one expression
 * and is accepted again with the same SQL (the printer's output is inside the allow-lists).
 */
import fc from 'fast-check';
import { parseSync, loadModule } from 'libpg-query';
import { parseCte, parseExpression, type ExpressionScope } from '@datalinx/sql';

const scope: ExpressionScope = {
  columns: [
    { relation: 't', name: 'a', type: 'integer' },
    { relation: 't', name: 'b', type: 'text' },
    { relation: 't', name: 'n', type: 'numeric' },
    { relation: 't', name: 'ts', type: 'timestamptz' },
    { relation: 't', name: 'j', type: 'jsonb' },
    { relation: 'u', name: 'x', type: 'text' },
  ],
};

beforeAll(async () => {
  await loadModule();
});

/** The emitted SQL is one SELECT with one unnamed target and nothing else. */
function assertSingleExpression(sql: string): void {
  const stmts = parseSync(`SELECT ${sql}`).stmts ?? [];
  expect(stmts).toHaveLength(1);
  const select = (stmts[0].stmt as { SelectStmt: Record<string, unknown> }).SelectStmt;
  expect(Object.keys(select).sort()).toEqual(['limitOption', 'op', 'targetList']);
  const targets = select.targetList as Array<{ ResTarget: { name?: string } }>;
  expect(targets).toHaveLength(1);
  expect(targets[0].ResTarget.name).toBeUndefined();
}

async function checkExpression(text: string): Promise<void> {
  const r = await parseExpression(text, scope);
  expect(typeof r.ok).toBe('boolean');
  if (!r.ok) {
    expect(r.problems.length).toBeGreaterThan(0);
    return;
  }
  assertSingleExpression(r.sql);
  const again = await parseExpression(r.sql, scope);
  expect(again).toMatchObject({ ok: true, sql: r.sql, type: r.type });
}

const TOKENS = [
  'a',
  'b',
  't.a',
  'u.x',
  'n',
  'ts',
  'j',
  'lower(',
  'upper(',
  'coalesce(',
  'pg_sleep(',
  'concat(',
  'substring(',
  'extract(',
  ')',
  '(',
  ',',
  ';',
  '--',
  '/*',
  '*/',
  "'",
  "''",
  '"',
  '$$',
  '$1',
  '||',
  '+',
  '-',
  '*',
  '/',
  '=',
  '<>',
  '->>',
  '::',
  'int',
  'text',
  'regclass',
  'AND',
  'OR',
  'NOT',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'SELECT',
  'FROM',
  'WHERE',
  'DROP',
  'TABLE',
  'IS',
  'NULL',
  'IN',
  'BETWEEN',
  'LIKE',
  '1',
  '2.5',
  "'x'",
  "'{{'",
  "E'\\\\'",
  'FROM',
  'AS',
  'year',
  'for',
  'from',
  '\n',
  'é',
];

describe('fuzzing parseExpression', () => {
  it('random strings always get a result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120, unit: 'grapheme' }), async (text) => {
        await checkExpression(text);
      }),
      { numRuns: 1500 },
    );
  });

  it('token soup (comments, quotes, statements, functions) always gets a result', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...TOKENS), { maxLength: 14 }), fc.constantFrom(' ', ''), async (tokens, sep) => {
        await checkExpression(tokens.join(sep));
      }),
      { numRuns: 3000 },
    );
  });

  it('generated well-formed expressions are accepted and re-emit to themselves', async () => {
    const literal = fc.oneof(
      fc.integer({ min: -1000, max: 1000 }).map(String),
      fc.string({ maxLength: 12 }).map((s) => `'${s.replace(/\0/g, '').replace(/'/g, "''")}'`),
      fc.constantFrom('NULL', 'true', '2.5', "'{{ x }}'", "E'a\\\\b'"),
    );
    const { expr } = fc.letrec<{ expr: string; text: string; num: string }>((tie) => ({
      text: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('b', 'u.x', "'s'", "(j->>'k')"),
        tie('text').map((e) => `lower(${e})`),
        fc.tuple(tie('text'), tie('text')).map(([x, y]) => `(${x} || ${y})`),
        fc.tuple(tie('text'), tie('text')).map(([x, y]) => `coalesce(${x}, ${y})`),
        tie('num').map((e) => `CAST(${e} AS text)`),
        tie('text').map((e) => `trim(both from ${e})`),
        tie('text').map((e) => `substring(${e} from 1 for 2)`),
      ),
      num: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('a', 'n', 't.a', '1', '2.5'),
        fc.tuple(tie('num'), fc.constantFrom('+', '-', '*'), tie('num')).map(([x, op, y]) => `(${x} ${op} ${y})`),
        tie('num').map((e) => `abs(${e})`),
        tie('text').map((e) => `length(${e})`),
        fc.constant('extract(year from ts)'),
        tie('num').map((e) => `(-${e})`),
      ),
      expr: fc.oneof(
        tie('text'),
        tie('num'),
        literal,
        fc.tuple(tie('num'), tie('num')).map(([x, y]) => `CASE WHEN ${x} > ${y} THEN ${x} ELSE ${y} END`),
        fc.tuple(tie('text'), tie('text')).map(([x, y]) => `${x} ILIKE ${y} OR ${x} IS NULL`),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(expr, async (text) => {
        const r = await parseExpression(text, scope);
        if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problems)}`);
        await checkExpression(text);
      }),
      { numRuns: 800 },
    );
  });
});

describe('fuzzing parseCte', () => {
  const relations = [
    {
      name: 't',
      columns: [
        { name: 'a', type: 'integer' },
        { name: 'b', type: 'text' },
      ],
      emit: '"w"."t"',
    },
  ];
  it('random strings and token soup always get a result', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 120 }),
          fc.array(fc.constantFrom(...TOKENS, 'SELECT', 'FROM t', 'JOIN t', 'ON', 'GROUP BY', 'WITH', 'x AS'), { maxLength: 14 }).map((t) => t.join(' ')),
        ),
        async (text) => {
          const r = await parseCte('c', text, relations);
          expect(typeof r.ok).toBe('boolean');
          if (r.ok) {
            const emitted = r.sql.replace(/"w"\."t"/g, 'w_t');
            expect(parseSync(emitted).stmts).toHaveLength(1);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});

describe('fuzzing parseCte with generated SELECTs', () => {
  const relations = [
    {
      schema: 'public',
      name: 'T',
      columns: [
        { name: 'a', type: 'integer' },
        { name: 'B c', type: 'text' },
        { name: 'ts', type: 'timestamptz' },
      ],
      emit: "{{ ref('stg_t') }}",
    },
    {
      name: 'u',
      columns: [
        { name: 'a', type: 'bigint' },
        { name: 'x', type: 'text' },
      ],
      emit: '"w"."u"',
    },
  ];
  it('are accepted and re-emit faithfully (the deparsed tree equals the checked one)', async () => {
    const str = fc.string({ maxLength: 10 }).map((s) => `'${s.replace(/\0/g, '').replace(/'/g, "''")}'`);
    const alias = fc.constantFrom('v', '"Odd ""name"""', '"select"', 'é', 'w');
    const scalar = fc.oneof(
      fc.constantFrom(
        't.a',
        't."B c"',
        'u.x',
        'u.a',
        'lower(t."B c")',
        "date_trunc('day', t.ts)",
        'coalesce(u.x, t."B c")',
        't.a + u.a',
        "'{{ v }}'",
        '0x10',
        '1.5e3',
      ),
      str,
    );
    const select = fc
      .record({
        items: fc.uniqueArray(fc.tuple(scalar, alias), { minLength: 1, maxLength: 4, selector: ([, a]) => a }),
        distinct: fc.boolean(),
        join: fc.constantFrom('JOIN', 'LEFT JOIN', 'FULL JOIN'),
        where: fc.option(
          fc.tuple(fc.constantFrom('u.x', 't."B c"', 'lower(u.x)'), fc.constantFrom('=', '<>', 'IS DISTINCT FROM'), str).map((p) => p.join(' ')),
          { nil: undefined },
        ),
        window: fc.boolean(),
        order: fc.boolean(),
        limit: fc.option(fc.nat(100), { nil: undefined }),
      })
      .map((q) => {
        const items = q.items.map(([e, a]) => `${e} AS ${a}`);
        if (q.window) items.push('row_number() OVER (PARTITION BY u.x ORDER BY t.ts DESC) AS rn');
        return [
          `SELECT ${q.distinct ? 'DISTINCT ' : ''}${items.join(', ')}`,
          `FROM public."T" t ${q.join} u ON u.a = t.a`,
          q.where ? `WHERE (${q.where})::text IS NOT NULL` : '',
          q.order ? 'ORDER BY 1 DESC NULLS LAST' : '',
          q.limit !== undefined ? `LIMIT ${q.limit}` : '',
        ].join('\n');
      });
    const grouped = fc
      .tuple(fc.constantFrom('count(*)', 'sum(t.a)', "string_agg(u.x, ',' ORDER BY u.x)", 'max(t.ts)', 'count(DISTINCT u.x) FILTER (WHERE t.a > 1)'), alias)
      .map(([agg, a]) => `SELECT u.x, ${agg} AS ${a} FROM u JOIN public."T" AS t USING (a) GROUP BY u.x HAVING count(*) > 0 ORDER BY u.x`);
    const union = fc
      .tuple(scalar, alias, fc.constantFrom('UNION', 'UNION ALL', 'EXCEPT', 'INTERSECT'), scalar)
      .map(([e, a, op, r]) => `SELECT (${e})::text AS ${a} FROM u, public."T" t ${op} SELECT (${r})::text FROM u JOIN public."T" t USING (a)`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(select, grouped, union), async (text) => {
        const r = await parseCte('c', text, relations);
        if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problems)}`);
        const emitted = r.sql.split("{{ ref('stg_t') }}").join('stg_t');
        expect(parseSync(emitted).stmts).toHaveLength(1);
        expect(emitted).not.toMatch(/[{}]/);
      }),
      { numRuns: 400 },
    );
  });
});

describe('throughput', () => {
  it('parses 200 × 50 expressions (time reported, not asserted)', async () => {
    const samples = [
      'lower(trim(b))',
      't.a + 1',
      "coalesce(u.x, 'n/a')",
      "CASE WHEN n > 10 THEN 'big' ELSE 'small' END",
      "date_trunc('day', ts)",
      "j->>'name'",
      'round(n * 1.2, 2)',
      'upper(b) || u.x',
    ];
    const start = process.hrtime.bigint();
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = await parseExpression(samples[i % samples.length], scope);
      if (r.ok) accepted++;
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    expect(accepted).toBe(10_000);
    console.log(`parseExpression: 10,000 expressions in ${ms.toFixed(0)} ms`);
  });
});
