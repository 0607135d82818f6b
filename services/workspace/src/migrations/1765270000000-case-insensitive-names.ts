import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: a connection's or a pipeline's name is unique in its workspace regardless of case ("Orders"
 * and "orders" are one name), as promotion already matched them and as mapping names are. The
 * database now says so too: `UNIQUE (workspace_id, name)` becomes a unique index on
 * `(workspace_id, lower(name))`, the arbiter under races of the managers' NAME_TAKEN checks.
 *
 * Rows that already differ only by case: the oldest (created_at, then id) keeps its name, every
 * other one is renamed to `<name> (<first 8 characters of its id>)` (cut to the 100-character
 * limit) so the index can be built. Down restores the case-sensitive constraint (renamed rows keep
 * their new names).
 */
export class CaseInsensitiveNames1765270000000 implements MigrationInterface {
  name = 'CaseInsensitiveNames1765270000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['connection', 'pipeline']) {
      await q.query(`UPDATE workspace.${table} t SET name = left(t.name, 89) || ' (' || left(t.id::text, 8) || ')'
        FROM (SELECT id, row_number() OVER (PARTITION BY workspace_id, lower(name) ORDER BY created_at, id) AS n FROM workspace.${table}) d
        WHERE d.id = t.id AND d.n > 1`);
      await q.query(`ALTER TABLE workspace.${table} DROP CONSTRAINT ${table}_workspace_id_name_key`);
      await q.query(`CREATE UNIQUE INDEX ${table}_ws_lower_name_uq ON workspace.${table} (workspace_id, lower(name))`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['connection', 'pipeline']) {
      await q.query(`DROP INDEX workspace.${table}_ws_lower_name_uq`);
      await q.query(`ALTER TABLE workspace.${table} ADD CONSTRAINT ${table}_workspace_id_name_key UNIQUE (workspace_id, name)`);
    }
  }
}
