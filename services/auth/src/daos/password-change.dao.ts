import type { EntityManager } from 'typeorm';
import { returningRows } from './returning';

export interface PasswordChangeChallengeRow {
  id: string;
  orgId: string;
  userId: string;
  expiresAt: Date;
  consumedAt: Date | null;
  /** The second factor passed before this challenge was issued (null: the user has none). */
  secondFactor: SecondFactor | null;
}

/** How a sign-in passed its second factor. */
export type SecondFactor = 'totp' | 'backup_code' | 'totp_enrollment';

type Raw = { id: string; org_id: string; user_id: string; expires_at: Date; consumed_at: Date | null; second_factor: SecondFactor | null };
const toRow = (r: Raw): PasswordChangeChallengeRow => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  expiresAt: r.expires_at,
  consumedAt: r.consumed_at,
  secondFactor: r.second_factor,
});

/**
 * Password changes: the expired-password challenges (auth.password_change_challenge, token
 * hashes only) and signing out a user's other sessions. Functions on the caller's transaction;
 * tenant id first wherever it is known.
 */
export async function createPasswordChangeChallenge(
  em: EntityManager,
  orgId: string,
  c: { userId: string; tokenHash: string; expiresAt: Date; secondFactor: SecondFactor | null },
): Promise<void> {
  await em.query(`INSERT INTO auth.password_change_challenge (org_id, user_id, token_hash, expires_at, second_factor) VALUES ($1, $2, $3, $4, $5)`, [
    orgId,
    c.userId,
    c.tokenHash,
    c.expiresAt,
    c.secondFactor,
  ]);
}

/**
 * The challenge token arrives without tenant context (it is the credential): its hash is the
 * lookup key. `lock` takes a row lock (inside the transaction that spends it).
 */
export async function findPasswordChangeChallenge(em: EntityManager, tokenHash: string, lock = false): Promise<PasswordChangeChallengeRow | null> {
  const rows: Raw[] = await em.query(`SELECT * FROM auth.password_change_challenge WHERE token_hash = $1${lock ? ' FOR UPDATE' : ''}`, [tokenHash]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function consumePasswordChangeChallenge(em: EntityManager, orgId: string, id: string): Promise<void> {
  await em.query(`UPDATE auth.password_change_challenge SET consumed_at = now() WHERE org_id = $1 AND id = $2`, [orgId, id]);
}

/** Revokes every open session of the user except `keepSessionId` (the one changing the password); returns their ids. */
export async function revokeOtherSessions(em: EntityManager, orgId: string, userId: string, keepSessionId: string, reason: string): Promise<string[]> {
  const rows = returningRows<{ id: string }>(
    await em.query(
      `UPDATE auth.session SET revoked_at = now(), revoked_reason = $4
       WHERE org_id = $1 AND user_id = $2 AND id::text <> $3 AND revoked_at IS NULL RETURNING id`,
      [orgId, userId, keepSessionId, reason],
    ),
  );
  return rows.map((r) => r.id);
}
