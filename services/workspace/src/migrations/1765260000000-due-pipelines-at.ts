import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: the scheduler takes an injectable clock (tests move time instead of waiting for a minute
 * boundary), so the cross-tenant due lookup takes the instant to compare with: `p_at`, the
 * database's clock_timestamp() when null — what the scheduler passes in production, so every
 * instance still agrees on one clock. Same columns, same filters (enabled, scheduled, workspace
 * neither archived nor deleted), same SECURITY DEFINER with a fixed search_path.
 */
export class DuePipelinesAt1765260000000 implements MigrationInterface {
  name = 'DuePipelinesAt1765260000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION workspace.due_pipelines(integer)`);
    await q.query(`CREATE FUNCTION workspace.due_pipelines(p_limit integer, p_at timestamptz DEFAULT NULL)
      RETURNS TABLE (org_id uuid, pipeline_id uuid, next_run_at timestamptz)
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT p.org_id, p.id, p.next_run_at
          FROM workspace.pipeline p
          JOIN workspace.workspace w ON w.id = p.workspace_id AND w.org_id = p.org_id
         WHERE p.enabled AND p.next_run_at IS NOT NULL AND p.next_run_at <= coalesce(p_at, clock_timestamp())
           AND w.archived_at IS NULL AND w.deleted_at IS NULL
         ORDER BY p.next_run_at, p.id
         LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION workspace.due_pipelines(integer, timestamptz)`);
    await q.query(`CREATE FUNCTION workspace.due_pipelines(p_limit integer)
      RETURNS TABLE (org_id uuid, pipeline_id uuid, next_run_at timestamptz)
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT p.org_id, p.id, p.next_run_at
          FROM workspace.pipeline p
          JOIN workspace.workspace w ON w.id = p.workspace_id AND w.org_id = p.org_id
         WHERE p.enabled AND p.next_run_at IS NOT NULL AND p.next_run_at <= clock_timestamp()
           AND w.archived_at IS NULL AND w.deleted_at IS NULL
         ORDER BY p.next_run_at, p.id
         LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
  }
}
