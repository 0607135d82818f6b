import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;

/**
 * Why: pipelines and their schedules, owned by the control plane
 * (ARCHITECTURE.md §7: "Schedules are owned by the control plane and dispatched through JOBS").
 *
 * - `pipeline`: the definition (jsonb, validated by the `pipelineDefinitionV1` contract), an
 *   optional 5-field cron evaluated in an IANA time zone, and `next_run_at`, the next slot the
 *   scheduler must fire (null when disabled or unscheduled). Names are unique per workspace.
 * - `pipeline_run`: the ledger of dispatched runs. UNIQUE (pipeline_id, scheduled_for) is what
 *   makes "each due slot fires exactly once" hold across scheduler instances and restarts: the
 *   ledger row, the job, the QUEUED run event (outbox) and the advanced `next_run_at` commit in
 *   one transaction. Manual runs have scheduled_for NULL (NULLs never clash).
 * - Both are tenant tables: ENABLE + FORCE ROW LEVEL SECURITY and the usual policy on
 *   `app.current_org_id` (see RowLevelSecurity1764600000000).
 * - The scheduler must find due pipelines of every org before it knows the org. As in auth's
 *   `tenant_of`, one SECURITY DEFINER function answers exactly that question — (org, pipeline,
 *   next_run_at) of due rows, nothing else — running as this migration's role (the owner), with
 *   a fixed search_path. FORCE binds the owner too, so the owner gets a SELECT-only
 *   `owner_due_lookup` policy; the runtime role still sees no row without a tenant. Everything
 *   after the lookup runs in a normal tenant transaction for that org.
 */
export class Pipelines1764900000000 implements MigrationInterface {
  name = 'Pipelines1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.pipeline (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
      definition jsonb NOT NULL,
      schedule text CHECK (schedule IS NULL OR length(schedule) BETWEEN 9 AND 200),
      time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64),
      enabled boolean NOT NULL DEFAULT true,
      next_run_at timestamptz(3),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now(),
      UNIQUE (workspace_id, name),
      -- Only an enabled, scheduled pipeline has a next run.
      CHECK (next_run_at IS NULL OR (enabled AND schedule IS NOT NULL))
    )`);
    await q.query(`CREATE INDEX pipeline_org_ws_created_idx ON workspace.pipeline (org_id, workspace_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX pipeline_due_idx ON workspace.pipeline (next_run_at) WHERE next_run_at IS NOT NULL`);
    await q.query(`CREATE TABLE workspace.pipeline_run (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      pipeline_id uuid NOT NULL REFERENCES workspace.pipeline(id) ON DELETE CASCADE,
      trigger text NOT NULL CHECK (trigger IN ('SCHEDULE','MANUAL')),
      scheduled_for timestamptz(3),
      run_id uuid NOT NULL UNIQUE,
      job_id uuid NOT NULL UNIQUE,
      requested_by text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      CHECK ((trigger = 'SCHEDULE') = (scheduled_for IS NOT NULL)),
      CONSTRAINT pipeline_run_slot_once UNIQUE (pipeline_id, scheduled_for)
    )`);
    await q.query(`CREATE INDEX pipeline_run_org_pipeline_idx ON workspace.pipeline_run (org_id, pipeline_id, created_at DESC)`);
    for (const t of ['pipeline', 'pipeline_run']) {
      await q.query(`ALTER TABLE workspace.${t} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE workspace.${t} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY ${t}_tenant_isolation ON workspace.${t} USING (${TENANT}) WITH CHECK (${TENANT})`);
    }
    await q.query(`CREATE POLICY owner_due_lookup ON workspace.pipeline FOR SELECT TO CURRENT_USER USING (true)`);
    await q.query(`CREATE FUNCTION workspace.due_pipelines(p_limit integer)
      RETURNS TABLE (org_id uuid, pipeline_id uuid, next_run_at timestamptz)
      LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT p.org_id, p.id, p.next_run_at
          FROM workspace.pipeline p
         WHERE p.enabled AND p.next_run_at IS NOT NULL AND p.next_run_at <= clock_timestamp()
         ORDER BY p.next_run_at, p.id
         LIMIT least(greatest(coalesce(p_limit, 100), 1), 1000)
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION workspace.due_pipelines(integer)`);
    await q.query(`DROP POLICY owner_due_lookup ON workspace.pipeline`);
    await q.query(`DROP TABLE workspace.pipeline_run`);
    await q.query(`DROP TABLE workspace.pipeline`);
  }
}
