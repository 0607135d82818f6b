import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: the auth service must know which org a workspace id belongs to before it lets a service
 * account, an invitation or a user's grants name it (an org ADMIN could otherwise grant a
 * workspace of another org). Services never call each other: this table is a replica of the
 * workspace ids, fed by `workspace.workspace.created.v1` from EVENTS (the shared
 * `startWorkspaceReplica` consumer of @datalinx/messaging), like mapping.workspace_ref.
 *
 * - workspace_id is the key (ids are global uuids); org_id is the tenant column.
 * - Row-level security with FORCE: a lookup under `withTenant` sees only the viewer's org's
 *   workspaces, so another org's id is simply absent.
 */
export class WorkspaceRef1764750000000 implements MigrationInterface {
  name = 'WorkspaceRef1764750000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.workspace_ref (
      workspace_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX workspace_ref_org_idx ON auth.workspace_ref (org_id)`);
    for (const sql of tenantIsolationSql('auth', 'workspace_ref')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.workspace_ref`);
  }
}
