import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: promoting a workspace's configuration into another (dev → staging → prod) with a report.
 * The workspace service copies what it owns (connections without secrets, pipelines) in the
 * request's transaction; the parts other services own (mappings) come back as events and are
 * merged here. `expected_parts` / `completed_parts` make the merge idempotent and say when the
 * promotion is DONE. Tenant table: row-level security like the others.
 */
export class Promotions1765150000000 implements MigrationInterface {
  name = 'Promotions1765150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.promotion (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      from_workspace_id uuid NOT NULL REFERENCES workspace.workspace(id),
      to_workspace_id uuid NOT NULL REFERENCES workspace.workspace(id),
      include text[] NOT NULL,
      expected_parts text[] NOT NULL DEFAULT '{}',
      completed_parts text[] NOT NULL DEFAULT '{}',
      status text NOT NULL CHECK (status IN ('RUNNING', 'DONE')),
      items jsonb NOT NULL DEFAULT '[]',
      part_errors jsonb NOT NULL DEFAULT '[]',
      requested_by text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      completed_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX promotion_org_to_idx ON workspace.promotion (org_id, to_workspace_id, created_at DESC)`);
    for (const sql of tenantIsolationSql('workspace', 'promotion')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workspace.promotion`);
  }
}
