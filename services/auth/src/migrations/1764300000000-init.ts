import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql } from '@datalinx/messaging';

/**
 * Why: the auth service's first tables — organizations (tenants) and their users — plus the
 * service's outbox. Emails are unique per organization (a user belongs to one org).
 */
export class Init1764300000000 implements MigrationInterface {
  name = 'Init1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.organization (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      region text NOT NULL,
      time_zone text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE auth."user" (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      email text NOT NULL,
      display_name text NOT NULL,
      org_role text NOT NULL CHECK (org_role IN ('ADMIN','MEMBER','VIEWER')),
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE UNIQUE INDEX user_org_email_uq ON auth."user" (org_id, lower(email))`);
    await q.query(`CREATE INDEX user_org_created_idx ON auth."user" (org_id, created_at DESC, id DESC)`);
    for (const s of outboxTableSql('auth').up) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of outboxTableSql('auth').down) await q.query(s);
    await q.query(`DROP TABLE auth."user"`);
    await q.query(`DROP TABLE auth.organization`);
  }
}
