import { isUuid } from '@datalinx/common';
import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';

/**
 * The auth service's replica of workspace ownership (auth.workspace_ref), fed by
 * `workspace.workspace.created.v1`. Row-level security on the table: every method runs inside a
 * tenant transaction (`withTenant`/`inTenant`) for the org it names.
 */
export class WorkspaceRefDao {
  constructor(private readonly ds: DataSource) {}

  /** Records that `workspaceId` belongs to `orgId`; idempotent. Returns whether a row was inserted. */
  upsert(orgId: string, workspaceId: string): Promise<boolean> {
    return withTenant(this.ds, orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO auth.workspace_ref (workspace_id, org_id) VALUES ($1, $2) ON CONFLICT (workspace_id) DO NOTHING RETURNING workspace_id`,
        [workspaceId, orgId],
      );
      return rows.length > 0;
    });
  }

  /**
   * Which of `ids` are workspaces of `orgId`. On a caller's transaction (`em`) it must have been
   * opened with `withTenant` for the same org. Ids that are not UUIDs are simply not known.
   */
  known(orgId: string, ids: readonly string[], em?: EntityManager): Promise<Set<string>> {
    const uuids = [...new Set(ids.filter((id) => isUuid(id)))];
    if (!uuids.length) return Promise.resolve(new Set());
    return inTenant(em ?? this.ds, orgId, async (tx) => {
      const rows: Array<{ workspace_id: string }> = await tx.query(
        `SELECT workspace_id FROM auth.workspace_ref WHERE org_id = $1 AND workspace_id = ANY($2::uuid[])`,
        [orgId, uuids],
      );
      return new Set(rows.map((r) => r.workspace_id));
    });
  }
}
