import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: a mapping becomes the full description of how a target table is filled (sources, joins,
 * CTEs, one definition per target column, wildcards), versioned, and checked against what the
 * workspace's target schema and sources are. Services never read each other's tables, so the
 * target schema and the source catalog are replicas fed by EVENTS.
 *
 * - `mapping.target_table_id`: the TargetTable the mapping fills (one mapping per target table:
 *   a partial unique index). Rows written before it keep their `target_table` name and no id;
 *   the target-schema replica binds them by name when a version names that table.
 * - `mapping.spec`: the current definition (jsonb, validated by the service's zod contract);
 *   existing rows start with an empty one, and get their version 1 in `mapping_version`.
 * - `mapping_version`: every change (spec, author, time, summary); deleted with the mapping.
 * - `target_schema_ref`: the highest version of each workspace's target schema document.
 * - `source_snapshot_ref` / `source_table_ref`: each connection's latest source snapshot, in parts.
 * - `drift_notice`: one row per (mapping, snapshot) that broke the mapping: the reasons shown on
 *   its fields, and what makes `mapping.mapping.drift_detected.v1` go out once.
 * - Every table is tenant data: row-level security ENABLE + FORCE, the same org policy.
 * - Reversible: down drops the new tables and columns (specs and versions are lost).
 */
export class MappingSpec1765300000000 implements MigrationInterface {
  name = 'MappingSpec1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mapping.mapping ADD COLUMN target_table_id uuid`);
    await q.query(`ALTER TABLE mapping.mapping ADD COLUMN spec jsonb NOT NULL DEFAULT '{"sources":[],"joins":[],"ctes":[],"fields":{},"wildcards":[]}'::jsonb`);
    await q.query(`CREATE UNIQUE INDEX mapping_ws_target_uq ON mapping.mapping (org_id, workspace_id, target_table_id) WHERE target_table_id IS NOT NULL`);
    await q.query(`CREATE TABLE mapping.mapping_version (
      mapping_id uuid NOT NULL REFERENCES mapping.mapping (id) ON DELETE CASCADE,
      version int NOT NULL CHECK (version >= 1),
      org_id uuid NOT NULL,
      spec jsonb NOT NULL,
      author_kind text NOT NULL CHECK (author_kind IN ('user','service-account','system')),
      author_id uuid,
      summary text NOT NULL DEFAULT '' CHECK (length(summary) <= 500),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (mapping_id, version)
    )`);
    await q.query(`INSERT INTO mapping.mapping_version (mapping_id, version, org_id, spec, author_kind, summary, created_at)
      SELECT id, version, org_id, spec, 'system', 'Created', created_at FROM mapping.mapping`);
    await q.query(`CREATE TABLE mapping.target_schema_ref (
      workspace_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      document jsonb NOT NULL,
      table_ids jsonb NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE mapping.source_snapshot_ref (
      org_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      workspace_id uuid NOT NULL,
      snapshot_id uuid NOT NULL,
      parts int NOT NULL CHECK (parts >= 1),
      received_parts int[] NOT NULL DEFAULT '{}',
      complete boolean NOT NULL DEFAULT false,
      created_at timestamptz(3) NOT NULL,
      PRIMARY KEY (org_id, connection_id, version)
    )`);
    await q.query(`CREATE INDEX source_snapshot_ref_ws_idx ON mapping.source_snapshot_ref (org_id, workspace_id)`);
    await q.query(`CREATE TABLE mapping.source_table_ref (
      org_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      version int NOT NULL,
      schema_name text NOT NULL,
      table_name text NOT NULL,
      columns jsonb NOT NULL,
      primary_key text[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (org_id, connection_id, version, schema_name, table_name),
      FOREIGN KEY (org_id, connection_id, version) REFERENCES mapping.source_snapshot_ref (org_id, connection_id, version) ON DELETE CASCADE
    )`);
    await q.query(`CREATE TABLE mapping.drift_notice (
      mapping_id uuid NOT NULL REFERENCES mapping.mapping (id) ON DELETE CASCADE,
      snapshot_id uuid NOT NULL,
      org_id uuid NOT NULL,
      fields jsonb NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (mapping_id, snapshot_id)
    )`);
    for (const t of ['mapping_version', 'target_schema_ref', 'source_snapshot_ref', 'source_table_ref', 'drift_notice'])
      for (const sql of tenantIsolationSql('mapping', t)) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mapping.drift_notice`);
    await q.query(`DROP TABLE mapping.source_table_ref`);
    await q.query(`DROP TABLE mapping.source_snapshot_ref`);
    await q.query(`DROP TABLE mapping.target_schema_ref`);
    await q.query(`DROP TABLE mapping.mapping_version`);
    await q.query(`DROP INDEX mapping.mapping_ws_target_uq`);
    await q.query(`ALTER TABLE mapping.mapping DROP COLUMN spec, DROP COLUMN target_table_id`);
  }
}
