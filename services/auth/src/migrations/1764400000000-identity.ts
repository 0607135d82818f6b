import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: sign-up, login and sessions.
 * - Users log in by e-mail alone, so an e-mail is unique across the platform (not only per org).
 * - `user.token_epoch` is the revocation epoch carried in access tokens: bumping it (deactivation,
 *   role or grant change) invalidates every token issued before.
 * - Org `settings` (jsonb) hold the password and session policies; missing keys take defaults in code.
 * - Refresh tokens are stored as sha256 hashes, one row per issued token, so a reused (already
 *   rotated) token is recognised and revokes its whole session.
 */
export class Identity1764400000000 implements MigrationInterface {
  name = 'Identity1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.organization ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE auth."user"
      ADD COLUMN password_hash text,
      ADD COLUMN password_changed_at timestamptz(3),
      ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE','DEACTIVATED')),
      ADD COLUMN deactivated_at timestamptz(3),
      ADD COLUMN token_epoch integer NOT NULL DEFAULT 0 CHECK (token_epoch >= 0)`);
    await q.query(`CREATE UNIQUE INDEX user_email_uq ON auth."user" (lower(email))`);
    await q.query(`CREATE TABLE auth.password_history (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      password_hash text NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX password_history_user_idx ON auth.password_history (org_id, user_id, created_at DESC)`);
    await q.query(`CREATE TABLE auth.session (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      last_used_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      revoked_at timestamptz(3),
      revoked_reason text,
      user_agent text,
      ip text
    )`);
    await q.query(`CREATE INDEX session_user_idx ON auth.session (org_id, user_id) WHERE revoked_at IS NULL`);
    await q.query(`CREATE TABLE auth.refresh_token (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      session_id uuid NOT NULL REFERENCES auth.session(id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      rotated_at timestamptz(3)
    )`);
    await q.query(`CREATE INDEX refresh_token_session_idx ON auth.refresh_token (session_id)`);
    await q.query(`CREATE TABLE auth.workspace_grant (
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      workspace_id uuid NOT NULL,
      role text NOT NULL CHECK (role IN ('EDITOR','VIEWER')),
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, workspace_id)
    )`);
    await q.query(`CREATE INDEX workspace_grant_org_idx ON auth.workspace_grant (org_id, user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.workspace_grant`);
    await q.query(`DROP TABLE auth.refresh_token`);
    await q.query(`DROP TABLE auth.session`);
    await q.query(`DROP TABLE auth.password_history`);
    await q.query(`DROP INDEX auth.user_email_uq`);
    await q.query(
      `ALTER TABLE auth."user" DROP COLUMN token_epoch, DROP COLUMN deactivated_at, DROP COLUMN status, DROP COLUMN password_changed_at, DROP COLUMN password_hash`,
    );
    await q.query(`ALTER TABLE auth.organization DROP COLUMN settings`);
  }
}
