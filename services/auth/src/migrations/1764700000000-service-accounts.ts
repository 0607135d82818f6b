import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: service accounts and API keys. A service account belongs to one org and
 * holds exactly one workspace grant (EDITOR | VIEWER). Its API keys (`dlx_sk_live_…`) are stored
 * as the sha256 of the whole key only, with a short display prefix; a rotation links the new key
 * to the one it replaced (`rotated_from`). `last_audited_at` throttles the `auth.api_key.used`
 * audit event to one per key per minute.
 */
export class ServiceAccounts1764700000000 implements MigrationInterface {
  name = 'ServiceAccounts1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.service_account (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id),
      name text NOT NULL,
      workspace_id uuid NOT NULL,
      role text NOT NULL CHECK (role IN ('EDITOR','VIEWER')),
      created_by uuid NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      disabled_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX service_account_org_idx ON auth.service_account (org_id, created_at DESC)`);
    await q.query(`CREATE TABLE auth.api_key (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id),
      service_account_id uuid NOT NULL REFERENCES auth.service_account(id),
      prefix text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      last_used_at timestamptz(3),
      last_audited_at timestamptz(3),
      revoked_at timestamptz(3),
      rotated_from uuid REFERENCES auth.api_key(id)
    )`);
    await q.query(`CREATE INDEX api_key_account_idx ON auth.api_key (org_id, service_account_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.api_key`);
    await q.query(`DROP TABLE auth.service_account`);
  }
}
