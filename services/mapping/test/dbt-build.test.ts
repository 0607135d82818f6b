/**
 * The generated dbt project run by the real dbt (the venv at DLX_VENV_DIR, default `<repo>/.venv`,
 * which `npm test` prepares) against the test PostgreSQL: raw tables in a throwaway warehouse
 * schema, three target tables mapped by hand-written SELECTs (as the mapping compiler emits them),
 * then `dbt parse`, `dbt compile` and `dbt build`. The tables are built with the expected rows,
 * the not_null / unique / relationships tests (single and composite) pass, and the canonical
 * format test fails on exactly the one bad email.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { stagingModelName, type TargetTable } from '@datalinx/contracts';
import { dbtProjectDir, generateDbtProject, jinjaLiteral, martModelName, writeDbtProject, type DbtProjectInput } from '../src/dbt';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const venvDir = path.resolve(process.env.DLX_VENV_DIR || path.join(repoRoot, '.venv'));
const dbtBin = path.join(venvDir, process.platform === 'win32' ? 'Scripts' : 'bin', 'dbt');
const SLOW_MS = 240_000;

interface RunResult {
  code: number | null;
  output: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: repoRoot, env, timeout: 180_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (err && typeof err.code === 'string') return reject(new Error(`${file} could not start (${err.code}): ${err.message}`));
      resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, output: String(stdout) + String(stderr) });
    });
  });
}

const CONNECTION = '3f0c2a9e-5b1d-4c6e-9a7f-0123456789ab';
const SCHEMA = `ws_${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`;
const customersSrc = { connectionId: CONNECTION, connectionName: 'Shop "prod" DB', schema: 'public', name: 'customers' };
const ordersSrc = { connectionId: CONNECTION, connectionName: 'Shop "prod" DB', schema: 'public', name: 'Order Lines' };
/** Odd names: quotes, spaces, unicode, Jinja delimiters, a keyword, 63 bytes. */
const weirdSrc = { connectionId: CONNECTION, connectionName: 'Shop "prod" DB', schema: 'Sales "EU"', name: 'Wéird {{ src }} {% x %}' };
const LONG = `${'ü'.repeat(31)}x`;
const WEIRD_TABLE = `${'ü'.repeat(20)} {{ t }} 'q' \\ {#`;
const stgWeird = stagingModelName(weirdSrc);
const stgCustomers = stagingModelName(customersSrc);
const stgOrders = stagingModelName(ordersSrc);

const col = (name: string, dataType: string, extra: Partial<TargetTable['columns'][number]> = {}) => ({
  name,
  dataType,
  nullable: true,
  description: '',
  canonicalType: null,
  primaryKey: false,
  ...extra,
});

const customers: TargetTable = {
  name: 'customers',
  description: 'One row per customer.',
  columns: [
    col('customer_id', 'integer', { nullable: false, primaryKey: true }),
    col('email', 'text', { canonicalType: 'email', description: "The customer's email, {{ lower-cased }}." }),
    col('Full Name', 'text'),
  ],
};
const orders: TargetTable = {
  name: 'orders',
  description: '',
  columns: [
    col('order_id', 'integer', { nullable: false, primaryKey: true }),
    col('customer_id', 'integer', { nullable: false }),
    col('total', 'numeric(12,2)', { nullable: false }),
  ],
};
const lines: TargetTable = {
  name: 'Order Lines',
  description: 'Lines of orders, "quoted" and ünïcode.',
  columns: [
    col('order_id', 'integer', { nullable: false, primaryKey: true }),
    col('line no', 'integer', { nullable: false, primaryKey: true }),
    col('customer_id', 'integer', { nullable: false }),
    col('amount', 'numeric(12,2)', { nullable: false }),
  ],
};

const input: DbtProjectInput = {
  workspaceId: '7d9e2c1a-0b3f-4e5d-8c6b-a1b2c3d4e5f6',
  projectName: 'dlx_7d9e2c1a0b3f',
  version: 3,
  targetSchema: SCHEMA,
  sources: [
    {
      ...customersSrc,
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'Email', type: 'text' },
        { name: 'Full Name', type: 'text' },
      ],
    },
    {
      ...ordersSrc,
      columns: [
        { name: 'order id', type: 'bigint' },
        { name: 'line', type: 'integer' },
        { name: 'customer', type: 'bigint' },
        { name: 'amount "EUR"', type: 'text' },
      ],
    },
    {
      ...weirdSrc,
      columns: [
        { name: 'user', type: 'text' },
        { name: '{{ col }}', type: 'text' },
        { name: LONG, type: 'text' },
        { name: 'a "quoted" col', type: 'integer' },
      ],
    },
  ],
  models: [
    {
      table: {
        name: WEIRD_TABLE,
        description: 'Odd {% names %} {{ everywhere }}',
        columns: [
          col('user', 'text', { nullable: false, primaryKey: true, description: '{#' }),
          col('{{ col }}', 'text', { canonicalType: 'email' }),
          col(LONG, 'text', { nullable: false }),
          col('a "quoted" col', 'integer', { nullable: false }),
        ],
      },
      mappingId: '44444444-4444-4444-8444-444444444444',
      mappingVersion: 1,
      sql: [
        'select',
        `    w."user" as "user",`,
        `    w."${jinjaLiteral('{{ col }}')}" as "${jinjaLiteral('{{ col }}')}",`,
        `    w."${LONG}" as "${LONG}",`,
        `    w."a ""quoted"" col" as "a ""quoted"" col"`,
        `from {{ ref('${stgWeird}') }} as w`,
      ].join('\n'),
    },
    {
      table: customers,
      mappingId: '11111111-1111-4111-8111-111111111111',
      mappingVersion: 2,
      sql: [
        'select',
        '    cast(c."id" as integer) as "customer_id",',
        '    cast(lower(btrim(c."Email")) as text) as "email",',
        '    cast(c."Full Name" as text) as "Full Name"',
        `from {{ ref('${stgCustomers}') }} as c`,
      ].join('\n'),
    },
    {
      table: orders,
      mappingId: '22222222-2222-4222-8222-222222222222',
      mappingVersion: 1,
      sql: [
        'select',
        '    cast(l."order id" as integer) as "order_id",',
        '    cast(min(l."customer") as integer) as "customer_id",',
        '    cast(sum(cast(l."amount ""EUR""" as numeric)) as numeric(12,2)) as "total"',
        `from {{ ref('${stgOrders}') }} as l`,
        'group by l."order id"',
      ].join('\n'),
    },
    {
      table: lines,
      mappingId: '33333333-3333-4333-8333-333333333333',
      mappingVersion: 5,
      sql: [
        'select',
        '    cast(l."order id" as integer) as "order_id",',
        '    cast(l."line" as integer) as "line no",',
        '    cast(l."customer" as integer) as "customer_id",',
        '    cast(l."amount ""EUR""" as numeric(12,2)) as "amount"',
        `from {{ ref('${stgOrders}') }} as l`,
      ].join('\n'),
    },
  ],
  relationships: [
    { name: 'orders_customer', fromTable: 'orders', fromColumns: ['customer_id'], toTable: 'customers', toColumns: ['customer_id'] },
    { name: 'lines_order', fromTable: 'Order Lines', fromColumns: ['order_id', 'customer_id'], toTable: 'orders', toColumns: ['order_id', 'customer_id'] },
  ],
};

let db: TestDatabase;
let tmp: string;
let warehouse: Client;

beforeAll(async () => {
  if (!existsSync(dbtBin)) {
    throw new Error(
      `no dbt in the Python venv at ${venvDir}: create it with ` +
        `node -e "import('./scripts/lib/python.mjs').then(m => m.ensurePythonVenv({ repoRoot: '.', venvDir: '${venvDir}' }))"`,
    );
  }
  db = await createTestDatabase();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dlx-dbt-build-'));
  warehouse = new Client({ connectionString: db.url });
  await warehouse.connect();
  await warehouse.query(`CREATE SCHEMA ${SCHEMA}`);
  const system = `"_dlx_run_id" uuid NOT NULL DEFAULT '00000000-0000-4000-8000-000000000001', "_dlx_synced_at" timestamptz NOT NULL DEFAULT now()`;
  await warehouse.query(`CREATE TABLE ${SCHEMA}.raw_public__customers ("id" bigint, "Email" text, "Full Name" text, ${system})`);
  await warehouse.query(
    `INSERT INTO ${SCHEMA}.raw_public__customers ("id", "Email", "Full Name") VALUES (1, ' Ada@Example.com ', 'Ada Lovelace'), (2, 'grace@example.org', 'Grace Hopper'), (3, 'not an email', NULL), (4, NULL, 'No Mail')`,
  );
  await warehouse.query(
    `CREATE TABLE ${SCHEMA}."raw_public__Order Lines" ("order id" bigint, "line" integer, "customer" bigint, "amount ""EUR""" text, ${system})`,
  );
  await warehouse.query(
    `CREATE TABLE ${SCHEMA}."raw_Sales ""EU""__Wéird {{ src }} {% x %}" ("user" text, "{{ col }}" text, "${LONG}" text, "a ""quoted"" col" integer, ${system})`,
  );
  await warehouse.query(`INSERT INTO ${SCHEMA}."raw_Sales ""EU""__Wéird {{ src }} {% x %}" VALUES ('ada', 'ada@example.com', 'a', 1), ('bob', 'BOB@', 'b', 2)`);
  await warehouse.query(
    `INSERT INTO ${SCHEMA}."raw_public__Order Lines" VALUES (100, 1, 1, '10.50'), (100, 2, 1, '4.50'), (101, 1, 2, '7.00'), (102, 1, 4, '1.25')`,
  );
}, SLOW_MS);

afterAll(async () => {
  await warehouse?.end();
  await db?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The venv's environment plus the warehouse connection as DBT_PG_* (TLS settings of DATABASE_URL kept). */
function dbtEnv(): NodeJS.ProcessEnv {
  const url = new URL(db.url);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const tls: Record<string, string> = {};
  for (const [param, name] of [
    ['sslmode', 'DBT_PG_SSLMODE'],
    ['sslrootcert', 'DBT_PG_SSLROOTCERT'],
    ['sslcert', 'DBT_PG_SSLCERT'],
    ['sslkey', 'DBT_PG_SSLKEY'],
  ] as const) {
    const v = url.searchParams.get(param);
    if (v) tls[name] = v;
  }
  return {
    ...env,
    PATH: [path.dirname(dbtBin), env.PATH ?? ''].join(path.delimiter),
    VIRTUAL_ENV: venvDir,
    NO_COLOR: '1',
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    PYTHONUNBUFFERED: '1',
    DBT_PG_HOST: url.hostname,
    DBT_PG_PORT: url.port || '5432',
    DBT_PG_USER: decodeURIComponent(url.username),
    DBT_PG_PASSWORD: decodeURIComponent(url.password),
    DBT_PG_DATABASE: url.pathname.slice(1),
    DBT_PG_SCHEMA: SCHEMA,
    DBT_THREADS: '2',
    ...tls,
  };
}

interface RunResults {
  results: Array<{ unique_id: string; status: string; failures: number | null; message: string | null; compiled_code?: string }>;
}

describe('generated dbt project, run by dbt', () => {
  it(
    'parses, compiles and builds: tables with the expected rows (odd names too), key tests pass, the format tests fail on the bad emails only',
    async () => {
      const project = generateDbtProject(input);
      const dir = dbtProjectDir(path.join(tmp, 'data'), input.workspaceId, input.version);
      expect(dir).toBe(path.join(tmp, 'data', 'dbt', input.workspaceId, 'v3'));
      await writeDbtProject(dir, project.files);
      const env = dbtEnv();
      const common = (kind: string) => [
        '--project-dir',
        dir,
        '--profiles-dir',
        dir,
        '--target-path',
        path.join(tmp, kind, 'target'),
        '--log-path',
        path.join(tmp, kind, 'logs'),
      ];

      const parse = await run(dbtBin, ['parse', ...common('parse')], env);
      expect({ code: parse.code, output: parse.code === 0 ? '' : parse.output }).toEqual({ code: 0, output: '' });
      // No warnings: no deprecated properties, no unused configuration (the version notice of dbt itself aside).
      expect(parse.output).not.toMatch(/WARNING|Deprecated functionality|encountered deprecations/i);
      const manifest = JSON.parse(await readFile(path.join(tmp, 'parse', 'target', 'manifest.json'), 'utf8')) as {
        nodes: Record<string, { resource_type: string; name: string; alias: string; schema: string }>;
      };
      const models = Object.values(manifest.nodes).filter((n) => n.resource_type === 'model');
      expect(models.map((m) => [m.name, m.alias, m.schema]).sort()).toEqual(
        [
          [martModelName('Order Lines'), 'Order Lines', SCHEMA],
          [martModelName(WEIRD_TABLE), WEIRD_TABLE, SCHEMA],
          [stgWeird, stgWeird, SCHEMA],
          ['customers', 'customers', SCHEMA],
          ['orders', 'orders', SCHEMA],
          [stgCustomers, stgCustomers, SCHEMA],
          [stgOrders, stgOrders, SCHEMA],
        ].sort(),
      );

      const compile = await run(dbtBin, ['compile', ...common('compile')], env);
      expect({ code: compile.code, output: compile.code === 0 ? '' : compile.output }).toEqual({ code: 0, output: '' });

      const build = await run(dbtBin, ['build', ...common('build')], env);
      const results = (JSON.parse(await readFile(path.join(tmp, 'build', 'target', 'run_results.json'), 'utf8')) as RunResults).results;
      const status = Object.fromEntries(results.map((r) => [r.unique_id.replace(/\.[0-9a-f]{10}$/, ''), [r.status, r.failures]]));
      const p = `${input.projectName}`;
      const fmt = results.filter((r) => r.unique_id.startsWith(`test.${p}.dlx_canonical_format_`));
      expect(fmt).toHaveLength(2);
      const failed = results.filter((r) => r.status !== 'success' && r.status !== 'pass');
      // The only failures are the two canonical format tests, with one failing row each; everything else passes.
      expect({ code: build.code, failed: failed.map((r) => [r.unique_id, r.status, r.failures]).sort() }).toEqual({
        code: 1,
        failed: fmt.map((r) => [r.unique_id, 'fail', 1]).sort(),
      });
      expect(status).toMatchObject({
        [`model.${p}.customers`]: ['success', null],
        [`model.${p}.orders`]: ['success', null],
        [`model.${p}.${martModelName('Order Lines')}`]: ['success', null],
        [`model.${p}.${martModelName(WEIRD_TABLE)}`]: ['success', null],
      });
      const tests = (prefix: string) => results.filter((r) => r.unique_id.startsWith(`test.${p}.${prefix}`)).map((r) => [r.status, r.failures]);
      expect(tests('not_null_')).toHaveLength(11);
      expect(tests('not_null_').every(([s, f]) => s === 'pass' && f === 0)).toBe(true);
      expect(tests('unique_')).toEqual([
        ['pass', 0],
        ['pass', 0],
        ['pass', 0],
      ]);
      expect(tests('dlx_unique_combination_')).toEqual([['pass', 0]]);
      expect(tests('dlx_rel_')).toEqual([
        ['pass', 0],
        ['pass', 0],
      ]);

      // The failing rows are the bad emails, and only they.
      const invalid = await Promise.all(fmt.map(async (r) => (await warehouse.query(r.compiled_code!)).rows));
      expect(invalid.sort((a, b) => (a[0].invalid_value < b[0].invalid_value ? -1 : 1))).toEqual([
        [{ invalid_value: 'BOB@' }],
        [{ invalid_value: 'not an email' }],
      ]);

      const rows = async (table: string, order: string) => (await warehouse.query(`SELECT * FROM ${SCHEMA}.${table} ORDER BY ${order}`)).rows;
      expect(await rows('customers', 'customer_id')).toEqual([
        { customer_id: 1, email: 'ada@example.com', 'Full Name': 'Ada Lovelace' },
        { customer_id: 2, email: 'grace@example.org', 'Full Name': 'Grace Hopper' },
        { customer_id: 3, email: 'not an email', 'Full Name': null },
        { customer_id: 4, email: null, 'Full Name': 'No Mail' },
      ]);
      expect(await rows('orders', 'order_id')).toEqual([
        { order_id: 100, customer_id: 1, total: '15.00' },
        { order_id: 101, customer_id: 2, total: '7.00' },
        { order_id: 102, customer_id: 4, total: '1.25' },
      ]);
      expect(await rows('"Order Lines"', 'order_id, "line no"')).toEqual([
        { order_id: 100, 'line no': 1, customer_id: 1, amount: '10.50' },
        { order_id: 100, 'line no': 2, customer_id: 1, amount: '4.50' },
        { order_id: 101, 'line no': 1, customer_id: 2, amount: '7.00' },
        { order_id: 102, 'line no': 1, customer_id: 4, amount: '1.25' },
      ]);
      expect(await rows(`"${WEIRD_TABLE}"`, '"user"')).toEqual([
        { user: 'ada', '{{ col }}': 'ada@example.com', [LONG]: 'a', 'a "quoted" col': 1 },
        { user: 'bob', '{{ col }}': 'BOB@', [LONG]: 'b', 'a "quoted" col': 2 },
      ]);
      const kindsNow = () =>
        warehouse.query(
          `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname NOT LIKE 'raw\\_%' ORDER BY c.relname::text COLLATE "C"`,
          [SCHEMA],
        );
      const kinds = await kindsNow();
      // Only the marts are relations: the staging models are inlined into them (ephemeral).
      expect(kinds.rows).toEqual(
        [
          { relname: 'Order Lines', relkind: 'r' },
          { relname: 'customers', relkind: 'r' },
          { relname: 'orders', relkind: 'r' },
          { relname: WEIRD_TABLE, relkind: 'r' },
        ].sort((a, b) => (a.relname < b.relname ? -1 : 1)),
      );

      // The next run replaces existing tables: dbt's temporary and backup names beside a long
      // multi-byte name stay distinct within PostgreSQL's 63 bytes.
      const rerun = await run(dbtBin, ['run', '--select', `${martModelName(WEIRD_TABLE)} customers`, ...common('rerun')], env);
      expect({ code: rerun.code, output: rerun.code === 0 ? '' : rerun.output }).toEqual({ code: 0, output: '' });
      expect((await rows(`"${WEIRD_TABLE}"`, '"user"')).map((r) => r.user)).toEqual(['ada', 'bob']);
      expect((await kindsNow()).rows).toEqual(kinds.rows);
      // Staging models are ephemeral: no view holds on to a raw table, so a sync's full refresh can replace it.
      await warehouse.query(`DROP TABLE ${SCHEMA}.raw_public__customers`);
    },
    SLOW_MS,
  );
});
