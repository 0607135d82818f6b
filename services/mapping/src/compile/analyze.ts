import { applySql, canonicalTypeByName, stagingModelName, targetBaseType, type TargetTable } from '@datalinx/contracts';
import type { CanonicalResolver } from './canonical';
import { assignable, normalizeType, parseCte, parseExpression, quoteIdent, quoteLiteral, type CteRelation, type SqlProblem } from '@datalinx/sql';
import type { CatalogSnapshot, CatalogTable } from '../daos/catalog.dao';
import { jinjaLiteral } from '../dbt';
import { userError, type MappingUserError } from '../errors';
import type { Decorator, FieldMapping, MappingSpec, TableSource } from '../spec';

export type FieldState = 'MAPPED' | 'UNMAPPED' | 'ERROR' | 'AMBIGUOUS';
export type FieldKind = FieldMapping['kind'] | 'WILDCARD';

/** A source column a target column is computed from. */
export interface SourceColumnRef {
  connectionId: string;
  schema: string;
  table: string;
  column: string;
}

export interface FieldAnalysis {
  column: string;
  dataType: string;
  nullable: boolean;
  state: FieldState;
  reason: string | null;
  kind: FieldKind | null;
  /** The SELECT item's expression (before the cast to the target type); null when the field is not usable. */
  sql: string | null;
  /** The source columns it reads (through CTEs and joins' sources), each once. */
  sources: SourceColumnRef[];
  /** What happens between the sources and the column, in order: decorators, functions of the parse tree, CTEs passed through. */
  transformations: string[];
}

export interface CteAnalysis {
  name: string;
  ok: boolean;
  problem: string | null;
  sql: string | null;
  /** Every source column it reads (in any clause, through the CTEs it reads), for drift. */
  reads: SourceColumnRef[];
}

export interface MappingAnalysis {
  /** Problems of structure (unknown alias, bad join, unknown source table): the spec cannot be saved with them. */
  structure: MappingUserError[];
  fields: FieldAnalysis[];
  ctes: CteAnalysis[];
  /** The model's SELECT with `{{ ref(…) }}` for staging models; null while a field is in ERROR or AMBIGUOUS, or there is no source. */
  sql: string | null;
  /** The staging models the SELECT reads. */
  refs: string[];
  /** Join keys the model reads, for drift. */
  joinKeys: SourceColumnRef[];
  /**
   * The model's parts for running it outside dbt (a preview): its CTEs, its FROM clause and each
   * target column's expression cast to the column's type (NULL for a field not MAPPED), with the
   * staging models still as markers (`resolveRefs` names the tables); null when the sources,
   * joins or CTEs do not compile.
   */
  runnable: { with: string | null; from: string; fields: Array<{ column: string; sql: string; type: string }> } | null;
  /** Join keys that are not columns of their source (a save refuses them; after drift they put the fields in ERROR). */
  joinIssues: Array<{ path: string; message: string }>;
}

/** What a drift notice says about a column, while the mapping was not changed since. */
export type DriftReasons = ReadonlyMap<string, string>;

type Relation = { kind: 'table'; table: CatalogTable; ref: string } | { kind: 'cte'; name: string; columns: Array<{ name: string; type: string }> };

const key = (r: SourceColumnRef) => `${r.connectionId}\0${r.schema}\0${r.table}\0${r.column}`;
export const describeColumn = (r: { schema: string; table: string; column: string }) => `${r.schema}.${r.table}.${r.column}`;
const problemText = (p: SqlProblem) => (p.position ? `line ${p.position.line}, column ${p.position.column}: ${p.message}` : p.message);

/**
 * A source table's staging model while the SQL is assembled: its name between NUL characters,
 * which no user text can hold (quoting refuses NUL). `toJinja` turns each into `{{ ref('…') }}`.
 */
const refMarks = new WeakMap<object, string>();
const refOf = (t: { connectionId: string; schema: string; name: string }) => {
  // Remembered per catalog table object: a workspace's tables are named for every mapping compiled against them.
  let r = refMarks.get(t);
  if (r === undefined) refMarks.set(t, (r = `\u0000${stagingModelName(t)}\u0000`));
  return r;
};
// eslint-disable-next-line no-control-regex -- NUL is the marker, chosen because user text cannot hold it
const REF_MARK = /\u0000([a-z0-9_]+)\u0000/;

/** The staging-model markers of assembled SQL replaced by the relations `resolve` names (a preview reads the raw tables). */
export function resolveRefs(sql: string, resolve: (stagingModel: string) => string): string {
  return sql
    .split(REF_MARK)
    .map((part, i) => (i % 2 ? resolve(part) : part))
    .join('');
}

/**
 * The model text dbt renders: staging models as `{{ ref('…') }}`, and everything else passed
 * through Jinja unchanged (every `{` from an identifier or literal written as `{{ '{' }}`), so text
 * a user typed can never become Jinja.
 */
export function toJinja(sql: string): string {
  return sql
    .split(REF_MARK)
    .map((part, i) => (i % 2 ? `{{ ref(${quoteLiteral(part)}) }}` : jinjaLiteral(part)))
    .join('');
}

function findTable(catalog: readonly CatalogSnapshot[], s: Pick<TableSource, 'connectionId' | 'schema' | 'table'>): CatalogTable | undefined {
  return catalog.find((c) => c.connectionId === s.connectionId)?.tables.find((t) => t.schema === s.schema && t.name === s.table);
}

/**
 * Checks a mapping's spec against the target table and the workspace's source catalog and
 * compiles it: structure problems (the spec cannot be saved with them), each target column's
 * state, SQL and lineage, and the model's SELECT. SQL a user typed (expressions, CTEs) goes
 * through @datalinx/sql's parser and only its re-emitted text is used; everything else is built
 * from quoted identifiers and literals.
 */
export async function analyzeMapping(
  spec: MappingSpec,
  target: TargetTable | null,
  catalog: readonly CatalogSnapshot[],
  drift: DriftReasons = new Map(),
  /** The organization's canonical types (built-ins and its own); built-ins only by default. */
  canonical: CanonicalResolver = canonicalTypeByName,
): Promise<MappingAnalysis> {
  const structure: MappingUserError[] = [];
  const relations = new Map<string, Relation>();
  const cteOut = new Map<string, { columns: Array<{ name: string; type: string }>; lineage: Record<string, Array<{ relation: string; column: string }>> }>();
  const cteAnalyses: CteAnalysis[] = [];
  const cteRelations: CteRelation[] = [];
  const cteRefs = new Set<string>();
  // What a CTE may read: only built when the mapping has CTEs (a wide catalog is large).
  if (spec.ctes.length)
    for (const c of catalog)
      for (const t of c.tables)
        cteRelations.push({ schema: t.schema, name: t.name, columns: t.columns.map((col) => ({ name: col.name, type: col.type })), emit: refOf(t) });

  // CTEs, in order: each reads the workspace's source tables and the CTEs before it.
  const cteNames = new Set<string>();
  for (const [i, cte] of spec.ctes.entries()) {
    if (cteNames.has(cte.name)) structure.push(userError('CTE_DUPLICATE', `ctes.${i}.name`, `Another CTE is already named ${cte.name}.`));
    cteNames.add(cte.name);
    const res = await parseCte(cte.name, cte.sql, cteRelations);
    if (res.ok) {
      const reads: SourceColumnRef[] = [];
      for (const r of res.reads) {
        const earlier = cteAnalyses.find((c) => c.name === r.relation);
        if (earlier) reads.push(...earlier.reads);
        else reads.push(...tablesNamed(catalog, r.relation).map((t) => ({ connectionId: t.connectionId, schema: t.schema, table: t.name, column: r.column })));
      }
      cteOut.set(cte.name, { columns: res.columns, lineage: res.lineage });
      cteRelations.push({ name: cte.name, columns: res.columns, emit: quoteIdent(cte.name) });
      cteAnalyses.push({ name: cte.name, ok: true, problem: null, sql: res.sql, reads: dedupe(reads) });
      for (const m of res.sql.matchAll(new RegExp(REF_MARK, 'g'))) cteRefs.add(m[1]!);
    } else {
      cteAnalyses.push({ name: cte.name, ok: false, problem: res.problems.map(problemText).join('; '), sql: null, reads: [] });
    }
  }

  // Sources: aliases unique; a table source must be in the catalog, a CTE source must be defined.
  const missingTables = new Map<string, string>();
  spec.sources.forEach((s, i) => {
    if (relations.has(s.alias) || missingTables.has(s.alias)) {
      structure.push(userError('SOURCE_ALIAS_DUPLICATE', `sources.${i}.alias`, `Another source is already called ${s.alias}.`));
      return;
    }
    if ('cte' in s) {
      if (!cteNames.has(s.cte)) structure.push(userError('SOURCE_NOT_FOUND', `sources.${i}.cte`, `There is no CTE named ${s.cte}.`));
      const out = cteOut.get(s.cte);
      if (out) relations.set(s.alias, { kind: 'cte', name: s.cte, columns: out.columns });
      else missingTables.set(s.alias, `CTE ${s.cte} does not compile`);
      return;
    }
    const t = findTable(catalog, s);
    if (t) relations.set(s.alias, { kind: 'table', table: t, ref: refOf(t) });
    else
      missingTables.set(
        s.alias,
        drift.get(`table:${s.connectionId}:${s.schema}.${s.table}`) ?? `source table ${s.schema}.${s.table} is not in the connection's latest snapshot`,
      );
  });
  const aliases = new Set(spec.sources.map((s) => s.alias));
  const sourceIndex = new Map(spec.sources.map((s, i) => [s.alias, i]));

  // Joins: every source after the first is joined once, onto sources before it.
  const joined = new Set<string>(spec.sources[0] ? [spec.sources[0].alias] : []);
  const joinKeys: SourceColumnRef[] = [];
  const joinProblems: string[] = [];
  const joinIssues: Array<{ path: string; message: string }> = [];
  const joinSql: string[] = [];
  spec.joins.forEach((j, i) => {
    const idx = sourceIndex.get(j.alias);
    if (idx === undefined) return void structure.push(userError('SOURCE_NOT_FOUND', `joins.${i}.alias`, `There is no source called ${j.alias}.`));
    if (idx === 0) return void structure.push(userError('JOIN_INVALID', `joins.${i}.alias`, `${j.alias} is the first source (FROM); it cannot be joined.`));
    if (joined.has(j.alias)) return void structure.push(userError('JOIN_INVALID', `joins.${i}.alias`, `${j.alias} is joined more than once.`));
    const on: string[] = [];
    j.on.forEach((p, k) => {
      if (!aliases.has(p.leftAlias))
        return void structure.push(userError('SOURCE_NOT_FOUND', `joins.${i}.on.${k}.leftAlias`, `There is no source called ${p.leftAlias}.`));
      if (!joined.has(p.leftAlias))
        return void structure.push(userError('JOIN_INVALID', `joins.${i}.on.${k}.leftAlias`, `${p.leftAlias} is not in the FROM or joined before ${j.alias}.`));
      for (const [alias, column, side] of [
        [p.leftAlias, p.leftColumn, 'leftColumn'],
        [j.alias, p.rightColumn, 'rightColumn'],
      ] as const) {
        const rel = relations.get(alias);
        if (!rel) continue;
        const col = columnsOf(rel).find((c) => c.name === column);
        if (rel.kind === 'table') joinKeys.push({ connectionId: rel.table.connectionId, schema: rel.table.schema, table: rel.table.name, column });
        if (!col) {
          const ref = rel.kind === 'table' ? { connectionId: rel.table.connectionId, schema: rel.table.schema, table: rel.table.name, column } : null;
          const message = `join key ${alias}.${column} is not a column of ${alias}`;
          joinProblems.push((ref && drift.get(key(ref))) ?? message);
          joinIssues.push({ path: `joins.${i}.on.${k}.${side}`, message: `${message[0]!.toUpperCase()}${message.slice(1)}.` });
        }
      }
      on.push(`${quoteIdent(p.leftAlias)}.${quoteIdent(p.leftColumn)} = ${quoteIdent(j.alias)}.${quoteIdent(p.rightColumn)}`);
    });
    joined.add(j.alias);
    const rel = relations.get(j.alias);
    joinSql.push(`${j.type === 'INNER' ? 'INNER' : `${j.type} OUTER`} JOIN ${rel ? fromItem(rel) : '?'} AS ${quoteIdent(j.alias)} ON ${on.join(' AND ')}`);
  });
  for (const s of spec.sources.slice(1))
    if (!joined.has(s.alias))
      structure.push(userError('JOIN_MISSING', `sources.${sourceIndex.get(s.alias)}.alias`, `Join ${s.alias} onto the sources before it.`));

  const targetColumns = target?.columns ?? [];
  const targetNames = new Set(targetColumns.map((c) => c.name));
  for (const [column, f] of Object.entries(spec.fields)) {
    if (!targetNames.has(column)) structure.push(userError('FIELD_COLUMN_NOT_FOUND', `fields.${column}`, `The target table has no column ${column}.`));
    if ((f.kind === 'DIRECT' || f.kind === 'DECORATED') && !aliases.has(f.source))
      structure.push(userError('SOURCE_NOT_FOUND', `fields.${column}.source`, `There is no source called ${f.source}.`));
  }
  spec.wildcards.forEach((w, i) => {
    if (!aliases.has(w)) structure.push(userError('SOURCE_NOT_FOUND', `wildcards.${i}`, `There is no source called ${w}.`));
  });

  // Column → source lineage, through CTEs.
  const lineageOf = (alias: string, column: string, seen = new Set<string>()): { sources: SourceColumnRef[]; via: string[] } => {
    const rel = relations.get(alias);
    if (!rel) return { sources: [], via: [] };
    if (rel.kind === 'table') return { sources: [{ connectionId: rel.table.connectionId, schema: rel.table.schema, table: rel.table.name, column }], via: [] };
    return cteLineage(rel.name, column, seen);
  };
  const cteLineage = (cte: string, column: string, seen: Set<string>): { sources: SourceColumnRef[]; via: string[] } => {
    if (seen.has(cte)) return { sources: [], via: [] };
    seen.add(cte);
    const out: SourceColumnRef[] = [];
    const via = [`cte ${cte}`];
    for (const r of cteOut.get(cte)?.lineage[column] ?? []) {
      if (cteOut.has(r.relation)) {
        const inner = cteLineage(r.relation, r.column, seen);
        out.push(...inner.sources);
        via.push(...inner.via.filter((v) => !via.includes(v)));
        continue;
      }
      const dot = r.relation.indexOf('.');
      const [schema, name] = dot >= 0 ? [r.relation.slice(0, dot), r.relation.slice(dot + 1)] : [undefined, r.relation];
      for (const c of catalog)
        for (const t of c.tables)
          if (t.name === name && (schema === undefined || t.schema === schema))
            out.push({ connectionId: t.connectionId, schema: t.schema, table: t.name, column: r.column });
    }
    return { sources: out, via };
  };

  const scope = { columns: [...relations].flatMap(([alias, rel]) => columnsOf(rel).map((c) => ({ relation: alias, name: c.name, type: c.type }))) };
  const fields: FieldAnalysis[] = [];
  for (const col of targetColumns) {
    const base = { column: col.name, dataType: col.dataType, nullable: col.nullable };
    const f = spec.fields[col.name];
    const driftReason = drift.get(`field:${col.name}`);
    let result: Omit<FieldAnalysis, 'column' | 'dataType' | 'nullable'>;
    if (f) result = await analyzeField(f, col, relations, missingTables, scope, lineageOf, drift, canonical);
    else {
      const claims = spec.wildcards.filter((w) => {
        const rel = relations.get(w);
        return rel && columnsOf(rel).some((c) => c.name === col.name);
      });
      if (claims.length > 1)
        result = {
          state: 'AMBIGUOUS',
          reason: `wildcards ${claims.join(' and ')} both have a column ${col.name}`,
          kind: 'WILDCARD',
          sql: null,
          sources: [],
          transformations: [],
        };
      else if (claims.length === 1) {
        result = {
          ...(await analyzeField({ kind: 'DIRECT', source: claims[0]!, column: col.name }, col, relations, missingTables, scope, lineageOf, drift, canonical)),
          kind: 'WILDCARD',
        };
      } else result = { state: 'UNMAPPED', reason: col.nullable ? null : 'required', kind: null, sql: null, sources: [], transformations: [] };
    }
    if (driftReason && result.state !== 'UNMAPPED') result = { ...result, state: 'ERROR', reason: driftReason };
    if (joinProblems.length && (result.state === 'MAPPED' || result.state === 'ERROR') && result.kind !== null)
      result = { ...result, state: 'ERROR', reason: result.state === 'ERROR' && result.reason ? result.reason : joinProblems[0]! };
    fields.push({ ...base, ...result });
  }

  const refs = [...new Set([...relations.values()].flatMap((r) => (r.kind === 'table' ? [stagingModelName(r.table)] : [])))];
  refs.push(...cteRefs);
  const usable =
    !structure.length &&
    spec.sources.length > 0 &&
    missingTables.size === 0 &&
    !joinProblems.length &&
    cteAnalyses.every((c) => c.ok) &&
    fields.every((f) => f.state === 'MAPPED' || f.state === 'UNMAPPED');
  // What a preview runs: the FROM part must be sound; fields in ERROR or AMBIGUOUS read as NULL.
  const runnable =
    !structure.length && spec.sources.length > 0 && missingTables.size === 0 && !joinProblems.length && cteAnalyses.every((c) => c.ok) && target
      ? {
          with: cteAnalyses.length ? cteAnalyses.map((c) => `${quoteIdent(c.name)} AS (${c.sql})`).join(', ') : null,
          from: `${fromItem(relations.get(spec.sources[0]!.alias)!)} AS ${quoteIdent(spec.sources[0]!.alias)}${joinSql.map((j) => ` ${j}`).join('')}`,
          fields: fields.map((f) => ({ column: f.column, sql: `${f.state === 'MAPPED' ? `(${f.sql})` : 'NULL'}::${f.dataType}`, type: f.dataType })),
        }
      : null;
  let sql: string | null = null;
  if (usable && target) {
    const items = fields.map((f) => `  ${f.state === 'MAPPED' ? `(${f.sql})` : 'NULL'}::${f.dataType} AS ${quoteIdent(f.column)}`);
    const first = relations.get(spec.sources[0]!.alias)!;
    const withClause = cteAnalyses.length ? `WITH ${cteAnalyses.map((c) => `${quoteIdent(c.name)} AS (\n${c.sql}\n)`).join(',\n')}\n` : '';
    sql = toJinja(
      `${withClause}SELECT\n${items.join(',\n')}\nFROM ${fromItem(first)} AS ${quoteIdent(spec.sources[0]!.alias)}${joinSql.map((j) => `\n${j}`).join('')}`,
    );
  }
  return {
    structure,
    fields,
    ctes: cteAnalyses.map((c) => ({ ...c, sql: c.sql && toJinja(c.sql) })),
    sql,
    refs: [...new Set(refs)].sort(),
    joinKeys,
    joinIssues,
    runnable,
  };
}

/** The catalog tables a CTE's relation names (`schema.name`, or a bare name). */
function tablesNamed(catalog: readonly CatalogSnapshot[], relation: string): CatalogTable[] {
  const dot = relation.indexOf('.');
  const [schema, name] = dot >= 0 ? [relation.slice(0, dot), relation.slice(dot + 1)] : [undefined, relation];
  return catalog.flatMap((c) => c.tables.filter((t) => t.name === name && (schema === undefined || t.schema === schema)));
}

function columnsOf(rel: Relation): Array<{ name: string; type: string }> {
  return rel.kind === 'table' ? rel.table.columns : rel.columns;
}

function fromItem(rel: Relation): string {
  return rel.kind === 'table' ? rel.ref : quoteIdent(rel.name);
}

async function analyzeField(
  f: FieldMapping,
  col: TargetTable['columns'][number],
  relations: Map<string, Relation>,
  missingTables: Map<string, string>,
  scope: { columns: Array<{ relation: string; name: string; type: string }> },
  lineageOf: (alias: string, column: string) => { sources: SourceColumnRef[]; via: string[] },
  drift: DriftReasons,
  canonical: CanonicalResolver,
): Promise<Omit<FieldAnalysis, 'column' | 'dataType' | 'nullable'>> {
  const kind = f.kind;
  const error = (reason: string) => ({ state: 'ERROR' as const, reason, kind, sql: null, sources: [], transformations: [] });
  if (!targetBaseType(col.dataType)) return error(`the target column's type ${col.dataType} is not one a model can produce`);
  if (f.kind === 'CONSTANT') {
    return { state: 'MAPPED', reason: null, kind, sql: f.value === null ? 'NULL' : quoteLiteral(f.value), sources: [], transformations: ['constant'] };
  }
  if (f.kind === 'EXPRESSION') {
    const res = await parseExpression(f.expression, scope);
    if (!res.ok) {
      const ambiguous = res.problems.find((p) => p.code === 'AMBIGUOUS_COLUMN');
      if (ambiguous) return { ...error(problemText(ambiguous)), state: 'AMBIGUOUS' };
      return error(res.problems.map(problemText).join('; '));
    }
    const sources: SourceColumnRef[] = [];
    const via: string[] = [];
    for (const c of res.columns) {
      const l = lineageOf(c.relation, c.name);
      sources.push(...l.sources);
      via.push(...l.via);
    }
    const fit = res.type === 'unknown' ? ({ ok: true } as const) : assignable(res.type, col.dataType);
    if (!fit.ok) return error(`the expression is ${res.type} and the column is ${col.dataType}: ${fit.message}`);
    return { state: 'MAPPED', reason: null, kind, sql: res.sql, sources: dedupe(sources), transformations: [...new Set(via), ...res.functions] };
  }
  // DIRECT / DECORATED: one source column.
  const missing = missingTables.get(f.source);
  if (missing) return error(missing);
  const rel = relations.get(f.source);
  if (!rel) return error(`there is no source called ${f.source}`);
  const source = columnsOf(rel).find((c) => c.name === f.column);
  const lineage = lineageOf(f.source, f.column);
  if (!source) {
    const fromDrift = lineage.sources.map((s) => drift.get(key(s))).find(Boolean);
    const where = rel.kind === 'table' ? `${rel.table.schema}.${rel.table.name}` : `CTE ${rel.name}`;
    return error(fromDrift ?? `unknown column ${f.source}.${f.column}: ${where} has no column ${f.column}`);
  }
  let expr = `${quoteIdent(f.source)}.${quoteIdent(f.column)}`;
  let type = normalizeType(source.type);
  const transformations = [...lineage.via];
  if (f.kind === 'DECORATED') {
    for (const d of f.decorators) {
      const applied = decorate(d, expr, col.canonicalType, canonical);
      if (!applied.ok) return error(applied.reason);
      expr = applied.sql;
      type = 'text';
      transformations.push(d.kind === 'CANONICALIZE' ? `canonicalize ${col.canonicalType}` : d.kind.toLowerCase());
    }
  }
  const fit = assignable(type, col.dataType);
  if (!fit.ok) return error(`${f.source}.${f.column} is ${type} and the column is ${col.dataType}: ${fit.message}`);
  return { state: 'MAPPED', reason: null, kind, sql: expr, sources: dedupe(lineage.sources), transformations };
}

function dedupe(refs: SourceColumnRef[]): SourceColumnRef[] {
  const seen = new Map<string, SourceColumnRef>();
  for (const r of refs) seen.set(key(r), r);
  return [...seen.values()];
}

/** One decorator over an expression; text in, text out. */
function decorate(
  d: Decorator,
  expr: string,
  canonicalType: string | null,
  canonical: CanonicalResolver,
): { ok: true; sql: string } | { ok: false; reason: string } {
  const text = `(${expr})::text`;
  switch (d.kind) {
    case 'TRIM':
      return { ok: true, sql: `btrim(${text})` };
    case 'LOWER':
      return { ok: true, sql: `lower(${text})` };
    case 'UPPER':
      return { ok: true, sql: `upper(${text})` };
    case 'SHA256':
      return { ok: true, sql: `encode(sha256(convert_to(${text}, 'UTF8')), 'hex')` };
    case 'MASK':
      return {
        ok: true,
        sql: `CASE WHEN ${text} IS NULL THEN NULL ELSE repeat('*', greatest(length(${text}) - ${d.keepLast}, 0)) || right(${text}, ${d.keepLast}) END`,
      };
    case 'DEFAULT':
      return { ok: true, sql: `coalesce(${text}, ${quoteLiteral(d.value)})` };
    case 'LOOKUP': {
      const whens = d.map.map((e) => `WHEN ${quoteLiteral(e.from)} THEN ${quoteLiteral(e.to)}`).join(' ');
      const otherwise = d.default === null ? text : quoteLiteral(d.default);
      return { ok: true, sql: d.map.length ? `CASE ${text} ${whens} ELSE ${otherwise} END` : otherwise };
    }
    case 'CANONICALIZE': {
      if (!canonicalType) return { ok: false, reason: 'CANONICALIZE needs a canonical type on the target column, and it has none' };
      const def = canonical(canonicalType);
      if (!def)
        return {
          ok: false,
          reason: `the canonical type ${canonicalType} is neither built in nor one of the organization's own known here (a type created a moment ago arrives shortly)`,
        };
      return { ok: true, sql: applySql(def.sqlNormalizer, text) };
    }
  }
}
