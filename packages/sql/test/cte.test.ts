/**
 * Mapping CTEs: accepted SELECTs (re-emitted with each relation's `emit`, columns qualified,
 * `*` expanded, output types and lineage), refused statements with positions, and the emitted
 * SQL run on the real PostgreSQL (DATABASE_URL) over temporary tables.
 */
import { Client } from 'pg';
import { parseCte, type CteRelation, type SqlProblem } from '@datalinx/sql';
import { parseSync, loadModule } from 'libpg-query';

const relations: CteRelation[] = [
  {
    schema: 'public',
    name: 'customers',
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'email', type: 'character varying' },
      { name: 'Country', type: 'text' },
    ],
    emit: "{{ ref('stg_customers') }}",
  },
  {
    schema: 'public',
    name: 'orders',
    columns: [
      { name: 'id', type: 'bigint' },
      { name: 'customer_id', type: 'integer' },
      { name: 'amount', type: 'numeric(12,2)' },
      { name: 'created_at', type: 'timestamp with time zone' },
    ],
    emit: '"raw"."orders"',
  },
  { schema: 'sales', name: 'orders', columns: [{ name: 'id', type: 'bigint' }], emit: '"raw"."sales_orders"' },
  { name: 'recent', columns: [{ name: 'customer_id', type: 'integer' }], emit: 'recent' },
];

async function ok(text: string, rels = relations) {
  const r = await parseCte('c1', text, rels);
  if (!r.ok) throw new Error(`${text}: ${JSON.stringify(r.problems)}`);
  return r;
}

async function refused(text: string): Promise<SqlProblem[]> {
  const r = await parseCte('c1', text, relations);
  if (r.ok) throw new Error(`${text} was accepted as ${r.sql}`);
  return r.problems;
}

describe('parseCte: accepted SELECTs', () => {
  it('replaces relations with their emit, qualifies every column and expands *', async () => {
    const r = await ok('SELECT * FROM customers');
    expect(r.sql).toBe(
      `SELECT\n  customers.id AS id,\n  customers.email AS email,\n  customers."Country" AS "Country"\nFROM {{ ref('stg_customers') }} AS customers`,
    );
    expect(r.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'email', type: 'text' },
      { name: 'Country', type: 'text' },
    ]);
    expect(r.lineage.Country).toEqual([{ relation: 'public.customers', column: 'Country' }]);
  });

  it('joins, aggregates, HAVING, ORDER BY an output name, LIMIT; lineage per output column', async () => {
    const r = await ok(
      `SELECT c.id, count(o.id) AS orders, sum(o.amount) AS total, max(o.created_at) AS last_order
         FROM public.customers c LEFT JOIN orders o ON o.customer_id = c.id
        WHERE c.email ILIKE '%@example.com'
        GROUP BY c.id HAVING count(*) > 0 ORDER BY total DESC NULLS LAST LIMIT 100`,
      relations.filter((x) => x.schema !== 'sales'),
    );
    expect(r.columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'orders', type: 'bigint' },
      { name: 'total', type: 'numeric' },
      { name: 'last_order', type: 'timestamptz' },
    ]);
    expect(r.lineage).toEqual({
      id: [{ relation: 'public.customers', column: 'id' }],
      orders: [{ relation: 'public.orders', column: 'id' }],
      total: [{ relation: 'public.orders', column: 'amount' }],
      last_order: [{ relation: 'public.orders', column: 'created_at' }],
    });
    expect(r.reads).toEqual(
      expect.arrayContaining([
        { relation: 'public.customers', column: 'email' },
        { relation: 'public.orders', column: 'customer_id' },
      ]),
    );
    expect(r.sql).toContain('LEFT JOIN "raw"."orders" AS o ON o.customer_id = c.id');
    expect(r.sql).toContain("FROM {{ ref('stg_customers') }} AS c");
  });

  it('window functions, DISTINCT ON, UNION ALL, another CTE of the mapping, USING', async () => {
    const w = await ok('SELECT id, row_number() OVER (PARTITION BY "Country" ORDER BY id DESC) AS rn FROM customers');
    expect(w.columns[1]).toEqual({ name: 'rn', type: 'bigint' });
    const d = await ok('SELECT DISTINCT ON (email) email, id FROM customers ORDER BY email, id DESC');
    expect(d.columns.map((c) => c.name)).toEqual(['email', 'id']);
    const u = await ok('SELECT customer_id FROM recent UNION ALL SELECT id FROM customers');
    expect(u.lineage.customer_id).toEqual([
      { relation: 'recent', column: 'customer_id' },
      { relation: 'public.customers', column: 'id' },
    ]);
    expect(u.sql).toContain('FROM recent AS recent');
    const j = await ok('SELECT customer_id, c.email FROM recent JOIN public.customers c ON c.id = recent.customer_id');
    expect(j.columns).toEqual([
      { name: 'customer_id', type: 'integer' },
      { name: 'email', type: 'text' },
    ]);
    const s = await ok('SELECT id FROM sales.orders');
    expect(s.sql).toContain('FROM "raw"."sales_orders" AS orders');
  });

  it('string literals holding {{ }} are emitted without raw braces', async () => {
    const r = await ok('SELECT id, \'x {{ var("y") }}\' AS tag FROM customers');
    expect(r.sql).toContain('E\'x \\173\\173 var("y") \\175\\175\' AS tag');
    expect(r.sql.replace("{{ ref('stg_customers') }}", '')).not.toMatch(/[{}]/);
  });
});

describe('parseCte: refused statements, with positions', () => {
  const cases: Array<[string, SqlProblem['code'], number, number]> = [
    ['SELECT * FROM ws_0123456789ab.orders', 'SCHEMA_NOT_ALLOWED', 1, 15],
    ['SELECT * FROM pg_catalog.pg_authid', 'SCHEMA_NOT_ALLOWED', 1, 15],
    ['SELECT * FROM information_schema.tables', 'SCHEMA_NOT_ALLOWED', 1, 15],
    ['SELECT password FROM auth.users', 'SCHEMA_NOT_ALLOWED', 1, 22],
    ['SELECT * FROM pg_class', 'UNKNOWN_RELATION', 1, 15],
    ['SELECT * FROM public.secrets', 'UNKNOWN_RELATION', 1, 15],
    ['SELECT * FROM orders', 'AMBIGUOUS_RELATION', 1, 15],
    ['SELECT * FROM c1', 'UNKNOWN_RELATION', 1, 15],
    ['SELECT * FROM db.public.customers', 'SCHEMA_NOT_ALLOWED', 1, 15],
    ['INSERT INTO t VALUES (1) RETURNING *', 'NOT_A_SELECT', 1, 1],
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', 'NOT_A_SELECT', 1, 6],
    ['WITH x AS (SELECT id FROM customers) SELECT * FROM x', 'NODE_NOT_ALLOWED', 1, 1],
    ["COPY t TO '/tmp/x'", 'NOT_A_SELECT', 1, 1],
    ['UPDATE customers SET email = NULL', 'NOT_A_SELECT', 1, 1],
    ['DROP TABLE customers', 'NOT_A_SELECT', 1, 1],
    ['SELECT id FROM customers; DROP TABLE x', 'MULTIPLE_STATEMENTS', 1, 27],
    ['SELECT id INTO t2 FROM customers', 'NOT_A_SELECT', 1, 16],
    ['SELECT id FROM customers FOR UPDATE', 'NODE_NOT_ALLOWED', 1, 26],
    ['SELECT id FROM customers/**/;DROP TABLE y', 'COMMENT', 1, 25],
    ['SELECT lower(/* */email) AS e FROM customers', 'COMMENT', 1, 14],
    ["SELECT lower(email) AS e FROM customers -- ' ; DELETE", 'COMMENT', 1, 41],
    ['SELECT upper(email) AS e, foo(id) AS f FROM customers', 'FUNCTION_NOT_ALLOWED', 1, 27],
    ['SELECT id FROM customers WINDOW w AS (ORDER BY id)', 'NODE_NOT_ALLOWED', 1, 26],
    ['SELECT id FROM customers -- trailing', 'COMMENT', 1, 26],
    ['SELECT id FROM /* x */ customers', 'COMMENT', 1, 16],
    ['SELECT * FROM (SELECT id FROM customers) s', 'SUBQUERY_NOT_ALLOWED', 1, 23],
    ['SELECT id FROM customers WHERE id IN (SELECT customer_id FROM orders)', 'SUBQUERY_NOT_ALLOWED', 1, 35],
    ['SELECT * FROM generate_series(1, 3)', 'FUNCTION_NOT_ALLOWED', 1, 15],
    ['SELECT pg_sleep(10) AS s FROM customers', 'FUNCTION_NOT_ALLOWED', 1, 8],
    ['SELECT lower(email) FROM customers', 'MISSING_ALIAS', 1, 8],
    ['SELECT id, id FROM customers', 'DUPLICATE_COLUMN', 1, 12],
    ['SELECT emial FROM customers', 'UNKNOWN_COLUMN', 1, 8],
    ['SELECT id FROM customers c JOIN public.orders o ON o.customer_id = c.id', 'AMBIGUOUS_COLUMN', 1, 8],
    ['SELECT id FROM customers WHERE count(*) > 1', 'NODE_NOT_ALLOWED', 1, 32],
    ['SELECT id FROM customers NATURAL JOIN recent', 'NODE_NOT_ALLOWED', 1, 16],
    ['SELECT id FROM customers GROUP BY ROLLUP (id)', 'NODE_NOT_ALLOWED', 1, 35],
    ['VALUES (1)', 'NODE_NOT_ALLOWED', 1, 1],
    [`SELECT id AS ${'x'.repeat(64)} FROM customers`, 'IDENTIFIER_TOO_LONG', 1, 14],
    ['SELECT id AS "{{ x }}" FROM customers', 'NODE_NOT_ALLOWED', 1, 14],
    ['SELECT id FROM', 'SYNTAX', 1, 15],
    ['', 'EMPTY', 0, 0],
  ];
  it.each(cases)('%s → %s at %i:%i', async (text, code, line, column) => {
    const problems = await refused(text);
    const problem = problems.find((p) => p.code === code);
    expect(problem).toBeDefined();
    expect(problem?.message.length).toBeGreaterThan(20);
    if (line !== 0) expect(problem?.position).toMatchObject({ line, column });
  });

  it('reports an unreadable relation once, not each of its columns', async () => {
    const problems = await refused('SELECT u.password, u.email FROM auth.users u WHERE u.id = 1');
    expect(problems.map((p) => p.code)).toEqual(['SCHEMA_NOT_ALLOWED']);
  });
});

describe('emitted CTE SQL on PostgreSQL', () => {
  let client: Client;
  beforeAll(async () => {
    await loadModule();
    client = new Client({ connectionString: process.env.DATABASE_URL });
    await client.connect();
    await client.query(`CREATE TEMP TABLE customers (id integer, email varchar, "Country" text, extra text)`);
    await client.query(`CREATE TEMP TABLE orders (id bigint, customer_id integer, amount numeric(12,2), created_at timestamptz, id2 int)`);
    await client.query(`INSERT INTO customers VALUES (1, 'a@x.com', 'DE', 'x'), (2, 'b@y.com', 'FR', 'y')`);
    await client.query(`INSERT INTO orders VALUES (10, 1, 5.50, '2024-01-01', 1), (11, 1, 4.50, '2024-02-01', 1), (12, 2, 1.00, '2024-03-01', 1)`);
  });
  afterAll(async () => {
    await client.end();
  });

  const temp: CteRelation[] = [
    {
      name: 'customers',
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'email', type: 'text' },
        { name: 'Country', type: 'text' },
      ],
      emit: 'pg_temp.customers',
    },
    {
      name: 'orders',
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'customer_id', type: 'integer' },
        { name: 'amount', type: 'numeric' },
        { name: 'created_at', type: 'timestamptz' },
      ],
      emit: 'pg_temp.orders',
    },
  ];

  it.each([
    [
      'SELECT * FROM customers ORDER BY id',
      [
        { id: 1, email: 'a@x.com', Country: 'DE' },
        { id: 2, email: 'b@y.com', Country: 'FR' },
      ],
    ],
    [
      'SELECT c.id, count(*) AS n, sum(amount) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id ORDER BY total DESC',
      [
        { id: 1, n: '2', total: '10.00' },
        { id: 2, n: '1', total: '1.00' },
      ],
    ],
    ['SELECT id FROM orders WHERE amount > 2 UNION ALL SELECT id FROM customers ORDER BY id', [{ id: '1' }, { id: '2' }, { id: '10' }, { id: '11' }]],
    [
      'SELECT customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY created_at DESC) AS rn FROM orders ORDER BY customer_id, rn',
      [
        { customer_id: 1, rn: '1' },
        { customer_id: 1, rn: '2' },
        { customer_id: 2, rn: '1' },
      ],
    ],
    ["SELECT id, '{{ x }}' AS tag FROM customers WHERE id = 1", [{ id: 1, tag: '{{ x }}' }]],
    ["SELECT id, E'back\\\\slash' || 'it''s' AS tag FROM customers WHERE id = 1", [{ id: 1, tag: "back\\slashit's" }]],
    ['SELECT id FROM customers JOIN orders USING (id)', []],
    ['SELECT 0x7FFFFFFFFFFFFFFF AS big, 1_000 AS thousand FROM customers WHERE id = 1', [{ big: '9223372036854775807', thousand: 1000 }]],
  ])('%s', async (text, rows) => {
    const r = await ok(text, temp);
    // Extra columns of the real tables (customers.extra, orders.id2) never leak in or make names ambiguous.
    const result = await client.query(r.sql);
    expect(result.rows).toEqual(rows);
    expect(result.fields.map((f) => f.name)).toEqual(r.columns.map((c) => c.name));
    expect(parseSync(r.sql).stmts).toHaveLength(1);
  });

  it('backslashes in literals read the same with standard_conforming_strings off', async () => {
    const r = await ok("SELECT E'a\\\\b' AS v FROM customers WHERE id = 1", temp);
    await client.query('SET standard_conforming_strings = off');
    try {
      expect((await client.query(r.sql)).rows).toEqual([{ v: 'a\\b' }]);
    } finally {
      await client.query('RESET standard_conforming_strings');
    }
  });
});
