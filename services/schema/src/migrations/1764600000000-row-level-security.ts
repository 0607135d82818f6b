import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: row-level security went onto every tenant table of every service (ARCHITECTURE.md §3), and
 * this schema has none, on purpose — recorded here and in the catalog, so the
 * next reader does not "fix" it:
 * - `schema.canonical_type` is global reference data: the built-in types have no org and every
 *   org reads the same rows, so there is no tenant to filter on. The runtime role may only read
 *   it (`readOnlyTables` in migrate.ts); only migrations write it. Org-specific custom types
 *   will live in their own table with org_id and a policy like the other services' tables.
 * - `schema.outbox` carries events of every org to NATS: the relay drains it across tenants
 *   by design, and a row there holds an event already meant to leave the service.
 */
export class RowLevelSecurity1764600000000 implements MigrationInterface {
  name = 'RowLevelSecurity1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `COMMENT ON TABLE schema.canonical_type IS 'Global reference data (no tenant, no row-level security); written by migrations only, read-only for the runtime role.'`,
    );
    await q.query(`COMMENT ON TABLE schema.outbox IS 'Events of every org on their way to NATS; drained across tenants by the relay (no row-level security).'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`COMMENT ON TABLE schema.outbox IS NULL`);
    await q.query(`COMMENT ON TABLE schema.canonical_type IS NULL`);
  }
}
