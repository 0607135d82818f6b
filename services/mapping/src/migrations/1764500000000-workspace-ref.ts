import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: the mapping service must know which org a workspace id belongs to before it lets a
 * mapping name it (an org ADMIN holds EDITOR on every workspace id, so the viewer's grants alone
 * cannot tell). Services never call each other: this table is a replica of the workspace ids,
 * fed by `workspace.workspace.created.v1` from the EVENTS stream (jobs/workspace-events.consumer).
 *
 * - workspace_id is the key (ids are global uuids); org_id is the tenant column.
 * - Row-level security with FORCE, the same org policy as mapping.mapping: a lookup under
 *   `withTenant` sees only the viewer's org's workspaces, so another org's id is simply absent.
 */
export class WorkspaceRef1764500000000 implements MigrationInterface {
  name = 'WorkspaceRef1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mapping.workspace_ref (
      workspace_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    for (const sql of tenantIsolationSql('mapping', 'workspace_ref')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mapping.workspace_ref`);
  }
}
