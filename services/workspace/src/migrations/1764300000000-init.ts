import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql } from '@datalinx/messaging';

/**
 * Why: workspaces (isolated environments inside an org) and their connections. Secrets are a
 * sealed jsonb column, never plain text; the outbox carries jobs and events out transactionally.
 * Slugs are unique per org; connection names unique per workspace.
 */
export class Init1764300000000 implements MigrationInterface {
  name = 'Init1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.workspace (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      environment text NOT NULL CHECK (environment IN ('DEV','STAGING','PROD')),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (org_id, slug)
    )`);
    await q.query(`CREATE INDEX workspace_org_created_idx ON workspace.workspace (org_id, created_at DESC, id DESC)`);
    await q.query(`CREATE TABLE workspace.connection (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      kind text NOT NULL CHECK (kind IN ('SOURCE','DESTINATION')),
      type text NOT NULL CHECK (type IN ('POSTGRES')),
      config jsonb NOT NULL DEFAULT '{}',
      secret_sealed jsonb,
      secret_updated_at timestamptz,
      status text NOT NULL DEFAULT 'UNTESTED' CHECK (status IN ('UNTESTED','TESTING','HEALTHY','FAILING')),
      last_tested_at timestamptz,
      last_error text,
      last_test_run_id uuid,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, name)
    )`);
    await q.query(`CREATE INDEX connection_org_ws_idx ON workspace.connection (org_id, workspace_id)`);
    await q.query(`CREATE INDEX connection_last_run_idx ON workspace.connection (last_test_run_id)`);
    for (const s of outboxTableSql('workspace').up) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of outboxTableSql('workspace').down) await q.query(s);
    await q.query(`DROP TABLE workspace.connection`);
    await q.query(`DROP TABLE workspace.workspace`);
  }
}
