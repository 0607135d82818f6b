import type { DataSource, EntityManager } from 'typeorm';
import { WorkspaceGrant, type WorkspaceRoleValue } from '../entities/workspace-grant.entity';

/** A user's workspace grants (copied into their access tokens). */
export class WorkspaceGrantDao {
  constructor(private readonly ds: DataSource) {}

  listByUser(orgId: string, userId: string, em: EntityManager = this.ds.manager): Promise<WorkspaceGrant[]> {
    return em.getRepository(WorkspaceGrant).find({ where: { orgId, userId }, order: { workspaceId: 'ASC' } });
  }

  /** Creates or changes a grant. Callers bump the user's epoch so older tokens stop carrying the old grant. */
  async upsert(orgId: string, userId: string, workspaceId: string, role: WorkspaceRoleValue, em: EntityManager = this.ds.manager): Promise<void> {
    await em.query(
      `INSERT INTO auth.workspace_grant (org_id, user_id, workspace_id, role) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, workspace_id) DO UPDATE SET role = EXCLUDED.role
       WHERE auth.workspace_grant.org_id = EXCLUDED.org_id`,
      [orgId, userId, workspaceId, role],
    );
  }

  async remove(orgId: string, userId: string, workspaceId: string, em: EntityManager = this.ds.manager): Promise<void> {
    await em.query(`DELETE FROM auth.workspace_grant WHERE org_id = $1 AND user_id = $2 AND workspace_id = $3`, [orgId, userId, workspaceId]);
  }
}
