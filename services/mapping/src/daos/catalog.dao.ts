import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';
import {
  targetSchemaDocument,
  type CanonicalTypeCreatedV1,
  type SourceSnapshotCreatedV1,
  type TargetSchemaChangedV1,
  type TargetSchemaDocument,
} from '@datalinx/contracts';

/** One source table of a connection's latest snapshot. */
export interface CatalogTable {
  connectionId: string;
  schema: string;
  name: string;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
  primaryKey: string[];
}

/** A connection's latest complete snapshot as the mapping service knows it. */
export interface CatalogSnapshot {
  connectionId: string;
  snapshotId: string;
  version: number;
  tables: CatalogTable[];
}

/** An org's own canonical type as replicated: a built-in narrowed by patterns. */
export interface CustomCanonicalTypeRef {
  name: string;
  baseType: string;
  /** Every pattern of its chain, root first. */
  patterns: string[];
}

/** A workspace's target schema as replicated (the highest version seen). */
export interface TargetSchemaRef {
  workspaceId: string;
  version: number;
  document: TargetSchemaDocument;
  /** Table name → TargetTable id. */
  tableIds: Record<string, string>;
}

/** What applying one part of a snapshot event did; `drifted`: how many mappings the completed version broke. */
export interface SnapshotPartOutcome {
  outcome: 'STALE' | 'DUPLICATE' | 'RECORDED' | 'COMPLETED';
  drifted: number;
}

/** Runs on the transaction that completes a version, with the version it replaced (null for a connection's first). */
export type OnSnapshotCompleted = (em: EntityManager, previous: CatalogSnapshot | null, current: CatalogSnapshot) => Promise<number>;

type TableRow = { connection_id: string; schema_name: string; table_name: string; columns: CatalogTable['columns']; primary_key: string[] };
const toTable = (r: TableRow): CatalogTable => ({
  connectionId: r.connection_id,
  schema: r.schema_name,
  name: r.table_name,
  columns: r.columns,
  primaryKey: r.primary_key,
});

/**
 * The replicas the mapping service compiles against: `target_schema_ref` (from
 * `schema.target_schema.changed.v1`) and `source_snapshot_ref` / `source_table_ref` (from
 * `schema.source_snapshot.created.v1`, in parts). Row-level security on every table: each method
 * runs in a tenant transaction for the org it names.
 */
export class CatalogDao {
  constructor(private readonly ds: DataSource) {}

  /** Records an org's custom canonical type; a redelivered event (same creation time or older) changes nothing. */
  applyCanonicalType(ev: CanonicalTypeCreatedV1): Promise<boolean> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO mapping.canonical_type_ref (org_id, name, base_type, patterns, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id, name) DO UPDATE SET base_type = EXCLUDED.base_type, patterns = EXCLUDED.patterns, created_at = EXCLUDED.created_at, recorded_at = now()
           WHERE mapping.canonical_type_ref.created_at < EXCLUDED.created_at
         RETURNING name`,
        [ev.orgId, ev.name, ev.baseType, ev.patterns, ev.createdAt],
      );
      return rows.length > 0;
    });
  }

  /** The org's custom canonical types by name: the built-in each normalizes with and its patterns (root first). */
  async customCanonicalTypes(db: DataSource | EntityManager, orgId: string): Promise<Map<string, CustomCanonicalTypeRef>> {
    return inTenant(db, orgId, async (em) => {
      const rows: Array<{ name: string; base_type: string; patterns: string[] }> = await em.query(
        `SELECT name, base_type, patterns FROM mapping.canonical_type_ref WHERE org_id = $1`,
        [orgId],
      );
      return new Map(rows.map((r) => [r.name, { name: r.name, baseType: r.base_type, patterns: r.patterns }]));
    });
  }

  /**
   * Keeps the highest version of a workspace's target schema; an older or equal version changes
   * nothing (false). Mappings recorded by table name only are bound to the table's id.
   */
  applyTargetSchema(ev: TargetSchemaChangedV1): Promise<boolean> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO mapping.target_schema_ref (workspace_id, org_id, version, document, table_ids) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (workspace_id) DO UPDATE SET version = EXCLUDED.version, document = EXCLUDED.document, table_ids = EXCLUDED.table_ids, recorded_at = now()
           WHERE mapping.target_schema_ref.version < EXCLUDED.version AND mapping.target_schema_ref.org_id = EXCLUDED.org_id
         RETURNING workspace_id`,
        [ev.workspaceId, ev.orgId, ev.version, JSON.stringify(ev.document), JSON.stringify(ev.tableIds)],
      );
      if (!rows.length) return false;
      // Bind by name, and follow renames by id (one mapping per table: a table already mapped is left alone).
      await em.query(
        `UPDATE mapping.mapping m SET target_table_id = t.id::uuid
           FROM jsonb_each_text($3::jsonb) AS t(name, id)
          WHERE m.org_id = $1 AND m.workspace_id = $2 AND m.target_table_id IS NULL AND m.target_table = t.name
            AND NOT EXISTS (SELECT 1 FROM mapping.mapping o WHERE o.org_id = $1 AND o.workspace_id = $2 AND o.target_table_id = t.id::uuid)`,
        [ev.orgId, ev.workspaceId, JSON.stringify(ev.tableIds)],
      );
      await em.query(
        `UPDATE mapping.mapping m SET target_table = t.name
           FROM jsonb_each_text($3::jsonb) AS t(name, id)
          WHERE m.org_id = $1 AND m.workspace_id = $2 AND m.target_table_id = t.id::uuid AND m.target_table <> t.name AND t.name ~ '^[a-z_][a-z0-9_]{0,62}$'`,
        [ev.orgId, ev.workspaceId, JSON.stringify(ev.tableIds)],
      );
      return true;
    });
  }

  /** The workspace's replicated target schema, or null when none arrived yet. */
  async targetSchema(db: DataSource | EntityManager, orgId: string, workspaceId: string): Promise<TargetSchemaRef | null> {
    return (await this.targetSchemas(db, orgId, [workspaceId])).get(workspaceId) ?? null;
  }

  async targetSchemas(db: DataSource | EntityManager, orgId: string, workspaceIds: readonly string[]): Promise<Map<string, TargetSchemaRef>> {
    const out = new Map<string, TargetSchemaRef>();
    if (!workspaceIds.length) return out;
    const rows: Array<{ workspace_id: string; version: number; document: unknown; table_ids: Record<string, string> }> = await inTenant(db, orgId, (em) =>
      em.query(`SELECT workspace_id, version, document, table_ids FROM mapping.target_schema_ref WHERE org_id = $1 AND workspace_id = ANY($2::uuid[])`, [
        orgId,
        [...workspaceIds],
      ]),
    );
    for (const r of rows)
      out.set(r.workspace_id, { workspaceId: r.workspace_id, version: r.version, document: targetSchemaDocument.parse(r.document), tableIds: r.table_ids });
    return out;
  }

  /**
   * Records one part of a snapshot event; idempotent. A part of a version no newer than the
   * connection's latest complete one is STALE, a part already recorded a DUPLICATE. The last
   * missing part COMPLETES the version: `onCompleted` runs on the same transaction with the version
   * it replaced (so two completions cannot interleave, and a redelivery cannot run it twice), then
   * the older versions are deleted.
   */
  applySnapshotPart(ev: SourceSnapshotCreatedV1, onCompleted?: OnSnapshotCompleted): Promise<SnapshotPartOutcome> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`mapping.source_snapshot_ref:${ev.connectionId}`]);
      const [latest]: Array<{ v: number | null }> = await em.query(
        `SELECT max(version) AS v FROM mapping.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND complete`,
        [ev.orgId, ev.connectionId],
      );
      if (latest?.v != null && latest.v >= ev.version) return { outcome: 'STALE', drifted: 0 };
      await em.query(
        `INSERT INTO mapping.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, parts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, connection_id, version) DO NOTHING`,
        [ev.orgId, ev.connectionId, ev.version, ev.workspaceId, ev.snapshotId, ev.parts, ev.createdAt],
      );
      const [row]: Array<{ received: number[] }> = await em.query(
        `SELECT received_parts AS received FROM mapping.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND version = $3 FOR UPDATE`,
        [ev.orgId, ev.connectionId, ev.version],
      );
      if (row!.received.includes(ev.part)) return { outcome: 'DUPLICATE', drifted: 0 };
      if (ev.tables.length) {
        await em.query(
          `INSERT INTO mapping.source_table_ref (org_id, connection_id, version, schema_name, table_name, columns, primary_key)
           SELECT $1, $2, $3, x.schema_name, x.table_name, x.columns, ARRAY(SELECT jsonb_array_elements_text(x.primary_key))
             FROM jsonb_to_recordset($4::jsonb) AS x(schema_name text, table_name text, columns jsonb, primary_key jsonb)
           ON CONFLICT DO NOTHING`,
          [
            ev.orgId,
            ev.connectionId,
            ev.version,
            JSON.stringify(ev.tables.map((t) => ({ schema_name: t.schema, table_name: t.name, columns: t.columns, primary_key: t.primaryKey }))),
          ],
        );
      }
      const received = [...row!.received, ev.part];
      const complete = received.length >= ev.parts;
      await em.query(`UPDATE mapping.source_snapshot_ref SET received_parts = $4, complete = $5 WHERE org_id = $1 AND connection_id = $2 AND version = $3`, [
        ev.orgId,
        ev.connectionId,
        ev.version,
        received,
        complete,
      ]);
      if (!complete) return { outcome: 'RECORDED', drifted: 0 };
      const previous = latest?.v != null ? await this.snapshotVersion(em, ev.orgId, ev.connectionId, latest.v) : null;
      const current = (await this.snapshotVersion(em, ev.orgId, ev.connectionId, ev.version))!;
      const drifted = onCompleted ? await onCompleted(em, previous, current) : 0;
      await em.query(`DELETE FROM mapping.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND version < $3`, [
        ev.orgId,
        ev.connectionId,
        ev.version,
      ]);
      return { outcome: 'COMPLETED', drifted };
    });
  }

  private async snapshotVersion(em: EntityManager, orgId: string, connectionId: string, version: number): Promise<CatalogSnapshot | null> {
    const [snap]: Array<{ snapshot_id: string }> = await em.query(
      `SELECT snapshot_id FROM mapping.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND version = $3`,
      [orgId, connectionId, version],
    );
    if (!snap) return null;
    const rows: TableRow[] = await em.query(
      `SELECT connection_id, schema_name, table_name, columns, primary_key FROM mapping.source_table_ref
        WHERE org_id = $1 AND connection_id = $2 AND version = $3 ORDER BY schema_name, table_name`,
      [orgId, connectionId, version],
    );
    return { connectionId, snapshotId: snap.snapshot_id, version, tables: rows.map(toTable) };
  }

  /** The latest complete snapshot of every connection of the workspace (two queries whatever the count). */
  async sourceCatalog(db: DataSource | EntityManager, orgId: string, workspaceId: string): Promise<CatalogSnapshot[]> {
    return inTenant(db, orgId, async (em) => {
      const snaps: Array<{ connection_id: string; version: number; snapshot_id: string }> = await em.query(
        `SELECT DISTINCT ON (connection_id) connection_id, version, snapshot_id FROM mapping.source_snapshot_ref
          WHERE org_id = $1 AND workspace_id = $2 AND complete ORDER BY connection_id, version DESC`,
        [orgId, workspaceId],
      );
      if (!snaps.length) return [];
      const out = new Map(
        snaps.map((s) => [s.connection_id, { connectionId: s.connection_id, snapshotId: s.snapshot_id, version: s.version, tables: [] as CatalogTable[] }]),
      );
      const rows: TableRow[] = await em.query(
        `SELECT t.connection_id, t.schema_name, t.table_name, t.columns, t.primary_key
           FROM mapping.source_table_ref t JOIN jsonb_to_recordset($2::jsonb) AS k(c uuid, v int) ON k.c = t.connection_id AND k.v = t.version
          WHERE t.org_id = $1 ORDER BY t.connection_id, t.schema_name, t.table_name`,
        [orgId, JSON.stringify(snaps.map((s) => ({ c: s.connection_id, v: s.version })))],
      );
      for (const r of rows) out.get(r.connection_id)!.tables.push(toTable(r));
      return [...out.values()];
    });
  }
}
