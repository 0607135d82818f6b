import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

const TABLES = ['workspace_ref', 'target_table', 'target_column', 'target_relationship', 'target_schema_version', 'promotion_applied'];

/**
 * Why: target schemas — the clean tables a data team designs per workspace (columns with data
 * type, nullability, description, canonical type, primary key; foreign keys between tables),
 * versioned as whole documents so every change can be listed, diffed, exported and promoted.
 *
 * - `workspace_ref`: the workspaces of each org (replica of `workspace.workspace.created.v1`),
 *   so a write names a workspace of the viewer's own org (an org ADMIN's role covers any id).
 * - `target_table` / `target_column` / `target_relationship`: the current state. Columns are
 *   rewritten as a whole list per change (`position` = column order); relationships reference
 *   tables by id (a renamed table keeps them; a deleted one takes them along).
 * - `target_schema_version`: version N of a workspace's target schema, the whole document
 *   (jsonb), the table ids by name, the author and a summary. Versions are never rewritten.
 * - `promotion_applied`: promotions this service has answered (a redelivered request copies nothing twice).
 * - Every table is tenant data: org_id on every row and row-level security like the others.
 */
export class TargetSchemas1765300000000 implements MigrationInterface {
  name = 'TargetSchemas1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE schema.workspace_ref (
      workspace_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX workspace_ref_org_idx ON schema.workspace_ref (org_id)`);
    await q.query(`CREATE TABLE schema.target_table (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      name text NOT NULL CHECK (name ~ '^[a-z_][a-z0-9_]*$' AND octet_length(name) <= 63),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
      position int NOT NULL,
      version int NOT NULL DEFAULT 1 CHECK (version >= 1),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE UNIQUE INDEX target_table_name_idx ON schema.target_table (org_id, workspace_id, lower(name))`);
    await q.query(`CREATE TABLE schema.target_column (
      org_id uuid NOT NULL,
      table_id uuid NOT NULL REFERENCES schema.target_table (id) ON DELETE CASCADE,
      position int NOT NULL,
      name text NOT NULL,
      data_type text NOT NULL,
      nullable boolean NOT NULL,
      description text NOT NULL DEFAULT '',
      canonical_type text,
      primary_key boolean NOT NULL DEFAULT false,
      PRIMARY KEY (table_id, position)
    )`);
    await q.query(`CREATE UNIQUE INDEX target_column_name_idx ON schema.target_column (table_id, lower(name))`);
    await q.query(`CREATE TABLE schema.target_relationship (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      name text NOT NULL,
      position int NOT NULL,
      from_table_id uuid NOT NULL REFERENCES schema.target_table (id) ON DELETE CASCADE,
      from_columns text[] NOT NULL,
      to_table_id uuid NOT NULL REFERENCES schema.target_table (id) ON DELETE CASCADE,
      to_columns text[] NOT NULL,
      CHECK (cardinality(from_columns) = cardinality(to_columns) AND cardinality(from_columns) >= 1)
    )`);
    await q.query(`CREATE UNIQUE INDEX target_relationship_name_idx ON schema.target_relationship (org_id, workspace_id, lower(name))`);
    await q.query(`CREATE INDEX target_relationship_to_idx ON schema.target_relationship (to_table_id)`);
    await q.query(`CREATE INDEX target_relationship_from_idx ON schema.target_relationship (from_table_id)`);
    await q.query(`CREATE TABLE schema.target_schema_version (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      document jsonb NOT NULL,
      table_ids jsonb NOT NULL,
      summary text NOT NULL,
      actor_kind text NOT NULL CHECK (actor_kind IN ('user','service-account','system')),
      actor_id uuid,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (org_id, workspace_id, version)
    )`);
    await q.query(`CREATE TABLE schema.promotion_applied (
      promotion_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      from_workspace_id uuid NOT NULL,
      to_workspace_id uuid NOT NULL,
      items jsonb NOT NULL DEFAULT '[]',
      applied_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    for (const t of TABLES) for (const sql of tenantIsolationSql('schema', t)) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [...TABLES].reverse()) await q.query(`DROP TABLE schema.${t}`);
  }
}
