import {
  TARGET_DATA_TYPE_PATTERN,
  TARGET_SCHEMA_LIMITS,
  type TargetColumn,
  type TargetRelationship,
  type TargetSchemaDocument,
  type TargetTable,
} from '@datalinx/contracts';
import type { SchemaErrorCode } from '../errors';

/**
 * PostgreSQL's reserved key words (kwlist.h RESERVED_KEYWORD, PostgreSQL 18) and the ones reserved
 * except as function or type names (TYPE_FUNC_NAME_KEYWORD): neither can name a table or column
 * without quoting, and generated SQL never quotes target names.
 */
export const POSTGRES_RESERVED_WORDS: ReadonlySet<string> = new Set([
  'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case', 'cast', 'check', 'collate', 'column',
  'constraint', 'create', 'current_catalog', 'current_date', 'current_role', 'current_time', 'current_timestamp', 'current_user', 'default',
  'deferrable', 'desc', 'distinct', 'do', 'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from', 'grant', 'group', 'having', 'in',
  'initially', 'intersect', 'into', 'lateral', 'leading', 'limit', 'localtime', 'localtimestamp', 'not', 'null', 'offset', 'on', 'only', 'or',
  'order', 'placing', 'primary', 'references', 'returning', 'select', 'session_user', 'some', 'symmetric', 'system_user', 'table', 'then', 'to',
  'trailing', 'true', 'union', 'unique', 'user', 'using', 'variadic', 'when', 'where', 'window', 'with',
  'authorization', 'binary', 'collation', 'concurrently', 'cross', 'current_schema', 'freeze', 'full', 'ilike', 'inner', 'is', 'isnull', 'join',
  'left', 'like', 'natural', 'notnull', 'outer', 'overlaps', 'right', 'similar', 'tablesample', 'verbose',
]); // prettier-ignore

export const IDENTIFIER_PATTERN = /^[a-z_][a-z0-9_]*$/;
export const IDENTIFIER_MAX_BYTES = 63;

/** One problem of a document, at its place in the document (`['tables', 3, 'columns', 0, 'dataType']`). */
export interface DocumentIssue {
  code: SchemaErrorCode;
  path: Array<string | number>;
  message: string;
}

/** `$.tables[3].columns[0].dataType`: how import reports a place in `schema.json`. */
export function jsonPath(path: ReadonlyArray<string | number>): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

/** `tables.3.columns.0.dataType`: the GraphQL field path form. */
export function fieldPath(path: ReadonlyArray<string | number>): string {
  return path.join('.');
}

/** Why an identifier cannot name a table, column or relationship; null when it can. */
export function identifierProblem(name: string, what: string): { code: SchemaErrorCode; message: string } | null {
  if (!IDENTIFIER_PATTERN.test(name))
    return { code: 'NAME_INVALID', message: `The ${what} name "${name}" must be a lower-case SQL identifier: a letter or _, then letters, digits or _.` };
  if (Buffer.byteLength(name, 'utf8') > IDENTIFIER_MAX_BYTES)
    return { code: 'NAME_INVALID', message: `The ${what} name is longer than ${IDENTIFIER_MAX_BYTES} bytes (PostgreSQL's limit).` };
  if (POSTGRES_RESERVED_WORDS.has(name)) return { code: 'NAME_RESERVED', message: `"${name}" is a reserved word in PostgreSQL; choose another ${what} name.` };
  return null;
}

/**
 * Every rule a target schema must follow beyond its shape (the zod contract checks that): names,
 * reserved words, duplicates (case-insensitive), data types, canonical types, primary keys (a
 * primary key column must be NOT NULL: an error, never silently changed), relationships to
 * existing tables and columns with as many columns on both sides, and the limits. Returns every
 * problem, not only the first.
 */
export function validateDocument(doc: TargetSchemaDocument, canonicalTypeExists: (name: string) => boolean): DocumentIssue[] {
  const issues: DocumentIssue[] = [];
  const add = (code: SchemaErrorCode, path: Array<string | number>, message: string) => issues.push({ code, path, message });
  if (doc.tables.length > TARGET_SCHEMA_LIMITS.tables)
    add('LIMIT_EXCEEDED', ['tables'], `At most ${TARGET_SCHEMA_LIMITS.tables} tables per target schema (${doc.tables.length} given).`);
  if (doc.relationships.length > TARGET_SCHEMA_LIMITS.relationships)
    add('LIMIT_EXCEEDED', ['relationships'], `At most ${TARGET_SCHEMA_LIMITS.relationships} relationships per target schema.`);
  const tableNames = new Map<string, number>();
  doc.tables.forEach((t, ti) => {
    const at = (...rest: Array<string | number>) => ['tables', ti, ...rest];
    const bad = identifierProblem(t.name, 'table');
    if (bad) add(bad.code, at('name'), bad.message);
    const key = t.name.toLowerCase();
    if (tableNames.has(key)) add('NAME_TAKEN', at('name'), `Another table is already named "${t.name}".`);
    else tableNames.set(key, ti);
    if ([...t.description].length > TARGET_SCHEMA_LIMITS.descriptionLength)
      add('DESCRIPTION_TOO_LONG', at('description'), `At most ${TARGET_SCHEMA_LIMITS.descriptionLength} characters.`);
    if (!t.columns.length) add('COLUMNS_EMPTY', at('columns'), `Table "${t.name}" needs at least one column.`);
    if (t.columns.length > TARGET_SCHEMA_LIMITS.columnsPerTable)
      add('LIMIT_EXCEEDED', at('columns'), `At most ${TARGET_SCHEMA_LIMITS.columnsPerTable} columns per table.`);
    const columnNames = new Set<string>();
    t.columns.forEach((c, ci) => {
      const cat = (prop: string) => at('columns', ci, prop);
      const badColumn = identifierProblem(c.name, 'column');
      if (badColumn) add(badColumn.code, cat('name'), badColumn.message);
      if (columnNames.has(c.name.toLowerCase())) add('NAME_TAKEN', cat('name'), `Table "${t.name}" already has a column "${c.name}".`);
      columnNames.add(c.name.toLowerCase());
      if (!TARGET_DATA_TYPE_PATTERN.test(c.dataType))
        add(
          'DATA_TYPE_INVALID',
          cat('dataType'),
          `"${c.dataType}" is not a supported data type (text, varchar(n), smallint, integer, bigint, numeric, numeric(p,s), real, double precision, boolean, date, time, timestamp, timestamptz, uuid, jsonb, bytea).`,
        );
      else if (!dataTypeParametersOk(c.dataType))
        add('DATA_TYPE_INVALID', cat('dataType'), `"${c.dataType}": varchar(n) needs 1 ≤ n ≤ 10485760, numeric(p,s) 1 ≤ p ≤ 1000 and s ≤ p.`);
      if (c.canonicalType !== null && !canonicalTypeExists(c.canonicalType))
        add('CANONICAL_TYPE_NOT_FOUND', cat('canonicalType'), `No canonical type "${c.canonicalType}" (a built-in one or one of your organization).`);
      if (c.primaryKey && c.nullable) add('PRIMARY_KEY_NULLABLE', cat('nullable'), `Primary key column "${c.name}" must not be nullable.`);
      if ([...c.description].length > TARGET_SCHEMA_LIMITS.descriptionLength)
        add('DESCRIPTION_TOO_LONG', cat('description'), `At most ${TARGET_SCHEMA_LIMITS.descriptionLength} characters.`);
    });
  });
  const relationshipNames = new Set<string>();
  doc.relationships.forEach((r, ri) => {
    const at = (...rest: Array<string | number>) => ['relationships', ri, ...rest];
    const bad = identifierProblem(r.name, 'relationship');
    if (bad) add(bad.code, at('name'), bad.message);
    if (relationshipNames.has(r.name.toLowerCase())) add('NAME_TAKEN', at('name'), `Another relationship is already named "${r.name}".`);
    relationshipNames.add(r.name.toLowerCase());
    const side = (prop: 'fromTable' | 'toTable', columnsProp: 'fromColumns' | 'toColumns') => {
      const ti = tableNames.get(r[prop].toLowerCase());
      const table = ti === undefined ? undefined : doc.tables[ti];
      if (!table || table.name !== r[prop]) {
        add('TABLE_NOT_FOUND', at(prop), `No table "${r[prop]}" in the target schema.`);
        return;
      }
      r[columnsProp].forEach((name, i) => {
        if (!table.columns.some((c) => c.name === name)) add('COLUMN_NOT_FOUND', at(columnsProp, i), `Table "${table.name}" has no column "${name}".`);
      });
    };
    side('fromTable', 'fromColumns');
    side('toTable', 'toColumns');
    if (r.fromColumns.length !== r.toColumns.length)
      add('RELATIONSHIP_COLUMNS_MISMATCH', at('toColumns'), `${r.fromColumns.length} column(s) reference ${r.toColumns.length}: both sides need as many.`);
  });
  return issues;
}

function dataTypeParametersOk(dataType: string): boolean {
  const varchar = /^varchar\((\d+)\)$/.exec(dataType);
  if (varchar) return Number(varchar[1]) <= 10485760;
  const numeric = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(dataType);
  if (numeric) return Number(numeric[1]) <= 1000 && Number(numeric[2] ?? 0) <= Number(numeric[1]);
  return true;
}

const column = (c: TargetColumn): TargetColumn => ({
  name: c.name,
  dataType: c.dataType,
  nullable: c.nullable,
  description: c.description,
  canonicalType: c.canonicalType,
  primaryKey: c.primaryKey,
});
const table = (t: TargetTable): TargetTable => ({ name: t.name, description: t.description, columns: t.columns.map(column) });
const relationship = (r: TargetRelationship): TargetRelationship => ({
  name: r.name,
  fromTable: r.fromTable,
  fromColumns: [...r.fromColumns],
  toTable: r.toTable,
  toColumns: [...r.toColumns],
});

/** The document with every key in the contract's order (what is stored, sent and exported). */
export function normalizeDocument(doc: TargetSchemaDocument): TargetSchemaDocument {
  return { format: 'datalinx.target-schema', formatVersion: 1, tables: doc.tables.map(table), relationships: doc.relationships.map(relationship) };
}

/**
 * `schema.json`: the canonical JSON of a document — keys in the contract's order, tables and
 * relationships in the schema's order (the order they were created or imported in), 2-space
 * indent, a trailing newline. Importing it and exporting again gives the same bytes.
 */
export function canonicalJson(doc: TargetSchemaDocument): string {
  return JSON.stringify(normalizeDocument(doc), null, 2) + '\n';
}

export const EMPTY_DOCUMENT: TargetSchemaDocument = { format: 'datalinx.target-schema', formatVersion: 1, tables: [], relationships: [] };

export interface PropertyChange {
  property: string;
  before: string | null;
  after: string | null;
}
export interface ColumnDiff {
  name: string;
  changes: PropertyChange[];
}
export interface TableDiff {
  name: string;
  /** The table's name in the older version (differs from `name` when it was renamed). */
  previousName: string;
  changes: PropertyChange[];
  addedColumns: string[];
  removedColumns: string[];
  changedColumns: ColumnDiff[];
}
export interface RelationshipDiff {
  name: string;
  changes: PropertyChange[];
}
export interface DocumentDiff {
  addedTables: string[];
  removedTables: string[];
  changedTables: TableDiff[];
  addedRelationships: string[];
  removedRelationships: string[];
  changedRelationships: RelationshipDiff[];
}

const text = (v: unknown): string | null => (v === null || v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v));

function changesOf<T extends object>(before: T, after: T, props: Array<keyof T & string>): PropertyChange[] {
  const out: PropertyChange[] = [];
  for (const p of props) {
    const [a, b] = [text(before[p]), text(after[p])];
    if (a !== b) out.push({ property: p, before: a, after: b });
  }
  return out;
}

/**
 * What changed from `from` to `to`, table by table (matched by table id, so a renamed table is
 * one changed table with a `name` change; by name when an id is unknown), column by column
 * (matched by name; `order` is the 1-based column position) and relationship by relationship.
 */
export function diffDocuments(
  from: TargetSchemaDocument,
  fromIds: Record<string, string>,
  to: TargetSchemaDocument,
  toIds: Record<string, string>,
): DocumentDiff {
  const keyOf = (ids: Record<string, string>, t: TargetTable) => ids[t.name] ?? `name:${t.name}`;
  const before = new Map(from.tables.map((t) => [keyOf(fromIds, t), t]));
  const after = new Map(to.tables.map((t) => [keyOf(toIds, t), t]));
  const diff: DocumentDiff = {
    addedTables: [],
    removedTables: [],
    changedTables: [],
    addedRelationships: [],
    removedRelationships: [],
    changedRelationships: [],
  };
  for (const [k, t] of before) if (!after.has(k)) diff.removedTables.push(t.name);
  for (const [k, t] of after) {
    const old = before.get(k);
    if (!old) {
      diff.addedTables.push(t.name);
      continue;
    }
    const changes = changesOf(old, t, ['name', 'description']);
    const oldColumns = new Map(old.columns.map((c, i) => [c.name, { ...c, order: i + 1 }]));
    const newColumns = new Map(t.columns.map((c, i) => [c.name, { ...c, order: i + 1 }]));
    const td: TableDiff = { name: t.name, previousName: old.name, changes, addedColumns: [], removedColumns: [], changedColumns: [] };
    for (const name of oldColumns.keys()) if (!newColumns.has(name)) td.removedColumns.push(name);
    for (const [name, c] of newColumns) {
      const o = oldColumns.get(name);
      if (!o) td.addedColumns.push(name);
      else {
        const cc = changesOf(o, c, ['dataType', 'nullable', 'description', 'canonicalType', 'primaryKey', 'order']);
        if (cc.length) td.changedColumns.push({ name, changes: cc });
      }
    }
    if (td.changes.length || td.addedColumns.length || td.removedColumns.length || td.changedColumns.length) diff.changedTables.push(td);
  }
  const oldRels = new Map(from.relationships.map((r) => [r.name, r]));
  const newRels = new Map(to.relationships.map((r) => [r.name, r]));
  for (const name of oldRels.keys()) if (!newRels.has(name)) diff.removedRelationships.push(name);
  for (const [name, r] of newRels) {
    const o = oldRels.get(name);
    if (!o) diff.addedRelationships.push(name);
    else {
      const cc = changesOf(o, r, ['fromTable', 'fromColumns', 'toTable', 'toColumns']);
      if (cc.length) diff.changedRelationships.push({ name, changes: cc });
    }
  }
  return diff;
}
