import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;

/**
 * Why: the workspace lifecycle (update, archive, soft delete) and each workspace's warehouse
 * destination (ARCHITECTURE.md §7 "Warehouse layout").
 *
 * - `workspace`: `description`, `archived_at` (read-only while set), `deleted_at` (soft delete:
 *   hidden everywhere, its warehouse purged), `updated_at`. The slug stays unique among the
 *   org's live workspaces only, so a deleted workspace's slug can be used again.
 * - `warehouse`: one row per workspace, the control plane's record of where its data lives.
 *   PLATFORM = a schema `ws_<12 hex>` and a login role `dlx_ws_<12 hex>` in the platform's
 *   warehouse database, created by the `warehouse.provision` job; the role's password is sealed
 *   with the workspace's data key (AAD `warehouse:<workspaceId>`), never stored in clear.
 *   EXTERNAL = a DESTINATION POSTGRES connection of the workspace. `last_run_id` is the run whose
 *   result may still change the status (older results are stale). Tenant table: ENABLE + FORCE
 *   row-level security and the usual policy.
 * - An archived (or deleted) workspace is read-only. Managers refuse writes with a typed
 *   WORKSPACE_ARCHIVED error; `refuse_archived_workspace_writes` is the wall under them: a row of
 *   an archived workspace cannot be inserted, deleted, or changed in any column other than the
 *   ones the platform itself maintains (connection test results, the scheduler's next slot),
 *   whichever code path tries.
 */
export class Warehouse1765050000000 implements MigrationInterface {
  name = 'Warehouse1765050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE workspace.workspace
      ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
      ADD COLUMN archived_at timestamptz(3),
      ADD COLUMN deleted_at timestamptz(3),
      ADD COLUMN updated_at timestamptz(3) NOT NULL DEFAULT now()`);
    await q.query(`ALTER TABLE workspace.workspace DROP CONSTRAINT workspace_org_id_slug_key`);
    await q.query(`CREATE UNIQUE INDEX workspace_org_slug_live_uq ON workspace.workspace (org_id, slug) WHERE deleted_at IS NULL`);

    await q.query(`CREATE TABLE workspace.warehouse (
      workspace_id uuid PRIMARY KEY REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      org_id uuid NOT NULL,
      mode text NOT NULL CHECK (mode IN ('PLATFORM','EXTERNAL')),
      database text CHECK (database IS NULL OR length(database) BETWEEN 1 AND 63),
      schema_name text NOT NULL UNIQUE CHECK (schema_name ~ '^ws_[0-9a-f]{12}$'),
      role_name text NOT NULL UNIQUE CHECK (role_name ~ '^dlx_ws_[0-9a-f]{12}$'),
      password_sealed jsonb,
      connection_id uuid REFERENCES workspace.connection(id) ON DELETE RESTRICT,
      status text NOT NULL CHECK (status IN ('PENDING','READY','FAILED','PURGED')),
      last_error text,
      last_run_id uuid,
      updated_at timestamptz(3) NOT NULL DEFAULT now(),
      CHECK ((mode = 'EXTERNAL') = (connection_id IS NOT NULL))
    )`);
    await q.query(`CREATE INDEX warehouse_org_idx ON workspace.warehouse (org_id)`);
    await q.query(`CREATE INDEX warehouse_last_run_idx ON workspace.warehouse (last_run_id)`);
    await q.query(`ALTER TABLE workspace.warehouse ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspace.warehouse FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY warehouse_tenant_isolation ON workspace.warehouse USING (${TENANT}) WITH CHECK (${TENANT})`);

    // TG_ARGV: the columns the platform itself may still change on an archived workspace's rows.
    await q.query(`CREATE FUNCTION workspace.refuse_archived_workspace_writes() RETURNS trigger
      LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
      DECLARE
        ws uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.workspace_id ELSE NEW.workspace_id END;
      BEGIN
        IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
          RETURN NEW;
        END IF;
        IF EXISTS (SELECT 1 FROM workspace.workspace w WHERE w.id = ws AND (w.archived_at IS NOT NULL OR w.deleted_at IS NOT NULL)) THEN
          RAISE EXCEPTION 'workspace % is archived: unarchive it before changing its %', ws, TG_TABLE_NAME
            USING ERRCODE = 'DLX01', HINT = 'WORKSPACE_ARCHIVED';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await q.query(`CREATE TRIGGER connection_refuse_archived BEFORE INSERT OR UPDATE OR DELETE ON workspace.connection
      FOR EACH ROW EXECUTE FUNCTION workspace.refuse_archived_workspace_writes('status', 'last_tested_at', 'last_error', 'last_test_run_id', 'updated_at')`);
    const [{ has_pipeline }] = await q.query(`SELECT to_regclass('workspace.pipeline') IS NOT NULL AS has_pipeline`);
    if (has_pipeline) {
      await q.query(`CREATE TRIGGER pipeline_refuse_archived BEFORE INSERT OR UPDATE OR DELETE ON workspace.pipeline
        FOR EACH ROW EXECUTE FUNCTION workspace.refuse_archived_workspace_writes('next_run_at', 'updated_at')`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS pipeline_refuse_archived ON workspace.pipeline`);
    await q.query(`DROP TRIGGER connection_refuse_archived ON workspace.connection`);
    await q.query(`DROP FUNCTION workspace.refuse_archived_workspace_writes()`);
    await q.query(`DROP TABLE workspace.warehouse`);
    await q.query(`DROP INDEX workspace.workspace_org_slug_live_uq`);
    await q.query(`ALTER TABLE workspace.workspace ADD CONSTRAINT workspace_org_id_slug_key UNIQUE (org_id, slug)`);
    await q.query(`ALTER TABLE workspace.workspace DROP COLUMN updated_at, DROP COLUMN deleted_at, DROP COLUMN archived_at, DROP COLUMN description`);
  }
}
