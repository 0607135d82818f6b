import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import {
  SOURCE_SNAPSHOT_CREATED_V1,
  inDiscoveryScope,
  scopeIsEmpty,
  sourceSnapshotCreatedParts,
  type ColumnProfile,
  type DiscoveredForeignKey,
  type DiscoveredTable,
  type DiscoveryCompletedV1,
  type RowEstimateSource,
  type SourceTableDiscoveredV1,
} from '@datalinx/contracts';
import { diffSnapshots, type SnapshotDiff, type TableShape } from '../snapshots/diff';

export interface SourceSnapshotRow {
  id: string;
  orgId: string;
  workspaceId: string;
  connectionId: string;
  version: number;
  runId: string;
  tableCount: number;
  diff: SnapshotDiff;
  createdAt: Date;
}

export interface SourceTableRow {
  id: string;
  orgId: string;
  snapshotId: string;
  workspaceId: string;
  connectionId: string;
  schemaName: string;
  tableName: string;
  /** `schema.table`: what diffs and metadata name it by. */
  name: string;
  kind: 'TABLE' | 'VIEW';
  rowEstimate: number | null;
  rowEstimateSource: RowEstimateSource;
  rowEstimateNote: string | null;
  primaryKey: string[];
  foreignKeys: DiscoveredForeignKey[];
}

export interface SourceColumnRow {
  id: string;
  tableId: string;
  name: string;
  type: string;
  nullable: boolean;
  ordinal: number;
  profile: ColumnProfile | null;
}

export interface MetadataRow {
  connectionId: string;
  tableName: string;
  /** '' = the table itself. */
  columnName: string;
  description: string;
  status: 'DRAFT' | 'ACCEPTED';
  updatedAt: Date;
}

/** The completion arrived before all of its run's tables: retried (the consumer naks it) until they are staged. */
export class DiscoveryIncompleteError extends Error {
  constructor(runId: string, staged: number, expected: number) {
    super(`discovery run ${runId}: ${staged} of ${expected} tables staged so far`);
    this.name = 'DiscoveryIncompleteError';
  }
}

const SNAPSHOT_COLS = `id, org_id AS "orgId", workspace_id AS "workspaceId", connection_id AS "connectionId", version, run_id AS "runId", table_count AS "tableCount", diff, created_at AS "createdAt"`;
const TABLE_COLS = `t.id, t.org_id AS "orgId", t.snapshot_id AS "snapshotId", s.workspace_id AS "workspaceId", s.connection_id AS "connectionId",
  t.schema_name AS "schemaName", t.table_name AS "tableName", t.schema_name || '.' || t.table_name AS name, t.kind,
  t.row_estimate::float8 AS "rowEstimate", t.row_estimate_source AS "rowEstimateSource", t.row_estimate_note AS "rowEstimateNote", t.primary_key AS "primaryKey", t.foreign_keys AS "foreignKeys"`;
const COLUMN_COLS = `id, table_id AS "tableId", name, type, nullable, ordinal, profile`;
const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;
/** A table's estimate source; events of workers that predate it carry none. */
const sourceOf = (t: DiscoveredTable): RowEstimateSource => t.rowEstimateSource ?? (t.rowEstimate === null ? 'UNKNOWN' : 'STATISTICS');

/**
 * Source snapshots, their tables and columns, the staging of discovery runs and the
 * table/column metadata. Every method takes the org first and runs in that tenant's transaction
 * (row-level security is the second wall).
 */
export class SourceSnapshotDao {
  constructor(private readonly ds: DataSource) {}

  /** Stages one discovered table of a run (idempotent: the same table again overwrites itself). */
  async stage(ev: SourceTableDiscoveredV1): Promise<void> {
    await withTenant(this.ds, ev.orgId, (em) =>
      em.query(
        `INSERT INTO schema.discovery_staging (org_id, run_id, workspace_id, connection_id, table_name, body) VALUES ($1,$2,$3,$4,$5,$6)
         ON CONFLICT (run_id, table_name) DO UPDATE SET body = EXCLUDED.body, received_at = now()`,
        [ev.orgId, ev.runId, ev.workspaceId, ev.connectionId, qualified(ev.table), JSON.stringify(ev.table)],
      ),
    );
  }

  /**
   * Builds the connection's next snapshot from the run's staged tables, with the diff against the
   * latest one, in one transaction; the run's staging rows go, and the snapshot's
   * `schema.source_snapshot.created.v1` event (in parts) goes to the outbox in the same
   * transaction (the caller kicks the relay after it). Returns null when this run's
   * snapshot already exists (a redelivered completion). Throws DiscoveryIncompleteError while
   * tables are still missing.
   */
  async complete(ev: DiscoveryCompletedV1): Promise<SourceSnapshotRow | null> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      // One snapshot build per connection at a time: versions are consecutive.
      await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`source_snapshot:${ev.connectionId}`]);
      const [existing] = await em.query(`SELECT 1 FROM schema.source_snapshot WHERE org_id = $1 AND run_id = $2`, [ev.orgId, ev.runId]);
      if (existing) return null;
      const staged: Array<{ body: DiscoveredTable }> = await em.query(
        `SELECT body FROM schema.discovery_staging WHERE org_id = $1 AND run_id = $2 AND connection_id = $3 AND workspace_id = $4 ORDER BY table_name`,
        [ev.orgId, ev.runId, ev.connectionId, ev.workspaceId],
      );
      if (staged.length < ev.tableCount) throw new DiscoveryIncompleteError(ev.runId, staged.length, ev.tableCount);
      const [prev]: Array<{ id: string; version: number }> = await em.query(
        `SELECT id, version FROM schema.source_snapshot WHERE org_id = $1 AND connection_id = $2 ORDER BY version DESC LIMIT 1`,
        [ev.orgId, ev.connectionId],
      );
      // A scoped run looked only at its scope: the previous snapshot's other tables are carried over as they were.
      const carried =
        prev && !scopeIsEmpty(ev.scope) ? (await this.tablesOf(em, ev.orgId, prev.id)).filter((t) => !inDiscoveryScope(ev.scope, t.schema, t.name)) : [];
      const tables = [...staged.map((r) => r.body), ...carried].sort((a, b) => (qualified(a) < qualified(b) ? -1 : qualified(a) > qualified(b) ? 1 : 0));
      const before = prev ? await this.shapesOf(em, ev.orgId, prev.id) : [];
      const diff = diffSnapshots(
        prev?.version ?? null,
        before,
        tables.map((t) => ({ name: qualified(t), columns: t.columns })),
      );
      const [snap]: SourceSnapshotRow[] = await em.query(
        `INSERT INTO schema.source_snapshot (org_id, workspace_id, connection_id, version, run_id, table_count, diff, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING ${SNAPSHOT_COLS}`,
        [ev.orgId, ev.workspaceId, ev.connectionId, (prev?.version ?? 0) + 1, ev.runId, tables.length, JSON.stringify(diff), ev.completedAt],
      );
      if (tables.length) {
        const ids: Array<{ id: string; s: string; t: string }> = await em.query(
          `INSERT INTO schema.source_table (org_id, snapshot_id, schema_name, table_name, kind, row_estimate, row_estimate_source, row_estimate_note, primary_key, foreign_keys)
           SELECT $1, $2, x.schema_name, x.table_name, x.kind, x.row_estimate, x.row_estimate_source, x.row_estimate_note, x.primary_key, x.foreign_keys
             FROM jsonb_to_recordset($3::jsonb) AS x(schema_name text, table_name text, kind text, row_estimate bigint, row_estimate_source text, row_estimate_note text, primary_key jsonb, foreign_keys jsonb)
           RETURNING id, schema_name AS s, table_name AS t`,
          [
            ev.orgId,
            snap!.id,
            JSON.stringify(
              tables.map((t) => ({
                schema_name: t.schema,
                table_name: t.name,
                kind: t.kind,
                row_estimate: t.rowEstimate,
                row_estimate_source: sourceOf(t),
                row_estimate_note: t.rowEstimateNote ?? null,
                primary_key: t.primaryKey,
                foreign_keys: t.foreignKeys,
              })),
            ),
          ],
        );
        const idOf = new Map(ids.map((r) => [`${r.s}.${r.t}`, r.id]));
        const columns = tables.flatMap((t) =>
          t.columns.map((c) => ({
            table_id: idOf.get(qualified(t)),
            name: c.name,
            type: c.type,
            nullable: c.nullable,
            ordinal: c.ordinal,
            profile: c.profile,
          })),
        );
        // In chunks: a wide source stays within one statement's parameter and memory limits.
        for (let i = 0; i < columns.length; i += 5000) {
          await em.query(
            `INSERT INTO schema.source_column (org_id, table_id, name, type, nullable, ordinal, profile)
             SELECT $1, x.table_id, x.name, x.type, x.nullable, x.ordinal, x.profile
               FROM jsonb_to_recordset($2::jsonb) AS x(table_id uuid, name text, type text, nullable boolean, ordinal int, profile jsonb)`,
            [ev.orgId, JSON.stringify(columns.slice(i, i + 5000))],
          );
        }
      }
      await em.query(`DELETE FROM schema.discovery_staging WHERE org_id = $1 AND run_id = $2`, [ev.orgId, ev.runId]);
      // Same transaction: the snapshot never exists without its event (other services' replicas of the latest snapshot).
      const parts = sourceSnapshotCreatedParts(
        {
          orgId: ev.orgId,
          workspaceId: ev.workspaceId,
          connectionId: ev.connectionId,
          snapshotId: snap!.id,
          version: snap!.version,
          runId: ev.runId,
          createdAt: new Date(snap!.createdAt).toISOString(),
        },
        tables.map((t) => ({
          schema: t.schema,
          name: t.name,
          kind: t.kind,
          columns: t.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable })),
          primaryKey: t.primaryKey,
        })),
      );
      for (const part of parts) await enqueueOutbox(em, SOURCE_SNAPSHOT_CREATED_V1, part);
      return snap!;
    });
  }

  /** A snapshot's tables as discovery reported them (columns with their profiles), to carry over into the next one. */
  private async tablesOf(em: EntityManager, orgId: string, snapshotId: string): Promise<DiscoveredTable[]> {
    const tables: Array<{
      id: string;
      schema: string;
      name: string;
      kind: 'TABLE' | 'VIEW';
      rowEstimate: number | null;
      rowEstimateSource: RowEstimateSource;
      rowEstimateNote: string | null;
      primaryKey: string[];
      foreignKeys: DiscoveredTable['foreignKeys'];
    }> = await em.query(
      `SELECT id, schema_name AS schema, table_name AS name, kind, row_estimate::float8 AS "rowEstimate", row_estimate_source AS "rowEstimateSource",
              row_estimate_note AS "rowEstimateNote", primary_key AS "primaryKey", foreign_keys AS "foreignKeys"
         FROM schema.source_table WHERE org_id = $1 AND snapshot_id = $2`,
      [orgId, snapshotId],
    );
    if (!tables.length) return [];
    const columns: Array<{ tableId: string } & DiscoveredTable['columns'][number]> = await em.query(
      `SELECT table_id AS "tableId", name, type, nullable, ordinal, profile FROM schema.source_column WHERE org_id = $1 AND table_id = ANY($2::uuid[]) ORDER BY table_id, ordinal`,
      [orgId, tables.map((t) => t.id)],
    );
    const byTable = new Map<string, DiscoveredTable['columns']>();
    for (const { tableId, ...c } of columns) byTable.set(tableId, [...(byTable.get(tableId) ?? []), c]);
    return tables.map(({ id, ...t }) => ({ ...t, columns: byTable.get(id) ?? [] }));
  }

  private async shapesOf(em: EntityManager, orgId: string, snapshotId: string): Promise<TableShape[]> {
    const rows: Array<{ t: string; c: string | null; type: string | null; nullable: boolean | null }> = await em.query(
      `SELECT t.schema_name || '.' || t.table_name AS t, c.name AS c, c.type, c.nullable
         FROM schema.source_table t LEFT JOIN schema.source_column c ON c.table_id = t.id AND c.org_id = t.org_id
        WHERE t.org_id = $1 AND t.snapshot_id = $2 ORDER BY t.schema_name, t.table_name, c.ordinal`,
      [orgId, snapshotId],
    );
    const out = new Map<string, TableShape>();
    for (const r of rows) {
      const t = out.get(r.t) ?? { name: r.t, columns: [] };
      out.set(r.t, t);
      if (r.c !== null) t.columns.push({ name: r.c, type: r.type!, nullable: r.nullable! });
    }
    return [...out.values()];
  }

  snapshotsByIds(orgId: string, ids: readonly string[]): Promise<SourceSnapshotRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${SNAPSHOT_COLS} FROM schema.source_snapshot WHERE org_id = $1 AND id = ANY($2::uuid[])`, [orgId, [...ids]]),
    );
  }

  /** Newest first (keyset on created_at, id); one more row than asked for, to tell whether there is a next page. */
  listByConnection(orgId: string, connectionId: string, page: { first: number; after?: { createdAt: Date; id: string } }): Promise<SourceSnapshotRow[]> {
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT ${SNAPSHOT_COLS} FROM schema.source_snapshot
          WHERE org_id = $1 AND connection_id = $2 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
          ORDER BY created_at DESC, id DESC LIMIT $5`,
        [orgId, connectionId, page.after?.createdAt ?? null, page.after?.id ?? null, page.first + 1],
      ),
    );
  }

  /** The latest snapshot of each connection. */
  latestByConnections(orgId: string, connectionIds: readonly string[]): Promise<SourceSnapshotRow[]> {
    if (!connectionIds.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT DISTINCT ON (connection_id) ${SNAPSHOT_COLS} FROM schema.source_snapshot
          WHERE org_id = $1 AND connection_id = ANY($2::uuid[]) ORDER BY connection_id, version DESC`,
        [orgId, [...connectionIds]],
      ),
    );
  }

  tablesBySnapshots(orgId: string, snapshotIds: readonly string[]): Promise<SourceTableRow[]> {
    if (!snapshotIds.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT ${TABLE_COLS} FROM schema.source_table t JOIN schema.source_snapshot s ON s.id = t.snapshot_id AND s.org_id = t.org_id
          WHERE t.org_id = $1 AND t.snapshot_id = ANY($2::uuid[]) ORDER BY t.schema_name, t.table_name`,
        [orgId, [...snapshotIds]],
      ),
    );
  }

  tablesByIds(orgId: string, ids: readonly string[]): Promise<SourceTableRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT ${TABLE_COLS} FROM schema.source_table t JOIN schema.source_snapshot s ON s.id = t.snapshot_id AND s.org_id = t.org_id WHERE t.org_id = $1 AND t.id = ANY($2::uuid[])`,
        [orgId, [...ids]],
      ),
    );
  }

  columnsByTables(orgId: string, tableIds: readonly string[]): Promise<SourceColumnRow[]> {
    if (!tableIds.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${COLUMN_COLS} FROM schema.source_column WHERE org_id = $1 AND table_id = ANY($2::uuid[]) ORDER BY table_id, ordinal`, [
        orgId,
        [...tableIds],
      ]),
    );
  }

  /** Metadata of the given connections' tables (and their columns), in one query. */
  metadataByTables(orgId: string, keys: ReadonlyArray<{ connectionId: string; tableName: string }>): Promise<MetadataRow[]> {
    if (!keys.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT m.connection_id AS "connectionId", m.table_name AS "tableName", m.column_name AS "columnName", m.description, m.status, m.updated_at AS "updatedAt"
           FROM schema.table_metadata m JOIN jsonb_to_recordset($2::jsonb) AS k(c uuid, t text) ON k.c = m.connection_id AND k.t = m.table_name
          WHERE m.org_id = $1`,
        [orgId, JSON.stringify(keys.map((k) => ({ c: k.connectionId, t: k.tableName })))],
      ),
    );
  }

  async upsertMetadata(
    orgId: string,
    m: {
      workspaceId: string;
      connectionId: string;
      tableName: string;
      columnName: string;
      description: string;
      status: 'DRAFT' | 'ACCEPTED';
      updatedBy: string;
    },
  ): Promise<MetadataRow> {
    const [row] = await withTenant(this.ds, orgId, (em) =>
      em.query(
        `INSERT INTO schema.table_metadata (org_id, workspace_id, connection_id, table_name, column_name, description, status, updated_by)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
         ON CONFLICT (org_id, connection_id, table_name, column_name)
         DO UPDATE SET description = EXCLUDED.description, status = EXCLUDED.status, updated_by = EXCLUDED.updated_by, updated_at = now()
         RETURNING connection_id AS "connectionId", table_name AS "tableName", column_name AS "columnName", description, status, updated_at AS "updatedAt"`,
        [orgId, m.workspaceId, m.connectionId, m.tableName, m.columnName, m.description, m.status, m.updatedBy],
      ),
    );
    return row as MetadataRow;
  }
}
