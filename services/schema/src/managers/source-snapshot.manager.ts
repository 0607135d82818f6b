import DataLoader from 'dataloader';
import { decodeCursor, encodeCursor, isUuid, pageSize, UnauthenticatedError, ValidationError } from '@datalinx/common';
import { actorIdOf, byIdLoader, hasWorkspacePermission, type AuthenticatedViewer, type Viewer, perViewer } from '@datalinx/graphql-kit';
import type { SchemaUserError } from '../errors';
import type { MetadataRow, SourceColumnRow, SourceSnapshotDao, SourceSnapshotRow, SourceTableRow } from '../daos/source-snapshot.dao';

export const DESCRIPTION_MAX_LENGTH = 4000;

export type UserError = SchemaUserError & { code: 'CONNECTION_NOT_FOUND' | 'TABLE_NOT_FOUND' | 'COLUMN_NOT_FOUND' | 'DESCRIPTION_TOO_LONG' };

export interface DescribeInput {
  connectionId: string;
  table: string;
  column?: string;
  description: string;
  status: 'DRAFT' | 'ACCEPTED';
}

const metaKey = (connectionId: string, tableName: string) => `${connectionId}\n${tableName}`;

/**
 * Source snapshots as the viewer may see them. Shield only checks that the viewer is signed in
 * (a connection id or snapshot id names no workspace); every read here re-checks the object:
 * a snapshot (and its tables) is visible only in the viewer's org AND with schemas:read in its
 * workspace — otherwise it is null / absent (not found = not yours). Describing needs
 * schemas:write in the workspace of the connection's latest snapshot. Every lookup is batched
 * per request (DataLoader): a snapshot with all its tables, columns and metadata costs a
 * constant number of queries.
 */
/** One request's batched lookups (per viewer: every one is scoped to the viewer's org). */
interface SnapshotLoaders {
  snapshots: DataLoader<string, SourceSnapshotRow | null>;
  tables: DataLoader<string, SourceTableRow | null>;
  tablesBySnapshot: DataLoader<string, SourceTableRow[]>;
  columnsByTable: DataLoader<string, SourceColumnRow[]>;
  metadata: DataLoader<string, MetadataRow[]>;
}

export class SourceSnapshotManager {
  private readonly loaders: (viewer: Viewer) => SnapshotLoaders;

  constructor(private readonly dao: SourceSnapshotDao) {
    this.loaders = perViewer((viewer) => this.newLoaders(viewer));
  }

  private newLoaders(viewer: Viewer): SnapshotLoaders {
    const org = () => (viewer.kind === 'anonymous' ? null : viewer.orgId);
    const tables = byIdLoader((ids: readonly string[]) => {
      const o = org();
      const valid = ids.filter((id) => isUuid(id));
      return o ? this.dao.tablesByIds(o, valid) : Promise.resolve([]);
    });
    const snapshots = byIdLoader((ids) => {
      const o = org();
      const valid = ids.filter((id) => isUuid(id));
      return o ? this.dao.snapshotsByIds(o, valid) : Promise.resolve([]);
    });
    const tablesBySnapshot = new DataLoader<string, SourceTableRow[]>(async (ids) => {
      const o = org();
      const rows = o ? await this.dao.tablesBySnapshots(o, ids) : [];
      for (const t of rows) tables.prime(t.id, t);
      return ids.map((id) => rows.filter((t) => t.snapshotId === id));
    });
    const columnsByTable = new DataLoader<string, SourceColumnRow[]>(async (ids) => {
      const o = org();
      const rows = o ? await this.dao.columnsByTables(o, ids) : [];
      return ids.map((id) => rows.filter((c) => c.tableId === id));
    });
    const metadata = new DataLoader<string, MetadataRow[]>(async (keys) => {
      const o = org();
      const pairs = keys.map((k) => {
        const [connectionId, tableName] = k.split('\n') as [string, string];
        return { connectionId, tableName };
      });
      const rows = o ? await this.dao.metadataByTables(o, pairs) : [];
      return keys.map((k) => rows.filter((r) => metaKey(r.connectionId, r.tableName) === k));
    });
    return { snapshots, tables, tablesBySnapshot, columnsByTable, metadata };
  }

  private requireViewer(viewer: Viewer): asserts viewer is AuthenticatedViewer {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  private canRead(viewer: Viewer, s: { orgId: string; workspaceId: string }): boolean {
    return viewer.kind !== 'anonymous' && s.orgId === viewer.orgId && hasWorkspacePermission(viewer, s.workspaceId, 'schemas:read');
  }

  async snapshot(viewer: Viewer, id: string): Promise<SourceSnapshotRow | null> {
    if (viewer.kind === 'anonymous') return null;
    const s = await this.loaders(viewer).snapshots.load(id);
    return s && this.canRead(viewer, s) ? s : null;
  }

  async table(viewer: Viewer, id: string): Promise<SourceTableRow | null> {
    if (viewer.kind === 'anonymous') return null;
    const t = await this.loaders(viewer).tables.load(id);
    return t && this.canRead(viewer, t) ? t : null;
  }

  async list(viewer: Viewer, connectionId: string, first: number | null | undefined, after: string | null | undefined) {
    this.requireViewer(viewer);
    if (!isUuid(connectionId)) throw new ValidationError('The connection id is not valid.', [{ field: 'connectionId', message: 'a connection id' }]);
    const n = pageSize(first, 100);
    const rows = await this.dao.listByConnection(viewer.orgId, connectionId, { first: n, after: decodeCursor(after) });
    const page = rows.slice(0, n);
    // A connection's snapshots all belong to its workspace: without schemas:read there, none is shown.
    if (page.some((s) => !this.canRead(viewer, s))) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    for (const s of page) this.loaders(viewer).snapshots.prime(s.id, s);
    const last = page[page.length - 1];
    return { nodes: page, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(new Date(last.createdAt), last.id) : null } };
  }

  /** Tables of a snapshot the caller already got through this manager (so already checked). */
  tablesOf(viewer: Viewer, s: SourceSnapshotRow): Promise<SourceTableRow[]> {
    return this.loaders(viewer).tablesBySnapshot.load(s.id);
  }

  async snapshotOf(viewer: Viewer, t: SourceTableRow): Promise<SourceSnapshotRow> {
    const s = await this.loaders(viewer).snapshots.load(t.snapshotId);
    if (!s) throw new Error(`snapshot ${t.snapshotId} of table ${t.id} is missing`);
    return s;
  }

  columnsOf(viewer: Viewer, t: SourceTableRow): Promise<SourceColumnRow[]> {
    return this.loaders(viewer).columnsByTable.load(t.id);
  }

  async tableMetadata(viewer: Viewer, t: SourceTableRow): Promise<MetadataRow | null> {
    return (await this.loaders(viewer).metadata.load(metaKey(t.connectionId, t.name))).find((m) => m.columnName === '') ?? null;
  }

  async columnMetadata(viewer: Viewer, c: SourceColumnRow): Promise<MetadataRow | null> {
    const t = await this.loaders(viewer).tables.load(c.tableId);
    if (!t) return null;
    return (await this.loaders(viewer).metadata.load(metaKey(t.connectionId, t.name))).find((m) => m.columnName === c.name) ?? null;
  }

  /**
   * Describes a table (no `column`) or a column of the connection's latest snapshot. The
   * description is keyed by connection and names, so it stays on the table or column in every
   * later snapshot that still has it.
   */
  async describe(viewer: Viewer, input: DescribeInput): Promise<{ table: SourceTableRow | null; errors: UserError[] }> {
    this.requireViewer(viewer);
    const notFound: UserError = {
      code: 'CONNECTION_NOT_FOUND',
      field: 'connectionId',
      message: 'No discovered connection with this id, or you cannot describe its tables.',
    };
    if (!isUuid(input.connectionId)) return { table: null, errors: [notFound] };
    const [latest] = await this.dao.latestByConnections(viewer.orgId, [input.connectionId]);
    if (!latest || latest.orgId !== viewer.orgId || !hasWorkspacePermission(viewer, latest.workspaceId, 'schemas:write'))
      return { table: null, errors: [notFound] };
    const tables = await this.tablesOf(viewer, latest);
    const table = tables.find((t) => t.name === input.table.trim());
    if (!table)
      return {
        table: null,
        errors: [
          {
            code: 'TABLE_NOT_FOUND',
            field: 'table',
            message: `The latest snapshot (version ${latest.version}) has no table "${input.table}". Use schema.table.`,
          },
        ],
      };
    const column = input.column?.trim();
    if (column !== undefined && !(await this.columnsOf(viewer, table)).some((c) => c.name === column)) {
      return { table: null, errors: [{ code: 'COLUMN_NOT_FOUND', field: 'column', message: `Table "${table.name}" has no column "${input.column}".` }] };
    }
    const description = input.description.trim();
    if ([...description].length > DESCRIPTION_MAX_LENGTH) {
      return { table: null, errors: [{ code: 'DESCRIPTION_TOO_LONG', field: 'description', message: `Use at most ${DESCRIPTION_MAX_LENGTH} characters.` }] };
    }
    await this.dao.upsertMetadata(viewer.orgId, {
      workspaceId: latest.workspaceId,
      connectionId: latest.connectionId,
      tableName: table.name,
      columnName: column ?? '',
      description,
      status: input.status,
      updatedBy: actorIdOf(viewer),
    });
    this.loaders(viewer).metadata.clear(metaKey(table.connectionId, table.name));
    return { table, errors: [] };
  }
}
