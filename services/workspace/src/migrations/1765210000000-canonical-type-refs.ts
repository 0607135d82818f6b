import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: `canonicalizeColumn` must resolve the name of an organization's custom canonical type to
 * what the `column.canonicalize` job carries (the built-in it refines and its pattern). Custom
 * types belong to the schema service, and services never read each other's tables: this table is
 * a replica, fed by `schema.canonical_type.created.v1` from EVENTS
 * (src/jobs/canonical-type-replica.consumer.ts), like auth's and mapping's workspace_ref.
 *
 * - Keyed by (org_id, name): a name is unique in its org (the schema service's constraint), and
 *   that is how the mutation looks a type up. `type_id` is the schema service's id.
 * - `base_type`: the built-in at the root of the type's chain; `patterns`: every pattern of the
 *   chain, root first (empty: the type only renames its built-in). Both as the event carries them.
 * - `created_at` is the type's creation in the schema service: a redelivered event (same
 *   created_at) changes nothing; only a newer type of the same name could replace a row.
 * - Tenant data: row-level security ENABLE + FORCE with the same policy as every workspace table.
 */
export class CanonicalTypeRefs1765210000000 implements MigrationInterface {
  name = 'CanonicalTypeRefs1765210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE workspace.canonical_type_ref (
      org_id uuid NOT NULL,
      name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
      type_id uuid NOT NULL,
      label text NOT NULL,
      parent text NOT NULL,
      base_type text NOT NULL CHECK (base_type ~ '^[a-z][a-z0-9_]{0,62}$'),
      pattern text,
      patterns text[] NOT NULL DEFAULT '{}',
      created_at timestamptz(3) NOT NULL,
      recorded_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, name)
    )`);
    for (const sql of tenantIsolationSql('workspace', 'canonical_type_ref')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workspace.canonical_type_ref`);
  }
}
