import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: `syncConnection` checks the tables and columns it is asked for against what discovery
 * found (the connection's latest source snapshot) before it dispatches anything. Snapshots belong
 * to the schema service, and services never read each other's tables: these two tables are a
 * replica of each connection's latest snapshot, fed by `schema.source_snapshot.created.v1` from
 * EVENTS (src/jobs/source-snapshot-replica.consumer.ts), like canonical_type_ref.
 *
 * - `source_snapshot_ref`: one row per (connection, snapshot version) received. An event comes in
 *   `parts`; `received_parts` records which arrived, and `complete` is set once all did. When a
 *   version completes, older versions of the connection are deleted: only the latest complete
 *   snapshot (plus a newer one still arriving) is kept.
 * - `source_table_ref`: the tables of a version: kind, columns (name, type, nullable, as jsonb,
 *   read whole) and primary key. Deleted with their version (ON DELETE CASCADE).
 * - Tenant data: row-level security ENABLE + FORCE with the same policy as every workspace table.
 * - Reversible: down drops both tables (the replica is rebuilt by the next discovery of each connection).
 */
export class SourceSnapshotRefs1765230000000 implements MigrationInterface {
  name = 'SourceSnapshotRefs1765230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.source_snapshot_ref (
      org_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      workspace_id uuid NOT NULL,
      snapshot_id uuid NOT NULL,
      run_id uuid NOT NULL,
      table_count int NOT NULL CHECK (table_count >= 0),
      parts int NOT NULL CHECK (parts >= 1),
      received_parts int[] NOT NULL DEFAULT '{}',
      complete boolean NOT NULL DEFAULT false,
      created_at timestamptz(3) NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, connection_id, version)
    )`);
    await q.query(`CREATE TABLE workspace.source_table_ref (
      org_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      version int NOT NULL,
      schema_name text NOT NULL,
      table_name text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('TABLE','VIEW')),
      columns jsonb NOT NULL,
      primary_key text[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (org_id, connection_id, version, schema_name, table_name),
      FOREIGN KEY (org_id, connection_id, version) REFERENCES workspace.source_snapshot_ref (org_id, connection_id, version) ON DELETE CASCADE
    )`);
    for (const t of ['source_snapshot_ref', 'source_table_ref']) for (const sql of tenantIsolationSql('workspace', t)) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workspace.source_table_ref`);
    await q.query(`DROP TABLE workspace.source_snapshot_ref`);
  }
}
