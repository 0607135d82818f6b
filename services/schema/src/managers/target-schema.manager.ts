import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { isUuid, pageSize, UnauthenticatedError, ValidationError } from '@datalinx/common';
import { byIdLoader, hasWorkspacePermission, perViewer, type AuthenticatedViewer, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import {
  BUILT_IN_CANONICAL_TYPES,
  TARGET_SCHEMA_LIMITS,
  promotionCompletedSubject,
  targetSchemaDocument,
  type PromotionItem,
  type PromotionPartCompletedV1,
  type PromotionRequestedV1,
  type TargetColumn,
  type TargetRelationship,
  type TargetSchemaDocument,
} from '@datalinx/contracts';
import type { SchemaErrorCode, SchemaUserError as UserError } from '../errors';
import type { CustomCanonicalTypeDao } from '../daos/custom-canonical-type.dao';
import type { Actor, CurrentTargetSchema, TargetColumnRow, TargetRelationshipRow, TargetSchemaDao, TargetTableRow } from '../daos/target-schema.dao';
import {
  canonicalJson,
  diffDocuments,
  fieldPath,
  jsonPath,
  normalizeDocument,
  validateDocument,
  EMPTY_DOCUMENT,
  type DocumentDiff,
  type DocumentIssue,
} from '../target/document';
import { TARGET_TEMPLATES, templateByName, type TargetTemplate } from '../target/templates';

export interface TargetColumnInput {
  name: string;
  dataType: string;
  nullable?: boolean | null;
  description?: string | null;
  canonicalType?: string | null;
  primaryKey?: boolean | null;
  /** The column's name before this change: relationships using it follow the rename. */
  previousName?: string | null;
}
export interface CreateTargetTableInput {
  workspaceId: string;
  name?: string | null;
  description?: string | null;
  columns?: TargetColumnInput[] | null;
  fromTemplate?: string | null;
}
export interface UpdateTargetTableInput {
  id: string;
  name?: string | null;
  description?: string | null;
  columns?: TargetColumnInput[] | null;
}
export interface CreateTargetRelationshipInput {
  name?: string | null;
  fromTableId: string;
  fromColumns: string[];
  toTableId: string;
  toColumns: string[];
}

type TablePayload = { table: TargetTableRow | null; schemaVersion: number | null; errors: UserError[] };
type RelationshipPayload = { relationship: TargetRelationshipRow | null; schemaVersion: number | null; errors: UserError[] };
type DeletePayload = { deletedId: string | null; schemaVersion: number | null; errors: UserError[] };

const MAX_SUMMARY = 500;
const BUILT_IN_NAMES = new Set(BUILT_IN_CANONICAL_TYPES.map((t) => t.name));

const fail = (code: SchemaErrorCode, field: string | null, message: string): UserError[] => [{ code, field, message }];

/** Who made a change, as versions and the changed event record it. */
export function actorOf(viewer: AuthenticatedViewer): Actor {
  return viewer.kind === 'user' ? { kind: 'user', id: viewer.userId } : { kind: 'service-account', id: viewer.serviceAccountId };
}

/** "added table orders; changed table customers (added column phone)": what a version did, in a sentence. */
export function summarize(diff: DocumentDiff): string {
  const parts: string[] = [];
  for (const t of diff.addedTables) parts.push(`added table ${t}`);
  for (const t of diff.removedTables) parts.push(`removed table ${t}`);
  for (const t of diff.changedTables) {
    const what = [
      ...(t.previousName !== t.name ? [`renamed from ${t.previousName}`] : []),
      ...t.changes.filter((c) => c.property !== 'name').map((c) => `${c.property} changed`),
      ...t.addedColumns.map((c) => `added column ${c}`),
      ...t.removedColumns.map((c) => `removed column ${c}`),
      ...t.changedColumns.map((c) => `changed column ${c.name}`),
    ];
    parts.push(`changed table ${t.name} (${what.join(', ')})`);
  }
  for (const r of diff.addedRelationships) parts.push(`added relationship ${r}`);
  for (const r of diff.removedRelationships) parts.push(`removed relationship ${r}`);
  for (const r of diff.changedRelationships) parts.push(`changed relationship ${r.name}`);
  const s = parts.join('; ') || 'no change';
  return s.length > MAX_SUMMARY ? `${s.slice(0, MAX_SUMMARY - 1)}…` : s;
}

const defaultRelationshipName = (fromTable: string, fromColumns: string[]) => {
  const base = `${fromTable}_${fromColumns.join('_')}`.slice(0, 58).replace(/_+$/, '');
  return `${base}_fkey`;
};

const columnOf = (c: TargetColumnInput): TargetColumn => ({
  name: c.name.trim(),
  dataType: c.dataType.trim(),
  nullable: c.nullable ?? true,
  description: (c.description ?? '').trim(),
  canonicalType: c.canonicalType?.trim() || null,
  primaryKey: c.primaryKey ?? false,
});

interface TargetLoaders {
  tables: DataLoader<string, TargetTableRow | null>;
  columns: DataLoader<string, TargetColumnRow[]>;
  relationships: DataLoader<string, TargetRelationshipRow[]>;
}

/**
 * Target schemas as the viewer may see and change them. Reads need schemas:read in the
 * workspace, writes schemas:write (shield checks the workspace named by the arguments; every
 * method re-checks the object it touches, so a table of another org or of a workspace the viewer
 * cannot read is not found). Each change validates the whole resulting document (every problem is
 * returned, nothing is written when there is one), then writes the tables, a new version and the
 * `schema.target_schema.changed.v1` event in one transaction serialized per workspace.
 */
export class TargetSchemaManager {
  private readonly loaders: (viewer: Viewer) => TargetLoaders;

  constructor(
    private readonly dao: TargetSchemaDao,
    private readonly customTypes: CustomCanonicalTypeDao,
    private readonly ds: DataSource,
    private readonly onCommit: () => void = () => undefined,
  ) {
    this.loaders = perViewer((viewer) => {
      const org = viewer.kind === 'anonymous' ? null : viewer.orgId;
      const tables = byIdLoader((ids) =>
        org
          ? this.dao.tablesByIds(
              org,
              ids.filter((id) => isUuid(id)),
            )
          : Promise.resolve([]),
      );
      const columns = new DataLoader<string, TargetColumnRow[]>(async (ids) => {
        const rows = org ? await this.dao.columnsOfTables(org, ids) : [];
        return ids.map((id) => rows.filter((c) => c.tableId === id));
      });
      const relationships = new DataLoader<string, TargetRelationshipRow[]>(async (ids) => {
        const rows = org ? await this.dao.relationshipsOfTables(org, ids) : [];
        return ids.map((id) => rows.filter((r) => r.fromTableId === id || r.toTableId === id));
      });
      return { tables, columns, relationships };
    });
  }

  private requireViewer(viewer: Viewer): asserts viewer is AuthenticatedViewer {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  private canRead(viewer: Viewer, t: { orgId: string; workspaceId: string }): boolean {
    return viewer.kind !== 'anonymous' && t.orgId === viewer.orgId && hasWorkspacePermission(viewer, t.workspaceId, 'schemas:read');
  }

  templates(): readonly TargetTemplate[] {
    return TARGET_TEMPLATES;
  }

  async tables(viewer: Viewer, workspaceId: string): Promise<TargetTableRow[]> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'schemas:read')) return [];
    const rows = await this.dao.tablesOfWorkspace(viewer.orgId, workspaceId);
    for (const t of rows) this.loaders(viewer).tables.prime(t.id, t);
    return rows;
  }

  async table(viewer: Viewer, id: string): Promise<TargetTableRow | null> {
    if (viewer.kind === 'anonymous') return null;
    const t = await this.loaders(viewer).tables.load(id);
    return t && this.canRead(viewer, t) ? t : null;
  }

  columnsOf(viewer: Viewer, t: TargetTableRow): Promise<TargetColumnRow[]> {
    return this.loaders(viewer).columns.load(t.id);
  }

  async relationshipsOf(viewer: Viewer, t: TargetTableRow): Promise<TargetRelationshipRow[]> {
    return (await this.loaders(viewer).relationships.load(t.id)).filter((r) => r.fromTableId === t.id);
  }

  async referencedByOf(viewer: Viewer, t: TargetTableRow): Promise<TargetRelationshipRow[]> {
    return (await this.loaders(viewer).relationships.load(t.id)).filter((r) => r.toTableId === t.id);
  }

  /** A relationship's table (the caller got the relationship through a readable table). */
  async tableOfRelationship(viewer: Viewer, id: string): Promise<TargetTableRow> {
    const t = await this.loaders(viewer).tables.load(id);
    if (!t) throw new Error(`target table ${id} of a relationship is missing`);
    return t;
  }

  async versions(viewer: Viewer, workspaceId: string, first: number | null | undefined, after: string | null | undefined) {
    this.requireViewer(viewer);
    const n = pageSize(first, 100);
    let before: number | null = null;
    if (after) {
      const m = /^v([1-9][0-9]{0,9})$/.exec(Buffer.from(after, 'base64url').toString('utf8'));
      if (!m) throw new ValidationError('The cursor is not valid.', [{ field: 'after', message: 'Use pageInfo.endCursor from a previous page.' }]);
      before = Number(m[1]);
    }
    if (!hasWorkspacePermission(viewer, workspaceId, 'schemas:read')) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await this.dao.versions(viewer.orgId, workspaceId, n, before);
    const page = rows.slice(0, n);
    const last = page[page.length - 1];
    return { nodes: page, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? Buffer.from(`v${last.version}`).toString('base64url') : null } };
  }

  /** Version 0 is the empty schema before the first change. */
  private async documentAt(
    viewer: AuthenticatedViewer,
    workspaceId: string,
    version: number,
  ): Promise<{ doc: TargetSchemaDocument; ids: Record<string, string> } | null> {
    if (version === 0) return { doc: EMPTY_DOCUMENT, ids: {} };
    if (!Number.isInteger(version) || version < 0) return null;
    const v = await this.dao.version(viewer.orgId, workspaceId, version);
    return v ? { doc: v.document, ids: v.tableIds } : null;
  }

  async diff(viewer: Viewer, workspaceId: string, fromVersion: number, toVersion: number) {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'schemas:read')) return null;
    const [a, b] = [await this.documentAt(viewer, workspaceId, fromVersion), await this.documentAt(viewer, workspaceId, toVersion)];
    if (!a || !b) return null;
    return { fromVersion, toVersion, ...diffDocuments(a.doc, a.ids, b.doc, b.ids) };
  }

  /** `schema.json` of a version (the latest when null; the empty schema when there is none yet); null when that version does not exist. */
  async export(viewer: Viewer, workspaceId: string, version: number | null | undefined): Promise<string | null> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'schemas:read')) return null;
    if (version === null || version === undefined) {
      const latest = await this.dao.version(viewer.orgId, workspaceId, null);
      return canonicalJson(latest?.document ?? EMPTY_DOCUMENT);
    }
    const at = await this.documentAt(viewer, workspaceId, version);
    return at ? canonicalJson(at.doc) : null;
  }

  private async canonicalTypeExists(orgId: string): Promise<(name: string) => boolean> {
    const custom = new Set((await this.customTypes.list(orgId, {})).map((t) => t.name));
    return (name) => BUILT_IN_NAMES.has(name) || custom.has(name);
  }

  /** A write's workspace check: schemas:write and a workspace of the viewer's own org. */
  private async writeCheck(viewer: AuthenticatedViewer, workspaceId: string): Promise<UserError[] | null> {
    if (!(await this.dao.workspaceKnown(viewer.orgId, workspaceId)))
      return fail('WORKSPACE_NOT_FOUND', 'workspaceId', 'No workspace with this id in your organization.');
    if (!hasWorkspacePermission(viewer, workspaceId, 'schemas:write')) return fail('FORBIDDEN', null, 'You need schemas:write in this workspace.');
    return null;
  }

  /** A table named by id for a write: NOT_FOUND unless readable, FORBIDDEN unless writable. */
  private async writableTable(viewer: AuthenticatedViewer, id: string, field: string): Promise<{ table: TargetTableRow } | { errors: UserError[] }> {
    const t = await this.table(viewer, id);
    if (!t) return { errors: fail('TABLE_NOT_FOUND', field, 'No target table with this id, or you cannot see it.') };
    if (!hasWorkspacePermission(viewer, t.workspaceId, 'schemas:write'))
      return { errors: fail('FORBIDDEN', null, 'You need schemas:write in this workspace.') };
    return { table: t };
  }

  /**
   * Validates `next`, and when it is valid saves it as the workspace's next version. Problems
   * come back as payload errors, their field computed by `fieldOf` from the document path.
   */
  private async commit(
    viewer: AuthenticatedViewer,
    em: Parameters<Parameters<TargetSchemaDao['change']>[2]>[0],
    current: CurrentTargetSchema,
    workspaceId: string,
    next: TargetSchemaDocument,
    keepIds: Record<string, string>,
    fieldOf: (issue: DocumentIssue) => string,
    exists: (name: string) => boolean,
    summaryPrefix = '',
  ): Promise<{ errors: UserError[]; version: number | null; tableIds: Record<string, string> }> {
    const issues = validateDocument(next, exists);
    const bytes = Buffer.byteLength(JSON.stringify(normalizeDocument(next)), 'utf8');
    if (bytes > TARGET_SCHEMA_LIMITS.fileBytes)
      issues.push({
        code: 'LIMIT_EXCEEDED',
        path: [],
        message: `The target schema would take ${bytes} bytes as JSON; at most ${TARGET_SCHEMA_LIMITS.fileBytes}.`,
      });
    if (issues.length) return { errors: issues.map((i) => ({ code: i.code, field: fieldOf(i) || null, message: i.message })), version: null, tableIds: {} };
    const currentIds = Object.fromEntries(current.tables.map((t) => [t.name, t.id]));
    const nextIds: Record<string, string> = {};
    for (const t of next.tables) if (keepIds[t.name]) nextIds[t.name] = keepIds[t.name]!;
    const summary = summaryPrefix + summarize(diffDocuments(current.document, currentIds, next, nextIds));
    const saved = await this.dao.save(em, current, { orgId: viewer.orgId, workspaceId, doc: next, keepIds, actor: actorOf(viewer), summary });
    return { errors: [], version: saved.version, tableIds: saved.tableIds };
  }

  private keepAll(current: CurrentTargetSchema): Record<string, string> {
    return Object.fromEntries(current.tables.map((t) => [t.name, t.id]));
  }

  /** Errors about table `ti` are relative to the table's input (`columns.3.name`); others name their place in the schema. */
  private tableField(ti: number) {
    return (i: DocumentIssue) =>
      i.path[0] === 'tables' && i.path[1] === ti ? fieldPath(i.path.slice(2)) : i.code === 'NAME_TAKEN' && i.path[0] === 'tables' ? 'name' : fieldPath(i.path);
  }

  private async afterWrite<T>(viewer: Viewer, result: T & { errors: UserError[] }): Promise<T & { errors: UserError[] }> {
    if (!result.errors.length) {
      this.onCommit();
      this.loaders(viewer).tables.clearAll();
      this.loaders(viewer).columns.clearAll();
      this.loaders(viewer).relationships.clearAll();
    }
    return result;
  }

  async createTable(viewer: Viewer, input: CreateTargetTableInput): Promise<TablePayload> {
    this.requireViewer(viewer);
    const denied = await this.writeCheck(viewer, input.workspaceId);
    if (denied) return { table: null, schemaVersion: null, errors: denied };
    const template = input.fromTemplate ? templateByName(input.fromTemplate.trim()) : undefined;
    if (input.fromTemplate && !template)
      return {
        table: null,
        schemaVersion: null,
        errors: fail('TEMPLATE_NOT_FOUND', 'fromTemplate', `No template "${input.fromTemplate}" (see targetTemplates).`),
      };
    const name = (input.name ?? template?.name ?? '').trim();
    if (!name) return { table: null, schemaVersion: null, errors: fail('NAME_INVALID', 'name', 'Give the table a name (or start from a template).') };
    const columns = input.columns ? input.columns.map(columnOf) : (template?.columns.map((c) => ({ ...c })) ?? []);
    const description = (input.description ?? template?.description ?? '').trim();
    const exists = await this.canonicalTypeExists(viewer.orgId);
    const result = await this.dao.change(viewer.orgId, input.workspaceId, async (em, current) => {
      const tables = [...current.document.tables, { name, description, columns }];
      const relationships = [...current.document.relationships];
      if (template) relationships.push(...this.templateRelationships(template, name, columns, current.document));
      const next: TargetSchemaDocument = { ...current.document, tables, relationships };
      return this.commit(viewer, em, current, input.workspaceId, next, this.keepAll(current), this.tableField(tables.length - 1), exists);
    });
    await this.afterWrite(viewer, result);
    if (result.errors.length) return { table: null, schemaVersion: null, errors: result.errors };
    return { table: await this.loaders(viewer).tables.load(result.tableIds[name]!), schemaVersion: result.version, errors: [] };
  }

  /**
   * The template's foreign keys whose other end is in the schema (a table named like the other
   * template, with the referenced columns), in both directions: orders → customers is created
   * whichever of the two is made second.
   */
  private templateRelationships(template: TargetTemplate, name: string, columns: TargetColumn[], doc: TargetSchemaDocument): TargetRelationship[] {
    const out: TargetRelationship[] = [];
    const has = (table: { columns: TargetColumn[] } | undefined, cols: string[]) => !!table && cols.every((c) => table.columns.some((x) => x.name === c));
    const taken = new Set(doc.relationships.map((r) => r.name.toLowerCase()));
    const push = (r: Omit<TargetRelationship, 'name'>) => {
      const rel = { name: defaultRelationshipName(r.fromTable, r.fromColumns), ...r };
      if (taken.has(rel.name)) return;
      taken.add(rel.name);
      out.push({ name: rel.name, fromTable: rel.fromTable, fromColumns: rel.fromColumns, toTable: rel.toTable, toColumns: rel.toColumns });
    };
    const self = { columns };
    for (const r of template.relationships) {
      const to = r.toTemplate === template.name ? self : doc.tables.find((t) => t.name === r.toTemplate);
      if (has(self, r.columns) && has(to, r.toColumns))
        push({ fromTable: name, fromColumns: r.columns, toTable: r.toTemplate === template.name ? name : r.toTemplate, toColumns: r.toColumns });
    }
    for (const other of TARGET_TEMPLATES) {
      if (other.name === template.name) continue;
      const from = doc.tables.find((t) => t.name === other.name);
      for (const r of other.relationships)
        if (r.toTemplate === template.name && has(from, r.columns) && has(self, r.toColumns))
          push({ fromTable: other.name, fromColumns: r.columns, toTable: name, toColumns: r.toColumns });
    }
    return out;
  }

  async updateTable(viewer: Viewer, input: UpdateTargetTableInput): Promise<TablePayload> {
    this.requireViewer(viewer);
    const found = await this.writableTable(viewer, input.id, 'id');
    if ('errors' in found) return { table: null, schemaVersion: null, errors: found.errors };
    const exists = await this.canonicalTypeExists(viewer.orgId);
    const result = await this.dao.change(viewer.orgId, found.table.workspaceId, async (em, current) => {
      const row = current.tables.find((t) => t.id === input.id);
      const ti = row ? current.document.tables.findIndex((t) => t.name === row.name) : -1;
      if (!row || ti < 0) return { errors: fail('TABLE_NOT_FOUND', 'id', 'The table was deleted meanwhile.'), version: null, tableIds: {} };
      const old = current.document.tables[ti]!;
      const name = input.name?.trim() || old.name;
      const columns = input.columns ? input.columns.map(columnOf) : old.columns;
      const renamedColumns = new Map(
        (input.columns ?? []).filter((c) => c.previousName && c.previousName !== c.name).map((c) => [c.previousName!, c.name.trim()]),
      );
      const tables = current.document.tables.map((t, i) =>
        i === ti
          ? { name, description: input.description === undefined || input.description === null ? old.description : input.description.trim(), columns }
          : t,
      );
      const follow = (table: string, cols: string[]) => (table === old.name ? cols.map((c) => renamedColumns.get(c) ?? c) : cols);
      const relationships = current.document.relationships.map((r) => ({
        ...r,
        fromColumns: follow(r.fromTable, r.fromColumns),
        toColumns: follow(r.toTable, r.toColumns),
        fromTable: r.fromTable === old.name ? name : r.fromTable,
        toTable: r.toTable === old.name ? name : r.toTable,
      }));
      const keep = this.keepAll(current);
      delete keep[old.name];
      keep[name] = row.id;
      const fieldOf = (i: DocumentIssue) => (i.path[0] === 'relationships' && i.code === 'COLUMN_NOT_FOUND' ? 'columns' : this.tableField(ti)(i));
      const r = await this.commit(viewer, em, current, found.table.workspaceId, { ...current.document, tables, relationships }, keep, fieldOf, exists);
      return {
        ...r,
        errors: r.errors.map((e) =>
          e.field === 'columns' && e.code === 'COLUMN_NOT_FOUND'
            ? { ...e, message: `${e.message} A relationship uses it: delete the relationship first, or keep the column (previousName renames it).` }
            : e,
        ),
      };
    });
    await this.afterWrite(viewer, result);
    if (result.errors.length) return { table: null, schemaVersion: null, errors: result.errors };
    return { table: await this.loaders(viewer).tables.load(input.id), schemaVersion: result.version, errors: [] };
  }

  /** Deletes the table and every relationship from or to it. */
  async deleteTable(viewer: Viewer, input: { id: string }): Promise<DeletePayload> {
    this.requireViewer(viewer);
    const found = await this.writableTable(viewer, input.id, 'id');
    if ('errors' in found) return { deletedId: null, schemaVersion: null, errors: found.errors };
    const exists = await this.canonicalTypeExists(viewer.orgId);
    const result = await this.dao.change(viewer.orgId, found.table.workspaceId, async (em, current) => {
      const row = current.tables.find((t) => t.id === input.id);
      if (!row) return { errors: fail('TABLE_NOT_FOUND', 'id', 'The table was deleted meanwhile.'), version: null, tableIds: {} };
      const tables = current.document.tables.filter((t) => t.name !== row.name);
      const relationships = current.document.relationships.filter((r) => r.fromTable !== row.name && r.toTable !== row.name);
      const keep = this.keepAll(current);
      delete keep[row.name];
      return this.commit(viewer, em, current, found.table.workspaceId, { ...current.document, tables, relationships }, keep, (i) => fieldPath(i.path), exists);
    });
    await this.afterWrite(viewer, result);
    return result.errors.length
      ? { deletedId: null, schemaVersion: null, errors: result.errors }
      : { deletedId: input.id, schemaVersion: result.version, errors: [] };
  }

  async createRelationship(viewer: Viewer, input: CreateTargetRelationshipInput): Promise<RelationshipPayload> {
    this.requireViewer(viewer);
    const from = await this.writableTable(viewer, input.fromTableId, 'fromTableId');
    if ('errors' in from) return { relationship: null, schemaVersion: null, errors: from.errors };
    const to = await this.table(viewer, input.toTableId);
    if (!to || to.workspaceId !== from.table.workspaceId)
      return { relationship: null, schemaVersion: null, errors: fail('TABLE_NOT_FOUND', 'toTableId', 'No target table with this id in the same workspace.') };
    const fromColumns = input.fromColumns.map((c) => c.trim());
    const toColumns = input.toColumns.map((c) => c.trim());
    if (!fromColumns.length || fromColumns.length > 32)
      return { relationship: null, schemaVersion: null, errors: fail('RELATIONSHIP_COLUMNS_MISMATCH', 'fromColumns', 'Name 1 to 32 columns.') };
    const exists = await this.canonicalTypeExists(viewer.orgId);
    let name = '';
    const result = await this.dao.change(viewer.orgId, from.table.workspaceId, async (em, current) => {
      const fromRow = current.tables.find((t) => t.id === from.table.id);
      const toRow = current.tables.find((t) => t.id === to.id);
      if (!fromRow || !toRow)
        return { errors: fail('TABLE_NOT_FOUND', fromRow ? 'toTableId' : 'fromTableId', 'The table was deleted meanwhile.'), version: null, tableIds: {} };
      name = input.name?.trim() || defaultRelationshipName(fromRow.name, fromColumns);
      const ri = current.document.relationships.length;
      const relationships = [...current.document.relationships, { name, fromTable: fromRow.name, fromColumns, toTable: toRow.name, toColumns }];
      const fieldOf = (i: DocumentIssue) => (i.path[0] === 'relationships' && i.path[1] === ri ? fieldPath(i.path.slice(2)) : fieldPath(i.path));
      return this.commit(viewer, em, current, from.table.workspaceId, { ...current.document, relationships }, this.keepAll(current), fieldOf, exists);
    });
    await this.afterWrite(viewer, result);
    if (result.errors.length) return { relationship: null, schemaVersion: null, errors: result.errors };
    const rel = (await this.loaders(viewer).relationships.load(from.table.id)).find((r) => r.name === name) ?? null;
    return { relationship: rel, schemaVersion: result.version, errors: [] };
  }

  async deleteRelationship(viewer: Viewer, input: { id: string }): Promise<DeletePayload> {
    this.requireViewer(viewer);
    const notFound = {
      deletedId: null,
      schemaVersion: null,
      errors: fail('RELATIONSHIP_NOT_FOUND', 'id', 'No relationship with this id, or you cannot see it.'),
    };
    const rel = isUuid(input.id) ? await this.dao.relationshipById(viewer.orgId, input.id) : null;
    if (!rel || !this.canRead(viewer, rel)) return notFound;
    if (!hasWorkspacePermission(viewer, rel.workspaceId, 'schemas:write'))
      return { deletedId: null, schemaVersion: null, errors: fail('FORBIDDEN', null, 'You need schemas:write in this workspace.') };
    const exists = await this.canonicalTypeExists(viewer.orgId);
    const result = await this.dao.change(viewer.orgId, rel.workspaceId, async (em, current) => {
      const row = current.relationships.find((r) => r.id === input.id);
      if (!row) return { ...notFound, version: null, tableIds: {} };
      const relationships = current.document.relationships.filter((r) => r.name !== row.name);
      return this.commit(viewer, em, current, rel.workspaceId, { ...current.document, relationships }, this.keepAll(current), (i) => fieldPath(i.path), exists);
    });
    await this.afterWrite(viewer, result);
    return result.errors.length
      ? { deletedId: null, schemaVersion: null, errors: result.errors }
      : { deletedId: input.id, schemaVersion: result.version, errors: [] };
  }

  /**
   * importTargetSchema: `json` (a `schema.json`) replaces the workspace's whole target schema as
   * one new version. Refused before parsing when larger than TARGET_SCHEMA_LIMITS.fileBytes;
   * every problem is reported with its JSON path (`$.tables[3].columns[0].dataType`) and nothing
   * changes when there is one. Tables keep their ids when a table of the same name exists.
   */
  async importSchema(viewer: Viewer, workspaceId: string, json: string): Promise<{ schemaVersion: number | null; errors: UserError[] }> {
    this.requireViewer(viewer);
    const denied = await this.writeCheck(viewer, workspaceId);
    if (denied) return { schemaVersion: null, errors: denied };
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > TARGET_SCHEMA_LIMITS.fileBytes)
      return {
        schemaVersion: null,
        errors: fail('FILE_TOO_LARGE', 'json', `schema.json is ${bytes} bytes; at most ${TARGET_SCHEMA_LIMITS.fileBytes} (768 KiB).`),
      };
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (e) {
      return { schemaVersion: null, errors: fail('JSON_INVALID', 'json', `Not JSON: ${(e as Error).message}`) };
    }
    const tables = (raw as { tables?: unknown } | null)?.tables;
    if (Array.isArray(tables) && tables.length > TARGET_SCHEMA_LIMITS.tables)
      return { schemaVersion: null, errors: fail('LIMIT_EXCEEDED', '$.tables', `At most ${TARGET_SCHEMA_LIMITS.tables} tables (${tables.length} given).`) };
    const parsed = targetSchemaDocument.safeParse(raw);
    if (!parsed.success)
      return {
        schemaVersion: null,
        errors: parsed.error.issues.map((i) => ({ code: 'DOCUMENT_INVALID' as const, field: jsonPath(i.path), message: i.message })),
      };
    const exists = await this.canonicalTypeExists(viewer.orgId);
    const result = await this.dao.change(viewer.orgId, workspaceId, async (em, current) =>
      this.commit(viewer, em, current, workspaceId, parsed.data, this.keepAll(current), (i) => jsonPath(i.path), exists, 'imported schema.json: '),
    );
    await this.afterWrite(viewer, result);
    return { schemaVersion: result.version, errors: result.errors };
  }

  /**
   * The schema service's part of a promotion (TARGET_SCHEMAS): the source workspace's latest
   * target schema becomes a new version of the target workspace's (tables of the same name keep
   * their ids), and the answer goes to the outbox — one tenant transaction, once per promotion
   * (null for a redelivered request).
   */
  async promote(req: PromotionRequestedV1): Promise<PromotionPartCompletedV1 | null> {
    const answer = await withTenant(this.ds, req.orgId, async (em) => {
      if (!(await this.dao.claimPromotion(em, req))) return null;
      let items: PromotionItem[] = [];
      let error: string | null = null;
      const known = (await this.dao.workspaceKnown(req.orgId, req.fromWorkspaceId, em)) && (await this.dao.workspaceKnown(req.orgId, req.toWorkspaceId, em));
      if (!known) error = 'WORKSPACE_NOT_FOUND: the schema service does not know one of the workspaces (yet); promote again in a moment.';
      else {
        const source = await this.dao.version(req.orgId, req.fromWorkspaceId, null, em);
        const custom = new Set((await this.customTypes.list(req.orgId, {})).map((t) => t.name));
        const exists = (n: string) => BUILT_IN_NAMES.has(n) || custom.has(n);
        const doc = source?.document ?? EMPTY_DOCUMENT;
        // A workspace that never had a target schema has nothing to promote: the target is left as it is.
        const saved = !source
          ? { error: null }
          : await this.dao.changeIn(em, req.orgId, req.toWorkspaceId, async (tx, current) => {
              const issues = validateDocument(doc, exists);
              if (issues.length) return { error: `The source target schema is not valid: ${issues[0]!.message}` };
              const keep = this.keepAll(current);
              const summary =
                `promoted from workspace ${req.fromWorkspaceId} (version ${source?.version ?? 0}): ` +
                summarize(diffDocuments(current.document, keep, doc, keep));
              return this.dao.save(tx, current, {
                orgId: req.orgId,
                workspaceId: req.toWorkspaceId,
                doc,
                keepIds: keep,
                actor: { kind: 'system', id: null },
                summary: summary.slice(0, MAX_SUMMARY),
              });
            });
        if ('error' in saved) error = saved.error;
        else
          items = doc.tables.map((t) => ({
            kind: 'TARGET_SCHEMA' as const,
            name: t.name,
            sourceId: source?.tableIds[t.name] ?? t.name,
            targetId: saved.tableIds[t.name] ?? null,
            outcome: 'COPIED' as const,
            note: `Version ${saved.version} of the target workspace's target schema.`,
          }));
      }
      const answer: PromotionPartCompletedV1 = { v: 1, promotionId: req.promotionId, orgId: req.orgId, part: 'TARGET_SCHEMAS', items, error };
      await this.dao.recordPromotionItems(em, req.promotionId, items);
      await enqueueOutbox(em, promotionCompletedSubject('schema'), answer);
      return answer;
    });
    if (answer) this.onCommit();
    return answer;
  }
}
