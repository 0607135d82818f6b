import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';
import type { SnapshotTableRef, SourceSnapshotCreatedV1 } from '@datalinx/contracts';

/** A connection's latest discovered snapshot as the workspace service knows it (the replica). */
export interface DiscoveredSnapshotRef {
  connectionId: string;
  snapshotId: string;
  version: number;
  createdAt: Date;
  tables: SnapshotTableRef[];
}

/** What applying one part of an event did. */
export type SnapshotPartOutcome = 'STALE' | 'DUPLICATE' | 'RECORDED' | 'COMPLETED';

/**
 * `workspace.source_snapshot_ref` + `source_table_ref`: the replica of each connection's latest
 * source snapshot, fed by `schema.source_snapshot.created.v1` (in parts). Row-level security on
 * both tables: every method runs inside a tenant transaction for the org it names.
 */
export class SourceSnapshotRefDao {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records one part of a snapshot's event; idempotent. A part of a version no newer than the
   * connection's latest complete one is STALE (ignored), a part already recorded is a DUPLICATE.
   * The last missing part COMPLETES the version, which deletes every older version of the connection.
   */
  apply(ev: SourceSnapshotCreatedV1): Promise<SnapshotPartOutcome> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      // One writer per connection at a time: parts of two versions cannot interleave their checks.
      await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`source_snapshot_ref:${ev.connectionId}`]);
      const [latest]: Array<{ v: number | null }> = await em.query(
        `SELECT max(version) AS v FROM workspace.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND complete`,
        [ev.orgId, ev.connectionId],
      );
      if (latest?.v != null && latest.v >= ev.version) return 'STALE';
      await em.query(
        `INSERT INTO workspace.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, run_id, table_count, parts, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, connection_id, version) DO NOTHING`,
        [ev.orgId, ev.connectionId, ev.version, ev.workspaceId, ev.snapshotId, ev.runId, ev.tableCount, ev.parts, ev.createdAt],
      );
      const [row]: Array<{ received: number[] }> = await em.query(
        `SELECT received_parts AS received FROM workspace.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND version = $3 FOR UPDATE`,
        [ev.orgId, ev.connectionId, ev.version],
      );
      if (row!.received.includes(ev.part)) return 'DUPLICATE';
      if (ev.tables.length) {
        await em.query(
          `INSERT INTO workspace.source_table_ref (org_id, connection_id, version, schema_name, table_name, kind, columns, primary_key)
           SELECT $1, $2, $3, x.schema_name, x.table_name, x.kind, x.columns, ARRAY(SELECT jsonb_array_elements_text(x.primary_key))
             FROM jsonb_to_recordset($4::jsonb) AS x(schema_name text, table_name text, kind text, columns jsonb, primary_key jsonb)
           ON CONFLICT DO NOTHING`,
          [
            ev.orgId,
            ev.connectionId,
            ev.version,
            JSON.stringify(ev.tables.map((t) => ({ schema_name: t.schema, table_name: t.name, kind: t.kind, columns: t.columns, primary_key: t.primaryKey }))),
          ],
        );
      }
      const received = [...row!.received, ev.part];
      const complete = received.length >= ev.parts;
      await em.query(
        `UPDATE workspace.source_snapshot_ref SET received_parts = $4, complete = $5, recorded_at = now() WHERE org_id = $1 AND connection_id = $2 AND version = $3`,
        [ev.orgId, ev.connectionId, ev.version, received, complete],
      );
      if (!complete) return 'RECORDED';
      await em.query(`DELETE FROM workspace.source_snapshot_ref WHERE org_id = $1 AND connection_id = $2 AND version < $3`, [
        ev.orgId,
        ev.connectionId,
        ev.version,
      ]);
      return 'COMPLETED';
    });
  }

  /** The connection's latest complete snapshot with its tables, or null (never discovered, or still arriving). On a caller's transaction (`em`) it must be the same org's tenant transaction. */
  async latest(db: DataSource | EntityManager, orgId: string, connectionId: string): Promise<DiscoveredSnapshotRef | null> {
    return (await this.latestByConnections(db, orgId, [connectionId])).get(connectionId) ?? null;
  }

  /** The latest complete snapshot of each connection that has one (two queries whatever the count). */
  async latestByConnections(db: DataSource | EntityManager, orgId: string, connectionIds: readonly string[]): Promise<Map<string, DiscoveredSnapshotRef>> {
    const out = new Map<string, DiscoveredSnapshotRef>();
    if (!connectionIds.length) return out;
    return inTenant(db, orgId, async (em) => {
      const snaps: Array<{ connection_id: string; version: number; snapshot_id: string; created_at: Date }> = await em.query(
        `SELECT DISTINCT ON (connection_id) connection_id, version, snapshot_id, created_at FROM workspace.source_snapshot_ref
          WHERE org_id = $1 AND connection_id = ANY($2::uuid[]) AND complete ORDER BY connection_id, version DESC`,
        [orgId, [...connectionIds]],
      );
      if (!snaps.length) return out;
      for (const s of snaps)
        out.set(s.connection_id, { connectionId: s.connection_id, snapshotId: s.snapshot_id, version: s.version, createdAt: s.created_at, tables: [] });
      const rows: Array<{
        connection_id: string;
        schema_name: string;
        table_name: string;
        kind: 'TABLE' | 'VIEW';
        columns: SnapshotTableRef['columns'];
        primary_key: string[];
      }> = await em.query(
        `SELECT t.connection_id, t.schema_name, t.table_name, t.kind, t.columns, t.primary_key
           FROM workspace.source_table_ref t JOIN jsonb_to_recordset($2::jsonb) AS k(c uuid, v int) ON k.c = t.connection_id AND k.v = t.version
          WHERE t.org_id = $1 ORDER BY t.connection_id, t.schema_name, t.table_name`,
        [orgId, JSON.stringify(snaps.map((s) => ({ c: s.connection_id, v: s.version })))],
      );
      for (const r of rows)
        out.get(r.connection_id)!.tables.push({ schema: r.schema_name, name: r.table_name, kind: r.kind, columns: r.columns, primaryKey: r.primary_key });
      return out;
    });
  }
}
