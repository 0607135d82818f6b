import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `nullif(current_setting('app.current_org_id', true), '')::uuid`;
const RUN_OF_TENANT = `EXISTS (SELECT 1 FROM monitoring.run r WHERE r.id = run_step.run_id AND r.org_id = ${TENANT})`;

/**
 * Why: row-level security is the last wall of ARCHITECTURE.md §3: a DAO that forgets
 * its org filter must still see nothing of another org. Services connect as a runtime role
 * that owns no table (runMigrations grants it DML); every DAO call, the RUNS consumer's
 * included (it takes the org from the event), runs inside `withTenant`, which sets
 * `app.current_org_id` with SET LOCAL for its transaction. FORCE makes the policies bind the
 * owner too; without a tenant set nothing is visible or writable.
 * - `run`: policy on its org_id.
 * - `run_step` has no org_id: a step belongs to its run (FK, cascade), and its policy goes
 *   through the run — visible and writable exactly when the run is the transaction's org's.
 *   The run lookup is by primary key; a copied org_id column would be a second truth to keep
 *   in step for no gain in isolation.
 * - `consumed_event` gets no policy: it is the RUNS consumer's idempotency ledger, event ids
 *   and times only — no tenant data — and ids are global (one id is applied once, whatever
 *   org it names). It is only ever written with INSERT … ON CONFLICT, never listed.
 * - `outbox` has no tenant on purpose: the relay drains the events of every org to NATS.
 */
export class RowLevelSecurity1764600000000 implements MigrationInterface {
  name = 'RowLevelSecurity1764600000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of ['run', 'run_step']) {
      await q.query(`ALTER TABLE monitoring.${t} ENABLE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE monitoring.${t} FORCE ROW LEVEL SECURITY`);
    }
    await q.query(`CREATE POLICY run_tenant_isolation ON monitoring.run USING (org_id = ${TENANT}) WITH CHECK (org_id = ${TENANT})`);
    await q.query(`CREATE POLICY run_step_tenant_isolation ON monitoring.run_step USING (${RUN_OF_TENANT}) WITH CHECK (${RUN_OF_TENANT})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP POLICY run_step_tenant_isolation ON monitoring.run_step`);
    await q.query(`DROP POLICY run_tenant_isolation ON monitoring.run`);
    for (const t of ['run_step', 'run']) {
      await q.query(`ALTER TABLE monitoring.${t} NO FORCE ROW LEVEL SECURITY`);
      await q.query(`ALTER TABLE monitoring.${t} DISABLE ROW LEVEL SECURITY`);
    }
  }
}
