import type { DataSource, EntityManager } from 'typeorm';
import { returningRows } from './returning';
import { tenantOf } from './tenant-lookup';

export interface PasswordResetRow {
  id: string;
  orgId: string;
  userId: string;
  /** Computed by the database: not used and not expired. */
  usable: boolean;
}

/**
 * Password-reset tokens (auth.password_reset), sha256 only. Org id first and the caller's tenant
 * transaction, except `orgOfToken` (the public link carries only the token).
 */
export class PasswordResetDao {
  constructor(private readonly ds: DataSource) {}

  /** The org a token belongs to (any state), or null: auth.tenant_of, the one cross-tenant question the runtime role may ask. */
  orgOfToken(tokenHash: Buffer): Promise<string | null> {
    return tenantOf(this.ds, 'password_reset', tokenHash.toString('hex'));
  }

  /** Requests for this user within the last hour (the rate limit counts every request that produced a token). */
  async countRecent(em: EntityManager, orgId: string, userId: string): Promise<number> {
    const rows: Array<{ n: number }> = await em.query(
      `SELECT count(*)::int AS n FROM auth.password_reset WHERE org_id = $1 AND user_id = $2 AND created_at > now() - interval '1 hour'`,
      [orgId, userId],
    );
    return rows[0]!.n;
  }

  async insert(em: EntityManager, orgId: string, userId: string, tokenHash: Buffer, ttlMinutes: number): Promise<string> {
    const rows: Array<{ id: string }> = await em.query(
      `INSERT INTO auth.password_reset (org_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(mins => $4)) RETURNING id`,
      [orgId, userId, tokenHash, ttlMinutes],
    );
    return rows[0]!.id;
  }

  /** Locks the token's row for the rest of the transaction: a token can be used once even under concurrency. */
  async lockByToken(em: EntityManager, orgId: string, tokenHash: Buffer): Promise<PasswordResetRow | null> {
    const rows: PasswordResetRow[] = await em.query(
      `SELECT id, org_id AS "orgId", user_id AS "userId", (used_at IS NULL AND expires_at > now()) AS usable
       FROM auth.password_reset WHERE org_id = $1 AND token_hash = $2 FOR UPDATE`,
      [orgId, tokenHash],
    );
    return rows[0] ?? null;
  }

  /** After a reset every outstanding link of the user is spent, not only the one used. */
  async useAllOfUser(em: EntityManager, orgId: string, userId: string): Promise<number> {
    const rows = returningRows<{ id: string }>(
      await em.query(`UPDATE auth.password_reset SET used_at = now() WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL RETURNING id`, [orgId, userId]),
    );
    return rows.length;
  }
}

/**
 * Sets a user's new password hash (auth."user"): `password_changed_at` now, and the token epoch
 * bumped so every access token issued before is refused. Returns the new epoch, or null when the
 * user is not (or no longer) an ACTIVE user of the org.
 */
export async function setPasswordAndBumpEpoch(em: EntityManager, orgId: string, userId: string, passwordHash: string): Promise<number | null> {
  const rows = returningRows<{ token_epoch: number }>(
    await em.query(
      `UPDATE auth."user" SET password_hash = $3, password_changed_at = now(), token_epoch = token_epoch + 1
       WHERE org_id = $1 AND id = $2 AND status = 'ACTIVE' RETURNING token_epoch`,
      [orgId, userId, passwordHash],
    ),
  );
  return rows[0]?.token_epoch ?? null;
}
