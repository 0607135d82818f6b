import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: browser sessions. The gateway keeps a browser's session in the httpOnly
 * `dlx_session` cookie, an opaque credential it exchanges with the auth service for short-lived
 * access tokens (no refresh-token rotation, so concurrent browser requests cannot race). Only the
 * sha256 of the cookie is stored; the unique index is the lookup path and guarantees one session
 * per cookie. NULL for sessions that are not browser sessions.
 */
export class SessionCookie1764800000000 implements MigrationInterface {
  name = 'SessionCookie1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.session ADD COLUMN cookie_hash bytea NULL`);
    await q.query(`ALTER TABLE auth.session ADD CONSTRAINT session_cookie_hash_key UNIQUE (cookie_hash)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.session DROP CONSTRAINT session_cookie_hash_key`);
    await q.query(`ALTER TABLE auth.session DROP COLUMN cookie_hash`);
  }
}
