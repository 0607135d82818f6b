import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: invitations, forgotten password and outgoing e-mail.
 * - `invitation`: an org ADMIN invites a person with an org role and workspace grants (jsonb:
 *   `[{workspaceId, role}]`, copied into `workspace_grant` on acceptance). The link's token is
 *   stored as sha256 only (`token_hash`, unique: the lookup path of the public accept screen).
 *   Single-use (`accepted_at`) and expiring (`expires_at`); `revoked_at` ends it early; resending
 *   replaces the hash and the expiry, so the old link dies. No unique index on "open per e-mail":
 *   "open" depends on now(), so the manager serialises invitations of one e-mail with an advisory
 *   lock instead.
 * - `password_reset`: single-use (`used_at`), expiring reset tokens, sha256 only. The rows also
 *   count the requests per user per hour (the rate limit).
 * - `email_outbox`: e-mails are written in the transaction of the invitation / reset and sent
 *   after commit by the MailRelay (at least once, retried with backoff, bounded). The body
 *   carries single-use links, so it is sealed (AES-256-GCM under DLX_MASTER_KEY, the row id as
 *   additional data) and cleared once sent (or given up).
 */
export class Invitations1764900000000 implements MigrationInterface {
  name = 'Invitations1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE auth.invitation (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      email text NOT NULL,
      display_name text,
      org_role text NOT NULL CHECK (org_role IN ('ADMIN','MEMBER','VIEWER')),
      grants jsonb NOT NULL DEFAULT '[]',
      token_hash bytea NOT NULL,
      invited_by uuid REFERENCES auth."user"(id) ON DELETE SET NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      accepted_at timestamptz(3),
      accepted_user_id uuid REFERENCES auth."user"(id) ON DELETE SET NULL,
      revoked_at timestamptz(3),
      CONSTRAINT invitation_token_hash_key UNIQUE (token_hash)
    )`);
    await q.query(`CREATE INDEX invitation_org_page_idx ON auth.invitation (org_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX invitation_org_email_idx ON auth.invitation (org_id, lower(email))`);

    await q.query(`CREATE TABLE auth.password_reset (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES auth."user"(id) ON DELETE CASCADE,
      token_hash bytea NOT NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      used_at timestamptz(3),
      CONSTRAINT password_reset_token_hash_key UNIQUE (token_hash)
    )`);
    await q.query(`CREATE INDEX password_reset_user_idx ON auth.password_reset (org_id, user_id, created_at DESC)`);

    await q.query(`CREATE TABLE auth.email_outbox (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      org_id uuid NOT NULL REFERENCES auth.organization(id) ON DELETE CASCADE,
      to_address text NOT NULL,
      template text NOT NULL,
      subject text NOT NULL,
      body jsonb,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
      sent_at timestamptz(3),
      last_error text
    )`);
    await q.query(`CREATE INDEX email_outbox_pending_idx ON auth.email_outbox (next_attempt_at) WHERE sent_at IS NULL AND body IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE auth.email_outbox`);
    await q.query(`DROP TABLE auth.password_reset`);
    await q.query(`DROP TABLE auth.invitation`);
  }
}
