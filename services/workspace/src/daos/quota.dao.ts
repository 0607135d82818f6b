import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';

/** A workspace's own limits (a row exists only once an admin set them; otherwise the defaults apply). */
export interface QuotaRow {
  orgId: string;
  workspaceId: string;
  storageBytes: number;
  concurrentRuns: number;
  rowsPerRun: number;
  apiRequestsPerMinute: number;
  version: number;
  updatedAt: Date;
}

export type QuotaLimits = Pick<QuotaRow, 'storageBytes' | 'concurrentRuns' | 'rowsPerRun' | 'apiRequestsPerMinute'>;

const COLUMNS = `org_id, workspace_id, storage_bytes, concurrent_runs, rows_per_run, api_requests_per_minute, version, updated_at`;

// bigint columns come back from pg as strings; every limit is validated ≤ 2^53 − 1 on the way in.
const toRow = (r: Record<string, unknown>): QuotaRow => ({
  orgId: r.org_id as string,
  workspaceId: r.workspace_id as string,
  storageBytes: Number(r.storage_bytes),
  concurrentRuns: Number(r.concurrent_runs),
  rowsPerRun: Number(r.rows_per_run),
  apiRequestsPerMinute: Number(r.api_requests_per_minute),
  version: Number(r.version),
  updatedAt: r.updated_at as Date,
});

/**
 * `workspace.quota` rows; org id first, and it always filters (row-level security too). Methods
 * on the DataSource run in their own `withTenant` transaction; methods taking an EntityManager
 * run in the caller's, opened with `withTenant` for the same org.
 */
export class QuotaDao {
  constructor(private readonly ds: DataSource) {}

  async findByWorkspaces(orgId: string, workspaceIds: readonly string[]): Promise<QuotaRow[]> {
    if (!workspaceIds.length) return [];
    const rows: Array<Record<string, unknown>> = await withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${COLUMNS} FROM workspace.quota WHERE org_id = $1 AND workspace_id = ANY($2::uuid[])`, [orgId, [...workspaceIds]]),
    );
    return rows.map(toRow);
  }

  async find(db: DataSource | EntityManager, orgId: string, workspaceId: string): Promise<QuotaRow | null> {
    const rows: Array<Record<string, unknown>> = await inTenant(db, orgId, (em) =>
      em.query(`SELECT ${COLUMNS} FROM workspace.quota WHERE org_id = $1 AND workspace_id = $2`, [orgId, workspaceId]),
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  /**
   * Serializes dispatches of one workspace: the caller's transaction holds the workspace row
   * (FOR NO KEY UPDATE, which does not block inserts referencing it) until it commits, so the
   * count of active runs it reads cannot be raced by another dispatch. False: no such workspace
   * in this org.
   */
  async lockWorkspace(em: EntityManager, orgId: string, workspaceId: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT id FROM workspace.workspace WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE`, [orgId, workspaceId]);
    return rows.length > 0;
  }

  /** Inserts or replaces the workspace's limits; `version` grows by one per change. */
  async upsert(em: EntityManager, orgId: string, workspaceId: string, v: QuotaLimits): Promise<QuotaRow> {
    const rows: Array<Record<string, unknown>> = await em.query(
      `INSERT INTO workspace.quota (org_id, workspace_id, storage_bytes, concurrent_runs, rows_per_run, api_requests_per_minute)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (workspace_id) DO UPDATE SET
         storage_bytes = EXCLUDED.storage_bytes, concurrent_runs = EXCLUDED.concurrent_runs, rows_per_run = EXCLUDED.rows_per_run,
         api_requests_per_minute = EXCLUDED.api_requests_per_minute, version = workspace.quota.version + 1, updated_at = now()
       WHERE workspace.quota.org_id = EXCLUDED.org_id
       RETURNING ${COLUMNS}`,
      [orgId, workspaceId, v.storageBytes, v.concurrentRuns, v.rowsPerRun, v.apiRequestsPerMinute],
    );
    if (!rows[0]) throw new Error(`quota of workspace ${workspaceId} belongs to another org`);
    return toRow(rows[0]);
  }
}
