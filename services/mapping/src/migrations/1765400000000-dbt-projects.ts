import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: a workspace's dbt project (every mapping compiled, generated with its sources, staging
 * models and tests) is written to file storage as a numbered version that pipeline runs build;
 * this table is the ledger of those versions.
 *
 * - `dbt_project`: one row per published version of a workspace's project: its digest (sha256 of
 *   paths and contents; a new version is written only when it changes), file count and models.
 * - Tenant data: row-level security ENABLE + FORCE, the org policy.
 * - Reversible: down drops the table (the files stay in storage).
 */
export class DbtProjects1765400000000 implements MigrationInterface {
  name = 'DbtProjects1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mapping.dbt_project (
      workspace_id uuid NOT NULL,
      version integer NOT NULL CHECK (version >= 1),
      org_id uuid NOT NULL,
      digest text NOT NULL,
      file_count integer NOT NULL,
      models text[] NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (workspace_id, version)
    )`);
    for (const sql of tenantIsolationSql('mapping', 'dbt_project')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mapping.dbt_project`);
  }
}
