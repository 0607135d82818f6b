import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: TOTP multi-factor authentication.
 * - `mfa_totp`: one row per enrollment; the secret is sealed (AES-256-GCM with DLX_MASTER_KEY, the
 *   user id as additional data), never stored in the clear. PENDING until a first code confirms it;
 *   at most one ACTIVE per user. `last_used_step` refuses a replayed code.
 * - `mfa_backup_code`: sha256 of each single-use backup code (80 random bits each).
 * - `mfa_challenge`: the short-lived step between password and second factor (login) or forced
 *   enrollment (org policy), as an opaque token stored hashed, with an attempt counter.
 */
export class Mfa1764500000000 implements MigrationInterface {
  name = 'Mfa1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.mfa_totp (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      secret_sealed jsonb NOT NULL,
      status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING','ACTIVE')),
      attempts integer NOT NULL DEFAULT 0,
      last_used_step bigint,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      confirmed_at timestamptz(3)
    )`);
    await q.query(`CREATE UNIQUE INDEX mfa_totp_active_uq ON auth.mfa_totp (user_id) WHERE status = 'ACTIVE'`);
    await q.query(`CREATE INDEX mfa_totp_user_idx ON auth.mfa_totp (org_id, user_id)`);
    await q.query(`CREATE TABLE auth.mfa_backup_code (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      code_hash text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      used_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX mfa_backup_code_user_idx ON auth.mfa_backup_code (org_id, user_id)`);
    await q.query(`CREATE TABLE auth.mfa_challenge (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      purpose text NOT NULL CHECK (purpose IN ('LOGIN','ENROLL')),
      attempts integer NOT NULL DEFAULT 0,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      consumed_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX mfa_challenge_user_idx ON auth.mfa_challenge (org_id, user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.mfa_challenge`);
    await q.query(`DROP TABLE auth.mfa_backup_code`);
    await q.query(`DROP TABLE auth.mfa_totp`);
  }
}
