import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;
const TABLES = ['discovery_staging', 'source_snapshot', 'source_table', 'source_column', 'table_metadata'];

/**
 * Why: discovery — every discovery run of a connection becomes an immutable,
 * versioned snapshot of the source's tables and columns with a diff against the previous one, so
 * "what changed in the source" is a query, not a guess; and people describe tables and columns
 * (Draft / Accepted) once, not once per snapshot.
 *
 * - `discovery_staging`: the worker's `schema.source_table.discovered.v1` events of one run,
 *   kept until its `schema.discovery.completed.v1` arrives (then the snapshot is built and the
 *   run's rows deleted). Keyed by (run, table), so a redelivered event overwrites itself.
 * - `source_snapshot`: version N per (org, connection), one per run (`run_id` unique: a
 *   redelivered completion builds nothing twice); `diff` is the change from version N-1.
 * - `source_table` / `source_column`: the snapshot's content; profiles and keys as jsonb (read
 *   whole, never queried into).
 * - `table_metadata`: description and status per (connection, table[, column]) NAME, not per
 *   snapshot row, so it carries over to every later snapshot; `column_name` '' = the table.
 * - Every table is tenant data: org_id on every row, and row-level security (ENABLE + FORCE +
 *   policy on app.current_org_id) like the other services' tables.
 */
export class Discovery1764800000000 implements MigrationInterface {
  name = 'Discovery1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE schema.discovery_staging (
      org_id uuid NOT NULL,
      run_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      table_name text NOT NULL,
      body jsonb NOT NULL,
      received_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (run_id, table_name)
    )`);
    await q.query(`CREATE TABLE schema.source_snapshot (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      run_id uuid NOT NULL UNIQUE,
      table_count int NOT NULL CHECK (table_count >= 0),
      diff jsonb NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (org_id, connection_id, version)
    )`);
    await q.query(`CREATE INDEX source_snapshot_conn_idx ON schema.source_snapshot (org_id, connection_id, created_at DESC, id DESC)`);
    await q.query(`CREATE TABLE schema.source_table (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      snapshot_id uuid NOT NULL REFERENCES schema.source_snapshot (id) ON DELETE CASCADE,
      schema_name text NOT NULL,
      table_name text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('TABLE','VIEW')),
      row_estimate bigint,
      primary_key jsonb NOT NULL DEFAULT '[]',
      foreign_keys jsonb NOT NULL DEFAULT '[]',
      UNIQUE (snapshot_id, schema_name, table_name)
    )`);
    await q.query(`CREATE TABLE schema.source_column (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      table_id uuid NOT NULL REFERENCES schema.source_table (id) ON DELETE CASCADE,
      name text NOT NULL,
      type text NOT NULL,
      nullable boolean NOT NULL,
      ordinal int NOT NULL,
      profile jsonb,
      UNIQUE (table_id, name)
    )`);
    await q.query(`CREATE TABLE schema.table_metadata (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      connection_id uuid NOT NULL,
      table_name text NOT NULL,
      column_name text NOT NULL DEFAULT '',
      description text NOT NULL CHECK (length(description) <= 4000),
      status text NOT NULL CHECK (status IN ('DRAFT','ACCEPTED')),
      updated_by text NOT NULL,
      updated_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (org_id, connection_id, table_name, column_name)
    )`);
    for (const t of TABLES) {
      await q.query(`ALTER TABLE schema.${t} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE schema.${t} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY ${t}_tenant_isolation ON schema.${t} USING (${TENANT}) WITH CHECK (${TENANT})`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [...TABLES].reverse()) await q.query(`DROP TABLE schema.${t}`);
  }
}
