import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;
const TABLES = ['workspace', 'connection'] as const;

/**
 * Why: row-level security is the last wall of ARCHITECTURE.md §3: a DAO that forgets
 * its org filter must still see nothing of another org. Services connect as a runtime role
 * that owns no table (runMigrations grants it DML), and every DAO call runs inside `withTenant`,
 * which sets `app.current_org_id` with SET LOCAL for its transaction.
 * - FORCE makes the policy bind the table owner too, so no role but a superuser (or one with
 *   BYPASSRLS, which the migration runner refuses as runtime role) sees past it.
 * - Without a tenant set, the setting is missing or '' and the policy compares org_id with
 *   NULL: nothing is visible and nothing can be written.
 * - WITH CHECK refuses inserting or moving a row into another org than the transaction's.
 * - `workspace.outbox` has no tenant on purpose: the relay drains the events of every org to
 *   NATS, and its rows are messages already meant to leave the service.
 */
export class RowLevelSecurity1764600000000 implements MigrationInterface {
  name = 'RowLevelSecurity1764600000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of TABLES) {
      await q.query(`ALTER TABLE workspace.${t} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE workspace.${t} FORCE ROW LEVEL SECURITY`);
      await q.query(`CREATE POLICY ${t}_tenant_isolation ON workspace.${t} USING (${TENANT}) WITH CHECK (${TENANT})`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [...TABLES].reverse()) {
      await q.query(`DROP POLICY ${t}_tenant_isolation ON workspace.${t}`);
      await q.query(`ALTER TABLE workspace.${t} NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE workspace.${t} DISABLE ROW LEVEL SECURITY`);
    }
  }
}
