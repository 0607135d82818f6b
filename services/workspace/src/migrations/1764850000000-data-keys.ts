import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: envelope encryption (ARCHITECTURE.md §8). Each workspace gets its own data key (AES-256),
 * stored only wrapped (sealed) by the master key (DLX_MASTER_KEY); the workspace's secrets are
 * sealed by the data key. Rotating the master key re-wraps these rows and touches no secret.
 *
 * - `master_key_id`: which master key wrapped the row (a fingerprint, never the key), so a
 *   rotation knows what is left to re-wrap and a process holding the previous key can still read.
 * - Row-level security like every tenant table. Re-wrapping after a rotation spans every tenant:
 *   `workspace.data_keys_wrapped_by(master_key_id)` (SECURITY DEFINER, answers only which
 *   workspaces of which org still need it; the owner has a SELECT-only lookup policy because FORCE
 *   binds the owner too), then each row is re-wrapped in its own tenant transaction.
 */
export class DataKeys1764850000000 implements MigrationInterface {
  name = 'DataKeys1764850000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.data_key (
      workspace_id uuid PRIMARY KEY REFERENCES workspace.workspace(id) ON DELETE CASCADE,
      org_id uuid NOT NULL,
      wrapped jsonb NOT NULL,
      master_key_id text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      rewrapped_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX data_key_master_idx ON workspace.data_key (master_key_id)`);
    await q.query(`ALTER TABLE workspace.data_key ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE workspace.data_key FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY data_key_tenant_isolation ON workspace.data_key
      USING (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)
      WITH CHECK (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)`);
    await q.query(`CREATE POLICY owner_lookup ON workspace.data_key FOR SELECT TO CURRENT_USER USING (true)`);
    await q.query(`CREATE FUNCTION workspace.data_keys_wrapped_by(p_master_key_id text) RETURNS TABLE (org_id uuid, workspace_id uuid)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
        SELECT d.org_id, d.workspace_id FROM workspace.data_key d WHERE d.master_key_id = p_master_key_id ORDER BY d.org_id, d.workspace_id
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION workspace.data_keys_wrapped_by(text)`);
    await q.query(`DROP TABLE workspace.data_key`);
  }
}
