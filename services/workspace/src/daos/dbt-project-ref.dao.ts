import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { DbtProjectPublishedV1 } from '@datalinx/contracts';

/** A workspace's latest published dbt project as the workspace service knows it. */
export interface DbtProjectRef {
  workspaceId: string;
  version: number;
  /** `<workspaceId>/v<version>` under the data directory's `dbt/`. */
  project: string;
  models: string[];
}

/**
 * `workspace.dbt_project_ref`: the replica of each workspace's latest published dbt project, fed by
 * `mapping.dbt_project.published.v1`. Row-level security on the table: every method runs in the
 * org's tenant transaction.
 */
export class DbtProjectRefDao {
  constructor(private readonly ds: DataSource) {}

  /** Records the version when it is newer than the one known; idempotent. Returns whether a row changed. */
  record(ev: DbtProjectPublishedV1): Promise<boolean> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO workspace.dbt_project_ref (workspace_id, org_id, version, project, digest, models) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (workspace_id) DO UPDATE SET version = EXCLUDED.version, project = EXCLUDED.project, digest = EXCLUDED.digest,
           models = EXCLUDED.models, recorded_at = now()
         WHERE dbt_project_ref.version < EXCLUDED.version AND dbt_project_ref.org_id = EXCLUDED.org_id
         RETURNING workspace_id`,
        [ev.workspaceId, ev.orgId, ev.version, ev.project, ev.digest, ev.models],
      );
      return rows.length > 0;
    });
  }

  /** The workspace's latest project, inside the caller's tenant transaction. */
  async latest(em: EntityManager, workspaceId: string): Promise<DbtProjectRef | null> {
    const [r] = await em.query(`SELECT workspace_id, version, project, models FROM workspace.dbt_project_ref WHERE workspace_id = $1`, [workspaceId]);
    return r ? { workspaceId: r.workspace_id, version: r.version, project: r.project, models: r.models } : null;
  }
}
