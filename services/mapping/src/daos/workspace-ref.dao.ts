import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';

/**
 * The mapping service's replica of the workspace ids (mapping.workspace_ref), fed by
 * `workspace.workspace.created.v1`. Every method takes the tenant (org) id first and runs inside
 * `withTenant`, so the row-level security policy sees the same org the WHERE clause names.
 */
export class WorkspaceRefDao {
  constructor(private readonly ds: DataSource) {}

  /** Records that `workspaceId` belongs to `orgId`; idempotent (a redelivery changes nothing). Returns whether a row was inserted. */
  async upsert(orgId: string, workspaceId: string): Promise<boolean> {
    return withTenant(this.ds, orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO mapping.workspace_ref (workspace_id, org_id) VALUES ($1, $2) ON CONFLICT (workspace_id) DO NOTHING RETURNING workspace_id`,
        [workspaceId, orgId],
      );
      return rows.length > 0;
    });
  }
}

/** True when the org owns the workspace; runs on the caller's (tenant-scoped) transaction. */
export async function workspaceKnown(em: EntityManager, orgId: string, workspaceId: string): Promise<boolean> {
  const rows: unknown[] = await em.query(`SELECT 1 FROM mapping.workspace_ref WHERE org_id = $1 AND workspace_id = $2`, [orgId, workspaceId]);
  return rows.length > 0;
}
