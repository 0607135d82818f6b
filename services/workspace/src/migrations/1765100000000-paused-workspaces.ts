import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: an archived workspace is read-only and a deleted one is gone (1765050000000-warehouse),
 * but the scheduler and the connection re-test loop find their work through SECURITY DEFINER
 * lookups written before those states existed, so archived and deleted workspaces kept running
 * scheduled pipelines and re-tests. Both lookups now skip them. The owner (whose functions these
 * are) gets a SELECT-only lookup policy on `workspace.workspace`, as on the tables the lookups
 * already read (FORCE ROW LEVEL SECURITY binds the owner too); the runtime role is unaffected.
 */
export class PausedWorkspaces1765100000000 implements MigrationInterface {
  name = 'PausedWorkspaces1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE POLICY owner_lookup ON workspace.workspace FOR SELECT TO CURRENT_USER USING (true)`);
    await q.query(`CREATE OR REPLACE FUNCTION workspace.due_pipelines(p_limit integer)
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
    await q.query(`CREATE OR REPLACE FUNCTION workspace.connections_due_for_retest(p_interval_s integer, p_limit integer)
      RETURNS TABLE (org_id uuid, connection_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT c.org_id, c.id
          FROM workspace.connection c
          JOIN workspace.workspace w ON w.id = c.workspace_id AND w.org_id = c.org_id
         WHERE c.status = 'HEALTHY'
           AND (c.last_tested_at IS NULL OR c.last_tested_at <= clock_timestamp() - make_interval(secs => greatest(coalesce(p_interval_s, 3600), 1)))
           AND w.archived_at IS NULL AND w.deleted_at IS NULL
         ORDER BY c.last_tested_at NULLS FIRST, c.id
         LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION workspace.due_pipelines(p_limit integer)
      RETURNS TABLE (org_id uuid, pipeline_id uuid, next_run_at timestamptz)
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT p.org_id, p.id, p.next_run_at FROM workspace.pipeline p
         WHERE p.enabled AND p.next_run_at IS NOT NULL AND p.next_run_at <= clock_timestamp()
         ORDER BY p.next_run_at, p.id LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
    await q.query(`CREATE OR REPLACE FUNCTION workspace.connections_due_for_retest(p_interval_s integer, p_limit integer)
      RETURNS TABLE (org_id uuid, connection_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT c.org_id, c.id FROM workspace.connection c
         WHERE c.status = 'HEALTHY'
           AND (c.last_tested_at IS NULL OR c.last_tested_at <= clock_timestamp() - make_interval(secs => greatest(coalesce(p_interval_s, 3600), 1)))
         ORDER BY c.last_tested_at NULLS FIRST, c.id LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
    await q.query(`DROP POLICY owner_lookup ON workspace.workspace`);
  }
}
