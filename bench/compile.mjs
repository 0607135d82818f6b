// bench:compile — compiling a large workspace through the real mapping-service code
// (services/mapping/dist, in-process): 200 mappings of 50 fields (DIRECT, EXPRESSION, DECORATED with
// canonical normalizers, CONSTANT) over their own raw tables of 50 columns, each analysed and compiled
// (expressions parsed by PostgreSQL's parser, states, SQL, lineage), then the dbt project generated
// (sources, staging models, 200 marts with tests from primary keys, canonical types and a
// relationship per table). Needs `npx tsc -b services/mapping` first. One warm-up, then the median of
// COMPILE_BENCH_RUNS (default 7).
// Last line: bench:compile ms=<median compile + generate> files=<files> bytes=<total> budget_ms=1000
import { createRequire } from 'node:module';

const require = createRequire(new URL('../services/mapping/package.json', import.meta.url));
const { generateDbtProject } = require('./dist/dbt/index.js');
const { analyzeMapping } = require('./dist/compile/analyze.js');
const { loadSqlParser } = require('@datalinx/sql');

const TABLES = 200;
const COLUMNS = 50;
const RUNS = Number(process.env.COMPILE_BENCH_RUNS ?? 7);
const TYPES = ['email', 'phone_e164', 'iso_country', 'domain', 'url', 'uuid'];

const connections = ['0b6c7f3e-8a51-4d2c-9e7a-1f2a3b4c5d6e', '7c1d2e3f-4a5b-4c6d-8e7f-a1b2c3d4e5f6'];
const catalog = connections.map((connectionId) => ({ connectionId, snapshotId: connectionId, version: 1, tables: [] }));
const mappings = [];
const relationships = [];
for (let t = 0; t < TABLES; t++) {
  const src = { connectionId: connections[t % 2], schema: 'public', name: `Table ${t}` };
  const sourceColumns = Array.from({ length: COLUMNS }, (_, c) => ({ name: c === 0 ? 'id' : `Column ${c}`, type: c % 3 ? 'text' : 'bigint', nullable: c > 0 }));
  catalog[t % 2].tables.push({ ...src, columns: sourceColumns, primaryKey: ['id'] });
  const columns = Array.from({ length: COLUMNS }, (_, c) => ({
    name: c === 0 ? 'id' : c === 1 && t > 0 ? 'parent_id' : `column_${c}`,
    dataType: c % 3 ? 'text' : 'bigint',
    nullable: c % 4 !== 0,
    description: `Column ${c} of table ${t}.`,
    canonicalType: c % 10 === 5 ? (TYPES[(c / 10) | 0] ?? null) : null,
    primaryKey: c === 0,
  }));
  const fields = {};
  columns.forEach((col, c) => {
    const column = sourceColumns[c].name;
    if (c === 0 || c % 3 === 0) fields[col.name] = { kind: 'DIRECT', source: 's', column };
    else if (col.canonicalType) fields[col.name] = { kind: 'DECORATED', source: 's', column, decorators: [{ kind: 'CANONICALIZE' }] };
    else if (c % 3 === 1) fields[col.name] = { kind: 'EXPRESSION', expression: `nullif(lower(btrim(s."${column}")), '')` };
    else if (c % 7 === 0) fields[col.name] = { kind: 'CONSTANT', value: 'crm' };
    else fields[col.name] = { kind: 'DECORATED', source: 's', column, decorators: [{ kind: 'TRIM' }, { kind: 'UPPER' }] };
  });
  const spec = { sources: [{ alias: 's', connectionId: src.connectionId, schema: src.schema, table: src.name }], joins: [], ctes: [], fields, wildcards: [] };
  mappings.push({
    table: { name: `table_${t}`, description: `Target table ${t}.`, columns },
    spec,
    mappingId: `00000000-0000-4000-8000-${String(t).padStart(12, '0')}`,
    mappingVersion: 1 + (t % 5),
  });
  if (t > 0)
    relationships.push({ name: `table_${t}_parent`, fromTable: `table_${t}`, fromColumns: ['parent_id'], toTable: `table_${t - 1}`, toColumns: ['id'] });
}

/** Every mapping analysed and compiled, then the project generated: what the workspace's dbt project costs. */
async function compileWorkspace() {
  const models = [];
  for (const m of mappings) {
    const analysis = await analyzeMapping(m.spec, m.table, catalog);
    if (!analysis.sql) throw new Error(`${m.table.name} did not compile: ${JSON.stringify(analysis.fields.filter((f) => f.state !== 'MAPPED').slice(0, 3))}`);
    models.push({ table: m.table, sql: analysis.sql, mappingId: m.mappingId, mappingVersion: m.mappingVersion });
  }
  return generateDbtProject({
    workspaceId: '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d',
    projectName: 'dlx_5a6b7c8d9e0f',
    version: 1,
    targetSchema: 'ws_5a6b7c8d9e0f',
    sources: catalog.flatMap((c) => c.tables.map((t) => ({ ...t, connectionName: `Source ${c.connectionId.slice(0, 4)}` }))),
    models,
    relationships,
  });
}

await loadSqlParser();
let project = await compileWorkspace();
const times = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  project = await compileWorkspace();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const bytes = project.files.reduce((n, f) => n + Buffer.byteLength(f.content), 0);
console.log(`runs (ms): ${times.map((t) => t.toFixed(1)).join(' ')}`);
console.log(`bench:compile ms=${median.toFixed(1)} files=${project.files.length} bytes=${bytes} budget_ms=1000`);
