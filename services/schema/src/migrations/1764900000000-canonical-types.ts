import { createHash } from 'node:crypto';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { BUILT_IN_CANONICAL_TYPES } from '@datalinx/contracts';
import { BUILT_INS as INIT_BUILT_INS } from './1764400000000-init';

const TENANT = `org_id = nullif(current_setting('app.current_org_id', true), '')::uuid`;

/** A fixed id per built-in name (the first 17 keep the ids Init seeded): the same in every environment. */
export const builtInId = (name: string) => {
  const h = createHash('sha256').update(`datalinx:canonical-type:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * Why: canonical types grow from 17 to every built-in of @datalinx/contracts' canonical module
 * — the one definition with validator, SQL normalizer and examples that the
 * workers, the web and dbt tests import — and organizations get their own custom types.
 *
 * - Built-ins are upserted by name from the contracts package: the 17 of Init keep their ids;
 *   new ones get a fixed id derived from their name. `pattern` is the canonical form's regex and
 *   `examples` the canonical values. Built-ins stay global reference data (no org, no RLS,
 *   read-only for the runtime role).
 * - `custom_canonical_type`: an org's own types, each refining a built-in parent or another
 *   custom type of the same org (`parent_id` xor `parent_custom_id`): the parent's validator and
 *   normalizer, plus an optional narrower pattern. Tenant data: org_id and row-level security
 *   (ENABLE + FORCE + policy on app.current_org_id) like the other services' tables. A custom name
 *   is unique in its org and never a built-in's (the manager checks the latter).
 */
export class CanonicalTypes1764900000000 implements MigrationInterface {
  name = 'CanonicalTypes1764900000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of BUILT_IN_CANONICAL_TYPES) {
      await q.query(
        `INSERT INTO "schema".canonical_type (id, name, label, description, category, pattern, examples) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (name) DO UPDATE SET label = EXCLUDED.label, description = EXCLUDED.description, category = EXCLUDED.category, pattern = EXCLUDED.pattern, examples = EXCLUDED.examples`,
        [builtInId(t.name), t.name, t.label, t.description, t.category, t.pattern, [...new Set(t.examples.valid.map((e) => e.normalized))]],
      );
    }
    for (const t of BUILT_IN_CANONICAL_TYPES) {
      await q.query(`UPDATE "schema".canonical_type SET parent_id = (SELECT id FROM "schema".canonical_type WHERE name = $2) WHERE name = $1`, [
        t.name,
        t.parent ?? null,
      ]);
    }
    await q.query(`CREATE TABLE "schema".custom_canonical_type (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL,
      name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
      label text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
      description text NOT NULL DEFAULT '',
      category text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,62}$'),
      parent_id uuid REFERENCES "schema".canonical_type(id) ON DELETE RESTRICT,
      parent_custom_id uuid REFERENCES "schema".custom_canonical_type(id) ON DELETE RESTRICT,
      pattern text CHECK (pattern IS NULL OR ('' ~ pattern) IS NOT NULL),
      examples text[] NOT NULL DEFAULT '{}',
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, name),
      CHECK ((parent_id IS NULL) <> (parent_custom_id IS NULL)),
      CHECK (parent_custom_id IS DISTINCT FROM id)
    )`);
    await q.query(`ALTER TABLE "schema".custom_canonical_type ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE "schema".custom_canonical_type FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY custom_canonical_type_tenant_isolation ON "schema".custom_canonical_type USING (${TENANT}) WITH CHECK (${TENANT})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "schema".custom_canonical_type`);
    await q.query(`UPDATE "schema".canonical_type SET parent_id = NULL`);
    await q.query(`DELETE FROM "schema".canonical_type WHERE NOT (id = ANY($1::uuid[]))`, [INIT_BUILT_INS.map((t) => t.id)]);
    for (const t of INIT_BUILT_INS) {
      await q.query(`UPDATE "schema".canonical_type SET label = $2, description = $3, category = $4, pattern = $5, examples = $6 WHERE id = $1`, [
        t.id,
        t.label,
        t.description,
        t.category,
        t.pattern,
        t.examples,
      ]);
    }
  }
}
