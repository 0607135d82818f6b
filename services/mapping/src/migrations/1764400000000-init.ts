import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql } from '@datalinx/messaging';

/**
 * Why: mappings are the mapping service's first table (one per target table the user fills),
 * plus the service's outbox, which carries `mapping.mapping.*` events out in the same
 * transaction as the change.
 *
 * - org_id and workspace_id are the tenant columns; every query filters on both, and the
 *   (org_id, workspace_id, created_at DESC, id DESC) index serves the newest-first keyset pages.
 * - Names are unique per workspace regardless of case (the index is the arbiter under races).
 * - Timestamps have millisecond precision: the page cursor carries a JS Date, and a
 *   microsecond value would make it skip rows created within the same millisecond.
 * - Row-level security is the last wall of ARCHITECTURE.md §3: with FORCE, even the owning role
 *   sees only the rows of the org set by `withTenant` (app.current_org_id, SET LOCAL); without
 *   that setting it sees nothing. Superusers bypass it, so production connects as a plain role.
 */
export class Init1764400000000 implements MigrationInterface {
  name = 'Init1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mapping.mapping (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      workspace_id uuid NOT NULL,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
      target_table text NOT NULL CHECK (target_table ~ '^[a-z_][a-z0-9_]{0,62}$'),
      version int NOT NULL DEFAULT 1 CHECK (version >= 1),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE UNIQUE INDEX mapping_ws_name_uq ON mapping.mapping (org_id, workspace_id, lower(name))`);
    await q.query(`CREATE INDEX mapping_org_ws_created_idx ON mapping.mapping (org_id, workspace_id, created_at DESC, id DESC)`);
    await q.query(`ALTER TABLE mapping.mapping ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE mapping.mapping FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY mapping_tenant_isolation ON mapping.mapping
      USING (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)
      WITH CHECK (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)`);
    for (const s of outboxTableSql('mapping').up) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of outboxTableSql('mapping').down) await q.query(s);
    await q.query(`DROP TABLE mapping.mapping`);
  }
}
