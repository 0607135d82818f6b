import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: managing people and passwords (role changes, workspace grants, reactivation,
 * removal, password change, history and expiry).
 * - `password_change_challenge`: the step between a correct but expired password (org policy
 *   `maxAgeDays`) and the sign-in. Like the MFA challenge it is an opaque token stored as
 *   sha256, short-lived and single-use, but in a table of its own: it opens nothing but
 *   `changeExpiredPassword`, and can never be mistaken for an MFA step. The second factor comes
 *   first: a user with MFA only gets this challenge after passing it, and `second_factor` records
 *   how, so the sign-in that follows the new password does not ask for it again (and someone who
 *   knows only an expired password cannot change it).
 * - Removing a user deletes everything hanging off it: every table referencing auth."user"
 *   (password_history, session → refresh_token, workspace_grant, mfa_totp, mfa_backup_code,
 *   mfa_challenge) already does so with ON DELETE CASCADE, and so does this one. Audit rows live
 *   in the outbox / monitoring and keep the id; service_account.created_by is no foreign key.
 */
export class People1764950000000 implements MigrationInterface {
  name = 'People1764950000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.password_change_challenge (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      consumed_at timestamptz(3),
      second_factor text CHECK (second_factor IN ('totp', 'backup_code', 'totp_enrollment'))
    )`);
    await q.query(`CREATE INDEX password_change_challenge_user_idx ON auth.password_change_challenge (org_id, user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.password_change_challenge`);
  }
}
