import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: pipeline runs execute as Dagster runs (workers/src/dagster); the run records which Dagster
 * run executed it and that run's page in the Dagster UI, so a user goes from our run to Dagster's
 * logs and re-executions.
 */
export class DagsterRun1765100000000 implements MigrationInterface {
  name = 'DagsterRun1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE monitoring.run ADD COLUMN dagster_run_id text, ADD COLUMN dagster_run_url text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE monitoring.run DROP COLUMN dagster_run_id, DROP COLUMN dagster_run_url`);
  }
}
