import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { DBT_PROJECT_PUBLISHED_V1, type DbtProjectPublishedV1 } from '@datalinx/contracts';

export interface DbtProjectRow {
  workspaceId: string;
  version: number;
  digest: string;
  fileCount: number;
  models: string[];
  createdAt: Date;
}

/** The ledger of a workspace's published dbt project versions (`mapping.dbt_project`). */
export class DbtProjectDao {
  constructor(readonly ds: DataSource) {}

  /**
   * In one transaction of the org: takes the workspace's publication lock (publishes of one
   * workspace take turns), reads the latest version, and calls `write` with the next version
   * when `digest` differs from it; then records that version and its event (outbox). Returns the
   * version now current and whether it is new.
   */
  async publish(
    orgId: string,
    workspaceId: string,
    p: { digest: string; fileCount: number; models: string[] },
    write: (version: number) => Promise<void>,
  ): Promise<{ version: number; published: boolean }> {
    return withTenant(this.ds, orgId, async (em) => {
      const key = createHash('sha256').update(`dlx-dbt-project:${workspaceId}`).digest().readBigInt64BE(0).toString();
      await em.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
      const latest = await this.latestIn(em, workspaceId);
      if (latest?.digest === p.digest) return { version: latest.version, published: false };
      const version = (latest?.version ?? 0) + 1;
      await write(version);
      await em.query(`INSERT INTO mapping.dbt_project (workspace_id, version, org_id, digest, file_count, models) VALUES ($1, $2, $3, $4, $5, $6)`, [
        workspaceId,
        version,
        orgId,
        p.digest,
        p.fileCount,
        p.models,
      ]);
      const event: DbtProjectPublishedV1 = { orgId, workspaceId, version, project: `${workspaceId}/v${version}`, digest: p.digest, models: p.models };
      await enqueueOutbox(em, DBT_PROJECT_PUBLISHED_V1, event);
      return { version, published: true };
    });
  }

  async latest(orgId: string, workspaceId: string): Promise<DbtProjectRow | null> {
    return withTenant(this.ds, orgId, (em) => this.latestIn(em, workspaceId));
  }

  private async latestIn(em: EntityManager, workspaceId: string): Promise<DbtProjectRow | null> {
    const [r] = await em.query(
      `SELECT workspace_id, version, digest, file_count, models, created_at FROM mapping.dbt_project WHERE workspace_id = $1 ORDER BY version DESC LIMIT 1`,
      [workspaceId],
    );
    return r ? { workspaceId: r.workspace_id, version: r.version, digest: r.digest, fileCount: r.file_count, models: r.models, createdAt: r.created_at } : null;
  }
}
