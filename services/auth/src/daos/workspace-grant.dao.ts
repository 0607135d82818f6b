import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { WorkspaceGrant, type WorkspaceRoleValue } from '../entities/workspace-grant.entity';
import { returningRows } from './returning';

/** A user's workspace grants (copied into their access tokens). */
export class WorkspaceGrantDao {
  constructor(private readonly ds: DataSource) {}

  listByUser(orgId: string, userId: string, em: EntityManager = this.ds.manager): Promise<WorkspaceGrant[]> {
    return inTenant(em, orgId, (tx) => tx.getRepository(WorkspaceGrant).find({ where: { orgId, userId }, order: { workspaceId: 'ASC' } }));
  }

  /** Creates or changes a grant. Callers bump the user's epoch so older tokens stop carrying the old grant. */
  async upsert(orgId: string, userId: string, workspaceId: string, role: WorkspaceRoleValue, em: EntityManager = this.ds.manager): Promise<void> {
    await inTenant(em, orgId, (tx) =>
      tx.query(
        `INSERT INTO auth.workspace_grant (org_id, user_id, workspace_id, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = EXCLUDED.role
         WHERE auth.workspace_grant.org_id = EXCLUDED.org_id`,
        [orgId, userId, workspaceId, role],
      ),
    );
  }

  async remove(orgId: string, userId: string, workspaceId: string, em: EntityManager = this.ds.manager): Promise<void> {
    await inTenant(em, orgId, (tx) =>
      tx.query(`DELETE FROM auth.workspace_grant WHERE org_id = $1 AND user_id = $2 AND workspace_id = $3`, [orgId, userId, workspaceId]),
    );
  }

  /** Replaces all of the user's grants with `grants`. Callers bump the user's epoch. */
  async replaceForUser(
    orgId: string,
    userId: string,
    grants: ReadonlyArray<{ workspaceId: string; role: WorkspaceRoleValue }>,
    em: EntityManager,
  ): Promise<void> {
    await em.query(`DELETE FROM auth.workspace_grant WHERE org_id = $1 AND user_id = $2`, [orgId, userId]);
    if (!grants.length) return;
    await em.query(`INSERT INTO auth.workspace_grant (org_id, user_id, workspace_id, role) SELECT $1, $2, unnest($3::uuid[]), unnest($4::text[])`, [
      orgId,
      userId,
      grants.map((g) => g.workspaceId),
      grants.map((g) => g.role),
    ]);
  }

  /** Turns the user's EDITOR grants into VIEWER grants (an org VIEWER holds only VIEWER grants); returns the workspace ids changed. */
  async downgradeEditors(orgId: string, userId: string, em: EntityManager): Promise<string[]> {
    const rows = returningRows<{ workspace_id: string }>(
      await em.query(`UPDATE auth.workspace_grant SET role = 'VIEWER' WHERE org_id = $1 AND user_id = $2 AND role = 'EDITOR' RETURNING workspace_id`, [
        orgId,
        userId,
      ]),
    );
    return rows.map((r) => r.workspace_id);
  }
}
