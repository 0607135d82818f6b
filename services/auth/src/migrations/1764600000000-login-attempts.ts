import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: brute-force limits that hold across every auth instance. One row per failed
 * sign-in attempt (wrong password, unknown e-mail, wrong second factor), keyed by scope (ACCOUNT:
 * the e-mail typed, known or not — so an unknown e-mail is limited exactly like a real one — or IP)
 * and the sha256 of the key (no typed e-mails or addresses at rest). Limits count the rows of a
 * sliding window; rows older than the window are deleted as new ones arrive. Not tenant data:
 * the key exists before any organization is known.
 */
export class LoginAttempts1764600000000 implements MigrationInterface {
  name = 'LoginAttempts1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.login_failure (
      id bigserial PRIMARY KEY,
      scope text NOT NULL CHECK (scope IN ('ACCOUNT','IP')),
      key_hash text NOT NULL,
      at timestamptz(3) NOT NULL DEFAULT clock_timestamp()
    )`);
    await q.query(`CREATE INDEX login_failure_key_idx ON auth.login_failure (scope, key_hash, at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.login_failure`);
  }
}
