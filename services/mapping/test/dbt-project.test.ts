/**
 * The dbt project generator as a pure function: deterministic output (order of the input
 * irrelevant), YAML that reads back (with the `yaml` package) to the intended structure, names
 * from users quoted and Jinja-escaped, and the atomic writer. dbt itself runs the project in
 * dbt-build.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { CANONICAL_TYPES, destinationTableName, stagingModelName, type TargetTable } from '@datalinx/contracts';
import {
  dbtProjectDir,
  dbtSourceName,
  generateDbtProject,
  isPlainIdentifier,
  jinjaLiteral,
  martModelName,
  quoteIdent,
  toYaml,
  writeDbtProject,
  yamlString,
  type DbtProjectInput,
} from '../src/dbt';

const col = (name: string, dataType: string, extra: Partial<TargetTable['columns'][number]> = {}) => ({
  name,
  dataType,
  nullable: true,
  description: '',
  canonicalType: null,
  primaryKey: false,
  ...extra,
});

const C1 = '3f0c2a9e-5b1d-4c6e-9a7f-0123456789ab';
const C2 = 'a0000000-0000-4000-8000-000000000002';

function sampleInput(): DbtProjectInput {
  return {
    workspaceId: '7d9e2c1a-0b3f-4e5d-8c6b-a1b2c3d4e5f6',
    projectName: 'dlx_7d9e2c1a0b3f',
    version: 4,
    targetSchema: 'ws_7d9e2c1a0b3f',
    sources: [
      { connectionId: C1, connectionName: 'Shop', schema: 'public', name: 'customers', columns: [{ name: 'id', type: 'bigint' }] },
      { connectionId: C2, connectionName: 'CRM', schema: 'crm', name: 'Contacts', columns: [{ name: 'E-Mail', type: 'text' }] },
      { connectionId: C1, connectionName: 'Shop', schema: 'public', name: 'orders', columns: [{ name: 'id', type: 'bigint' }] },
    ],
    models: [
      {
        table: {
          name: 'customers',
          description: 'Customers.',
          columns: [col('customer_id', 'integer', { nullable: false, primaryKey: true }), col('email', 'text', { canonicalType: 'email' })],
        },
        sql: "select 1 as customer_id, 'a@b.co' as email from {{ ref('x') }}",
        mappingId: '11111111-1111-4111-8111-111111111111',
        mappingVersion: 2,
      },
      {
        table: {
          name: 'order_lines',
          description: '',
          columns: [
            col('order_id', 'integer', { nullable: false, primaryKey: true }),
            col('line_no', 'integer', { nullable: false, primaryKey: true }),
            col('customer_id', 'integer'),
          ],
        },
        sql: 'select 1',
        mappingId: '22222222-2222-4222-8222-222222222222',
        mappingVersion: 1,
        description: 'Order lines.',
      },
      {
        table: { name: 'orders', description: '', columns: [col('order_id', 'integer', { nullable: false, primaryKey: true }), col('customer_id', 'integer')] },
        sql: 'select 1\n\n',
        mappingId: '33333333-3333-4333-8333-333333333333',
        mappingVersion: 7,
      },
    ],
    relationships: [
      { name: 'orders_customer', fromTable: 'orders', fromColumns: ['customer_id'], toTable: 'customers', toColumns: ['customer_id'] },
      { name: 'lines_order', fromTable: 'order_lines', fromColumns: ['order_id', 'customer_id'], toTable: 'orders', toColumns: ['order_id', 'customer_id'] },
      { name: 'to_unmapped', fromTable: 'orders', fromColumns: ['customer_id'], toTable: 'not_mapped', toColumns: ['id'] },
    ],
  };
}

const fileOf = (p: { files: Array<{ path: string; content: string }> }, name: string) => {
  const f = p.files.find((x) => x.path === name);
  if (!f) throw new Error(`no ${name} in ${p.files.map((x) => x.path).join(', ')}`);
  return f.content;
};

describe('generateDbtProject', () => {
  it('is deterministic: the same input, in any order of sources, models and relationships, gives identical files and digest', () => {
    const a = generateDbtProject(sampleInput());
    const b = generateDbtProject(sampleInput());
    expect(b).toEqual(a);
    const shuffled = sampleInput();
    shuffled.sources.reverse();
    shuffled.models.reverse();
    shuffled.relationships.reverse();
    expect(generateDbtProject(shuffled)).toEqual(a);

    const paths = a.files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    const h = createHash('sha256');
    for (const f of a.files) h.update(f.path).update('\0').update(f.content).update('\0');
    expect(a.digest).toBe(h.digest('hex'));

    const other = sampleInput();
    other.models[0]!.mappingVersion = 3;
    expect(generateDbtProject(other).digest).not.toBe(a.digest);
  });

  it('lays out the project: dbt_project.yml, profiles.yml, sources, staging and mart models, schema.yml, macros', () => {
    const input = sampleInput();
    const p = generateDbtProject(input);
    const stg = input.sources.map((s) => stagingModelName(s)).sort();
    expect(p.files.map((f) => f.path)).toEqual(
      [
        'dbt_project.yml',
        'macros/dlx_canonical_format.sql',
        'macros/dlx_canonical_patterns.sql',
        'macros/dlx_relation_names.sql',
        'macros/dlx_relationships_multi.sql',
        'macros/dlx_unique_combination.sql',
        'models/marts/customers.sql',
        'models/marts/order_lines.sql',
        'models/marts/orders.sql',
        'models/marts/schema.yml',
        'models/staging/sources.yml',
        ...stg.map((s) => `models/staging/${s}.sql`),
        'profiles.yml',
      ].sort(),
    );

    expect(parse(fileOf(p, 'dbt_project.yml'))).toEqual({
      name: 'dlx_7d9e2c1a0b3f',
      version: '4.0.0',
      'config-version': 2,
      'require-dbt-version': ['>=1.10.0', '<1.11.0'],
      profile: 'datalinx',
      'model-paths': ['models'],
      'macro-paths': ['macros'],
      'test-paths': ['tests'],
      'target-path': 'target',
      'clean-targets': ['target', 'logs'],
      flags: { send_anonymous_usage_stats: false, use_colors: false },
      quoting: { database: true, schema: true, identifier: true },
      vars: { dlx_workspace_id: input.workspaceId, dlx_mapping_version: 4 },
      models: { dlx_7d9e2c1a0b3f: { staging: { '+materialized': 'ephemeral' }, marts: { '+materialized': 'table' } } },
    });

    // Everything about the connection comes from the environment; no password in the file.
    const profile = parse(fileOf(p, 'profiles.yml')).datalinx.outputs.dev as Record<string, unknown>;
    expect(profile.type).toBe('postgres');
    for (const k of ['host', 'port', 'user', 'password', 'dbname', 'schema', 'sslmode', 'sslrootcert', 'threads']) {
      expect(profile[k]).toMatch(/^\{\{ env_var\('DBT_[A-Z_]+'/);
    }
    expect(profile.schema).toBe("{{ env_var('DBT_PG_SCHEMA', 'ws_7d9e2c1a0b3f') }}");
  });

  it('declares one dbt source per connection with the raw tables, their columns and the sync columns', () => {
    const input = sampleInput();
    const p = generateDbtProject(input);
    const doc = parse(fileOf(p, 'models/staging/sources.yml'));
    expect(doc.version).toBe(2);
    expect(doc.sources.map((s: { name: string }) => s.name)).toEqual([dbtSourceName(C1), dbtSourceName(C2)].sort());
    const shop = doc.sources.find((s: { name: string }) => s.name === dbtSourceName(C1));
    expect(shop).toMatchObject({ schema: 'ws_7d9e2c1a0b3f', loaded_at_field: '_dlx_synced_at', meta: { dlx_connection_id: C1 } });
    expect(shop.tables.map((t: { identifier: string }) => t.identifier)).toEqual(['raw_public__customers', 'raw_public__orders']);
    expect(shop.tables[0].columns).toEqual([
      { name: 'id', data_type: 'bigint' },
      { name: '_dlx_run_id', data_type: 'uuid', description: 'The Datalinx run that loaded the row.' },
      { name: '_dlx_synced_at', data_type: 'timestamptz', description: 'When Datalinx loaded the row.' },
    ]);
    const crm = doc.sources.find((s: { name: string }) => s.name === dbtSourceName(C2));
    expect(crm.tables[0].identifier).toBe(destinationTableName({ schema: 'crm', name: 'Contacts' }));
    expect(crm.tables[0].columns[0]).toEqual({ name: 'E-Mail', quote: true, data_type: 'text' });

    // The staging model selects every column, quoted, from its source table.
    const contacts = { connectionId: C2, schema: 'crm', name: 'Contacts' };
    const sql = fileOf(p, `models/staging/${stagingModelName(contacts)}.sql`);
    expect(sql).toContain(
      `select\n    "E-Mail",\n    "_dlx_run_id",\n    "_dlx_synced_at"\nfrom {{ source('${dbtSourceName(C2)}', '${crm.tables[0].name}') }}\n`,
    );
  });

  it('wraps each compiled mapping in a table model with a header and derives the tests from the target schema', () => {
    const p = generateDbtProject(sampleInput());
    expect(fileOf(p, 'models/marts/orders.sql')).toBe(
      '-- Generated by Datalinx from mapping 33333333-3333-4333-8333-333333333333 v7 (target table orders). Do not edit.\n' +
        "{{ config(materialized='table', alias='orders') }}\n\nselect 1\n",
    );
    const doc = parse(fileOf(p, 'models/marts/schema.yml'));
    const byName = Object.fromEntries(doc.models.map((m: { name: string }) => [m.name, m]));
    expect(byName.customers).toEqual({
      name: 'customers',
      description: 'Customers.',
      meta: { dlx_target_table: 'customers', dlx_mapping_id: '11111111-1111-4111-8111-111111111111', dlx_mapping_version: 2 },
      columns: [
        { name: 'customer_id', data_type: 'integer', data_tests: ['not_null', 'unique'] },
        {
          name: 'email',
          data_type: 'text',
          meta: { dlx_canonical_type: 'email' },
          data_tests: [{ dlx_canonical_format: { arguments: { canonical_type: 'email' } } }],
        },
      ],
    });
    // Composite primary key and composite relationship: the shipped generic tests.
    expect(byName.order_lines.description).toBe('Order lines.');
    expect(byName.order_lines.data_tests).toEqual([
      { dlx_unique_combination: { arguments: { columns: ['order_id', 'line_no'] } } },
      {
        dlx_relationships_multi: {
          name: expect.stringMatching(/^dlx_rel_order_lines_[0-9a-f]{8}$/),
          arguments: { columns: ['order_id', 'customer_id'], to: "ref('orders')", fields: ['order_id', 'customer_id'] },
        },
      },
    ]);
    expect(byName.order_lines.columns.map((c: { data_tests?: unknown }) => c.data_tests)).toEqual([['not_null'], ['not_null'], undefined]);
    // A single-column relationship is dbt's own test; one to an unmapped table is left out.
    expect(byName.orders.columns[1].data_tests).toEqual([
      { relationships: { name: expect.stringMatching(/^dlx_rel_orders_[0-9a-f]{8}$/), arguments: { to: "ref('customers')", field: 'customer_id' } } },
    ]);

    // The canonical pattern is the contract's, in a Jinja string the macro turns into a SQL literal.
    const patterns = fileOf(p, 'macros/dlx_canonical_patterns.sql');
    const pattern = CANONICAL_TYPES.email!.pattern;
    expect(patterns).toContain(`'email': '${pattern.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}',`);
    expect(fileOf(p, 'macros/dlx_canonical_format.sql')).toContain(`!~ '{{ dlx_canonical_pattern(canonical_type) | replace("'", "''") }}'`);
  });

  it('takes the patterns of organization-defined canonical types from the input and refuses unknown ones', () => {
    const input = sampleInput();
    input.models[0]!.table.columns[1]!.canonicalType = 'acme_email';
    expect(() => generateDbtProject(input)).toThrow(/unknown canonical type "acme_email"/);
    input.canonicalPatterns = { acme_email: '^[a-z]+@acme\\.com$' };
    const p = generateDbtProject(input);
    expect(fileOf(p, 'macros/dlx_canonical_patterns.sql')).toContain("'acme_email': '^[a-z]+@acme\\\\.com$',");
  });

  it('quotes and escapes odd names from users: spaces, quotes, unicode, Jinja delimiters, keywords, 63 bytes', () => {
    const long = `${'ü'.repeat(31)}x`;
    expect(Buffer.byteLength(long)).toBe(63);
    const odd = ['Full Name', 'user', 'order', '{{ x }}', '{% if %}', "it's", 'a "q"', 'back\\slash', long, 'Ünïcode', 'tab\there', 'new\nline'];
    const input = sampleInput();
    input.sources.push({
      connectionId: C1,
      connectionName: 'Shop {{ prod }}\n"x"',
      schema: 'Sales "EU"',
      name: '{{ odd }}',
      columns: odd.map((name) => ({ name, type: 'text' })),
    });
    const table = `{{ t }} ${'é'.repeat(20)} 'x' {#`;
    input.models.push({
      table: { name: table, description: 'a {{ b }} c', columns: odd.map((name) => col(name, 'text', { nullable: false, description: `${name} {%` })) },
      sql: 'select 1',
      mappingId: '44444444-4444-4444-8444-444444444444',
      mappingVersion: 1,
    });
    const p = generateDbtProject(input);

    const model = martModelName(table);
    expect(model).toMatch(/^[a-z][a-z0-9_]*_[0-9a-f]{8}$/);
    expect(isPlainIdentifier(model)).toBe(true);
    // The relation keeps the exact name (a config string dbt's static parser reads as is).
    expect(fileOf(p, `models/marts/${model}.sql`)).toContain(`{{ config(materialized='table', alias="${table}") }}`);
    expect(() => generateDbtProject({ ...input, models: [{ ...input.models[0]!, table: { ...input.models[0]!.table, name: 'a"b' } }] })).toThrow(
      /double quote/,
    );

    // Every Jinja opener in user text is escaped, in SQL and YAML alike.
    for (const f of p.files.filter((x) => !x.path.startsWith('macros/') && x.path !== 'profiles.yml' && !x.path.startsWith('models/marts/'))) {
      const unescaped = f.content.replace(/\{\{ '\{' \}\}/g, '').replace(/\{\{ (source|ref)\('[^']*', '[^']*'\) \}\}|\{\{ (source|ref)\('[^']*'\) \}\}/g, '');
      expect({ path: f.path, jinja: /\{[{%#]/.test(unescaped) }).toEqual({ path: f.path, jinja: false });
    }

    const stg = stagingModelName(input.sources[3]!);
    const sql = fileOf(p, `models/staging/${stg}.sql`);
    expect(sql.split('\n').filter((l) => l.startsWith('--'))).toHaveLength(2); // a line break in a name cannot end the comment
    expect(sql).toContain(`    "a ""q""",\n`);
    expect(sql).toContain(`    "${jinjaLiteral('{{ x }}')}",\n`);

    const schema = parse(fileOf(p, 'models/marts/schema.yml'));
    const m = schema.models.find((x: { name: string }) => x.name === model);
    expect(m.meta.dlx_target_table).toBe(jinjaLiteral(table));
    expect(m.description).toBe(jinjaLiteral('a {{ b }} c'));
    expect(m.columns.map((c: { name: string; quote?: boolean }) => [c.name, c.quote])).toEqual([
      ['Full Name', true],
      ['user', true],
      ['order', true],
      [jinjaLiteral('{{ x }}'), true],
      [jinjaLiteral('{% if %}'), true],
      ["it's", true],
      ['"a ""q"""', undefined], // dbt does not escape quotes: given already quoted
      ['back\\slash', true],
      [long, true],
      ['Ünïcode', true],
      ['tab\there', true],
      ['new\nline', true],
    ]);

    const sources = parse(fileOf(p, 'models/staging/sources.yml'));
    const oddTable = sources.sources
      .flatMap((s: { tables: Array<{ identifier: string; name: string }> }) => s.tables)
      .find((t: { name: string }) => t.name === `raw_${stg.slice(4)}`);
    expect(oddTable.identifier).toBe(jinjaLiteral(destinationTableName({ schema: 'Sales "EU"', name: '{{ odd }}' }).replace(/"/g, '""')));
  });

  it('generates a project without models (nothing mapped yet) whose config names only existing paths', () => {
    const p = generateDbtProject({ ...sampleInput(), sources: [], models: [], relationships: [] });
    expect(parse(fileOf(p, 'dbt_project.yml')).models).toBeUndefined();
    expect(parse(fileOf(p, 'models/marts/schema.yml'))).toEqual({ version: 2, models: [] });
    expect(parse(fileOf(p, 'models/staging/sources.yml'))).toEqual({ version: 2, sources: [] });
    const onlySources = generateDbtProject({ ...sampleInput(), models: [], relationships: [] });
    expect(parse(fileOf(onlySources, 'dbt_project.yml')).models).toEqual({ dlx_7d9e2c1a0b3f: { staging: { '+materialized': 'ephemeral' } } });
  });

  it('refuses duplicate source tables and target tables', () => {
    const input = sampleInput();
    expect(() => generateDbtProject({ ...input, sources: [...input.sources, input.sources[0]!] })).toThrow(/duplicate source table/);
    expect(() => generateDbtProject({ ...input, models: [...input.models, input.models[0]!] })).toThrow(/duplicate target table/);
    expect(() => generateDbtProject({ ...input, projectName: 'Not-Valid' })).toThrow(/invalid project name/);
  });
});

describe('identifiers and YAML', () => {
  it('quotes every identifier that is not a plain lower-case one', () => {
    expect(quoteIdent('customers')).toBe('customers');
    expect(quoteIdent('_x1')).toBe('_x1');
    expect(quoteIdent('Customers')).toBe('"Customers"');
    expect(quoteIdent('select')).toBe('"select"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('1st')).toBe('"1st"');
    expect(quoteIdent('ü')).toBe('"ü"');
  });

  it('emits strings that read back unchanged (lone surrogates as U+FFFD), whatever they hold', () => {
    const anyString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    fc.assert(
      fc.property(anyString, fc.string({ unit: 'binary', maxLength: 20 }), (s, t) => {
        const expected = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
        const doc = toYaml({ a: s, list: [t, { k: s }], [s || 'x']: 1 });
        expect(parse(doc)).toEqual({ a: expected, list: [t, { k: expected }], [expected || 'x']: 1 });
      }),
      { numRuns: 300 },
    );
    for (const s of ['yes', 'no', 'null', '~', '1e3', '- x', '# c', 'a: b', '&a', '*a', '!t', '|', '>', '%', '@', '`', '{x}', '[x]', "'", '"']) {
      expect(parse(`v: ${yamlString(s)}\n`)).toEqual({ v: s });
    }
    // Characters PyYAML reads as line breaks or refuses are escaped.
    expect(yamlString('\u0085\u2028\u2029\u007f\ufeff')).toBe('"\\u0085\\u2028\\u2029\\u007f\\ufeff"');
  });
});

describe('writeDbtProject', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'dlx-dbt-write-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('stores a project per workspace and version under <root>/dbt, replacing the previous one whole', async () => {
    const dir = dbtProjectDir(tmp, '7d9e2c1a-0b3f-4e5d-8c6b-a1b2c3d4e5f6', 4);
    expect(dir).toBe(path.join(tmp, 'dbt', '7d9e2c1a-0b3f-4e5d-8c6b-a1b2c3d4e5f6', 'v4'));
    expect(() => dbtProjectDir(tmp, '../etc', 1)).toThrow(/invalid workspace id/);

    const p = generateDbtProject(sampleInput());
    await writeDbtProject(dir, p.files);
    for (const f of p.files) expect(await readFile(path.join(dir, f.path), 'utf8')).toBe(f.content);

    await writeFile(path.join(dir, 'stale.txt'), 'left over');
    await writeDbtProject(dir, [{ path: 'dbt_project.yml', content: 'name: "x"\n' }]);
    expect(await readdir(dir)).toEqual(['dbt_project.yml']);
    // No temporary or moved-aside directories remain beside it.
    expect(await readdir(path.dirname(dir))).toEqual(['v4']);

    await expect(writeDbtProject(dir, [{ path: '../escape.sql', content: '' }])).rejects.toThrow(/invalid file path/);
    await expect(writeDbtProject(dir, [{ path: '/abs.sql', content: '' }])).rejects.toThrow(/invalid file path/);
    expect(await readdir(dir)).toEqual(['dbt_project.yml']);
  });
});
