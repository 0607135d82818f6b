import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: a pipeline run builds its workspace's dbt project, which the mapping service publishes to
 * file storage as numbered versions (`mapping.dbt_project.published.v1`). Services never read each
 * other's tables: this is the replica of each workspace's latest published version, fed by that
 * event (src/jobs/dbt-project-replica.consumer.ts), read when a run is dispatched.
 *
 * - `dbt_project_ref`: one row per workspace: the latest version, its directory (`<workspaceId>/v<n>`
 *   under the data directory's `dbt/`), digest and models.
 * - Tenant data: row-level security ENABLE + FORCE with the same policy as every workspace table.
 * - Reversible: down drops the table (the next publication fills it again).
 */
export class DbtProjectRefs1765400000000 implements MigrationInterface {
  name = 'DbtProjectRefs1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.dbt_project_ref (
      workspace_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      version int NOT NULL CHECK (version >= 1),
      project text NOT NULL,
      digest text NOT NULL,
      models text[] NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    for (const sql of tenantIsolationSql('workspace', 'dbt_project_ref')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workspace.dbt_project_ref`);
  }
}
