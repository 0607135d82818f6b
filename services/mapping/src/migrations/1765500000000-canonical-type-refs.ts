import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: a target column may carry one of the organization's own canonical types (a built-in parent
 * narrowed by patterns), and CANONICALIZE and the generated format tests need its normalizer and
 * patterns. Custom types belong to the schema service: this is the replica, fed by
 * `schema.canonical_type.created.v1`.
 *
 * - `canonical_type_ref`: one row per (org, type name): the built-in it normalizes with, and every
 *   pattern of its chain (root first).
 * - Tenant data: row-level security ENABLE + FORCE, the org policy.
 * - Reversible: down drops the table (rebuilt from the stream's events by a new consumer).
 */
export class CanonicalTypeRefs1765500000000 implements MigrationInterface {
  name = 'CanonicalTypeRefs1765500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mapping.canonical_type_ref (
      org_id uuid NOT NULL,
      name text NOT NULL,
      base_type text NOT NULL,
      patterns text[] NOT NULL,
      created_at timestamptz(3) NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, name)
    )`);
    for (const sql of tenantIsolationSql('mapping', 'canonical_type_ref')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mapping.canonical_type_ref`);
  }
}
