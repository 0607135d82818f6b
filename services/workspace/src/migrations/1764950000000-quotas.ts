import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;
const TABLES = ['quota', 'active_run'] as const;

/**
 * Why: per-workspace quotas (PRODUCT.md "Administration").
 *
 * - `quota`: a workspace's limits. No row means the defaults (QUOTA_DEFAULT_* env), so existing
 *   workspaces need no backfill and a changed default applies to every workspace that never
 *   set its own. `version` grows by one with every change (under the row lock of the upsert), so
 *   readers of the published API limit can tell a newer value from a late duplicate.
 * - `active_run`: the workspace's runs that have not reached a terminal state. Inserted in the
 *   same transaction as the dispatch (after counting under a lock on the workspace row, so two
 *   concurrent dispatches cannot both pass the concurrent-runs limit), deleted when RUNS reports
 *   the run SUCCESS, FAILURE or CANCELED.
 * - Both are tenant tables: ENABLE + FORCE ROW LEVEL SECURITY and the usual policy on
 *   `app.current_org_id` (see RowLevelSecurity1764600000000).
 * - Durable publication of the API limit: the gateways read it from the `dlx-quotas` KV bucket.
 *   The manager writes the bucket right after commit, and this trigger also writes every change
 *   to the outbox in the same transaction, addressed to the bucket's own subject
 *   (`$KV.dlx-quotas.api.<workspaceId>`, which is all a KV put is), so a crash or a NATS outage
 *   between commit and the direct write loses nothing (as auth's DurableRevocations1765100000000).
 *   The payload is the same JSON the fast path writes.
 */
export class Quotas1764950000000 implements MigrationInterface {
  name = 'Quotas1764950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.quota (
      workspace_id uuid PRIMARY KEY REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      org_id uuid NOT NULL,
      storage_bytes bigint NOT NULL CHECK (storage_bytes >= 0),
      concurrent_runs int NOT NULL CHECK (concurrent_runs >= 0),
      rows_per_run bigint NOT NULL CHECK (rows_per_run >= 0),
      api_requests_per_minute int NOT NULL CHECK (api_requests_per_minute >= 0),
      version bigint NOT NULL DEFAULT 1,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX quota_org_idx ON workspace.quota (org_id)`);
    await q.query(`CREATE TABLE workspace.active_run (
      run_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
      started_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX active_run_workspace_idx ON workspace.active_run (org_id, workspace_id)`);
    for (const t of TABLES) {
      await q.query(`ALTER TABLE workspace.${t} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE workspace.${t} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY ${t}_tenant_isolation ON workspace.${t} USING (${TENANT}) WITH CHECK (${TENANT})`);
    }
    await q.query(`CREATE FUNCTION workspace.outbox_api_limit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO workspace.outbox (id, subject, payload) VALUES (
          gen_random_uuid(),
          '$KV.dlx-quotas.api.' || NEW.workspace_id,
          jsonb_build_object('orgId', NEW.org_id, 'limit', NEW.api_requests_per_minute, 'version', NEW.version)
        );
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER quota_api_limit_outbox AFTER INSERT OR UPDATE ON workspace.quota
      FOR EACH ROW EXECUTE FUNCTION workspace.outbox_api_limit()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER quota_api_limit_outbox ON workspace.quota`);
    await q.query(`DROP FUNCTION workspace.outbox_api_limit()`);
    for (const t of [...TABLES].reverse()) await q.query(`DROP TABLE workspace.${t}`);
  }
}
