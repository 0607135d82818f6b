import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';

/**
 * `workspace.active_run`: runs dispatched by this service that have not reached a terminal
 * state (what the concurrent-runs quota counts). Org id first; inserts run in the dispatch's
 * transaction, removal in its own tenant transaction (the org of the run event).
 */
export class ActiveRunDao {
  constructor(private readonly ds: DataSource) {}

  async insert(em: EntityManager, orgId: string, r: { runId: string; workspaceId: string; kind: string }): Promise<void> {
    await em.query(`INSERT INTO workspace.active_run (run_id, org_id, workspace_id, kind) VALUES ($1, $2, $3, $4)`, [r.runId, orgId, r.workspaceId, r.kind]);
  }

  async count(em: EntityManager, orgId: string, workspaceId: string): Promise<number> {
    const [row]: Array<{ n: number }> = await em.query(`SELECT count(*)::int AS n FROM workspace.active_run WHERE org_id = $1 AND workspace_id = $2`, [
      orgId,
      workspaceId,
    ]);
    return row?.n ?? 0;
  }

  /** Active runs per workspace (one query for a page of workspaces). */
  async countByWorkspaces(orgId: string, workspaceIds: readonly string[]): Promise<Map<string, number>> {
    if (!workspaceIds.length) return new Map();
    const rows: Array<{ workspace_id: string; n: number }> = await withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT workspace_id, count(*)::int AS n FROM workspace.active_run WHERE org_id = $1 AND workspace_id = ANY($2::uuid[]) GROUP BY workspace_id`, [
        orgId,
        [...workspaceIds],
      ]),
    );
    return new Map(rows.map((r) => [r.workspace_id, r.n]));
  }

  /**
   * The run reached a terminal state: it no longer counts. Idempotent (a redelivered event, or a
   * run this service never tracked, deletes nothing). Returns how many rows went.
   */
  async remove(orgId: string, runId: string): Promise<number> {
    const [row]: Array<{ n: number }> = await withTenant(this.ds, orgId, (em) =>
      em.query(`WITH d AS (DELETE FROM workspace.active_run WHERE org_id = $1 AND run_id = $2 RETURNING 1) SELECT count(*)::int AS n FROM d`, [orgId, runId]),
    );
    return row?.n ?? 0;
  }
}
