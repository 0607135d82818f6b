import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import type { Sealed } from '@datalinx/common';
import { returningRows } from './returning';

export interface TotpRow {
  id: string;
  orgId: string;
  userId: string;
  secretSealed: Sealed;
  status: 'PENDING' | 'ACTIVE';
  attempts: number;
  lastUsedStep: number | null;
}

export type ChallengePurpose = 'LOGIN' | 'ENROLL';

export interface ChallengeRow {
  id: string;
  orgId: string;
  userId: string;
  purpose: ChallengePurpose;
  attempts: number;
  expiresAt: Date;
  consumedAt: Date | null;
}

type RawTotp = {
  id: string;
  org_id: string;
  user_id: string;
  secret_sealed: Sealed;
  status: 'PENDING' | 'ACTIVE';
  attempts: number;
  last_used_step: string | null;
};
const toTotp = (r: RawTotp): TotpRow => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  secretSealed: r.secret_sealed,
  status: r.status,
  attempts: r.attempts,
  lastUsedStep: r.last_used_step === null ? null : Number(r.last_used_step),
});
type RawChallenge = { id: string; org_id: string; user_id: string; purpose: ChallengePurpose; attempts: number; expires_at: Date; consumed_at: Date | null };
const toChallenge = (r: RawChallenge): ChallengeRow => ({
  id: r.id,
  orgId: r.org_id,
  userId: r.user_id,
  purpose: r.purpose,
  attempts: r.attempts,
  expiresAt: r.expires_at,
  consumedAt: r.consumed_at,
});

/** TOTP enrollments (sealed secrets), backup-code hashes and MFA challenges. Tenant id first. */
export class MfaDao {
  constructor(private readonly ds: DataSource) {}

  async hasActiveTotp(orgId: string, userId: string, em: EntityManager = this.ds.manager): Promise<boolean> {
    const rows: unknown[] = await inTenant(em, orgId, (tx) =>
      tx.query(`SELECT 1 FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 AND status = 'ACTIVE'`, [orgId, userId]),
    );
    return rows.length > 0;
  }

  /** A new PENDING enrollment; the user's earlier unconfirmed ones are dropped. */
  async insertPending(em: EntityManager, orgId: string, userId: string, secretSealed: Sealed): Promise<string> {
    await em.query(`DELETE FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 AND status = 'PENDING'`, [orgId, userId]);
    const rows: Array<{ id: string }> = await em.query(`INSERT INTO auth.mfa_totp (org_id, user_id, secret_sealed) VALUES ($1, $2, $3) RETURNING id`, [
      orgId,
      userId,
      JSON.stringify(secretSealed),
    ]);
    return rows[0]!.id;
  }

  /** Locks one enrollment of the user (PENDING or ACTIVE) for the rest of the transaction. */
  async lockTotp(em: EntityManager, orgId: string, userId: string, id: string): Promise<TotpRow | null> {
    const rows: RawTotp[] = await em.query(`SELECT * FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 AND id = $3 FOR UPDATE`, [orgId, userId, id]);
    return rows[0] ? toTotp(rows[0]) : null;
  }

  async lockActiveTotp(em: EntityManager, orgId: string, userId: string): Promise<TotpRow | null> {
    const rows: RawTotp[] = await em.query(`SELECT * FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 AND status = 'ACTIVE' FOR UPDATE`, [orgId, userId]);
    return rows[0] ? toTotp(rows[0]) : null;
  }

  async countAttempt(em: EntityManager, orgId: string, id: string): Promise<number> {
    const rows = returningRows<{ attempts: number }>(
      await em.query(`UPDATE auth.mfa_totp SET attempts = attempts + 1 WHERE org_id = $1 AND id = $2 RETURNING attempts`, [orgId, id]),
    );
    return rows[0]?.attempts ?? 0;
  }

  async deleteTotp(em: EntityManager, orgId: string, id: string): Promise<void> {
    await em.query(`DELETE FROM auth.mfa_totp WHERE org_id = $1 AND id = $2`, [orgId, id]);
  }

  /** Activates one enrollment and drops the user's other ones (pending or old). */
  async activate(em: EntityManager, orgId: string, userId: string, id: string, step: number): Promise<void> {
    await em.query(`DELETE FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 AND id <> $3`, [orgId, userId, id]);
    await em.query(`UPDATE auth.mfa_totp SET status = 'ACTIVE', confirmed_at = now(), last_used_step = $3, attempts = 0 WHERE org_id = $1 AND id = $2`, [
      orgId,
      id,
      step,
    ]);
  }

  async markStepUsed(em: EntityManager, orgId: string, id: string, step: number): Promise<void> {
    await em.query(`UPDATE auth.mfa_totp SET last_used_step = $3 WHERE org_id = $1 AND id = $2`, [orgId, id, step]);
  }

  /** Removes every enrollment and backup code of the user. */
  async removeAll(em: EntityManager, orgId: string, userId: string): Promise<number> {
    const rows = returningRows<{ id: string }>(await em.query(`DELETE FROM auth.mfa_totp WHERE org_id = $1 AND user_id = $2 RETURNING id`, [orgId, userId]));
    await em.query(`DELETE FROM auth.mfa_backup_code WHERE org_id = $1 AND user_id = $2`, [orgId, userId]);
    return rows.length;
  }

  async replaceBackupCodes(em: EntityManager, orgId: string, userId: string, hashes: readonly string[]): Promise<void> {
    await em.query(`DELETE FROM auth.mfa_backup_code WHERE org_id = $1 AND user_id = $2`, [orgId, userId]);
    await em.query(`INSERT INTO auth.mfa_backup_code (org_id, user_id, code_hash) SELECT $1, $2, unnest($3::text[])`, [orgId, userId, [...hashes]]);
  }

  /** Spends an unused backup code; false when there is none with that hash. */
  async useBackupCode(em: EntityManager, orgId: string, userId: string, hash: string): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await em.query(
        `UPDATE auth.mfa_backup_code SET used_at = now()
         WHERE id = (SELECT id FROM auth.mfa_backup_code WHERE org_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL LIMIT 1 FOR UPDATE)
         RETURNING id`,
        [orgId, userId, hash],
      ),
    );
    return rows.length > 0;
  }

  async createChallenge(em: EntityManager, c: { orgId: string; userId: string; tokenHash: string; purpose: ChallengePurpose; expiresAt: Date }): Promise<void> {
    await em.query(`INSERT INTO auth.mfa_challenge (org_id, user_id, token_hash, purpose, expires_at) VALUES ($1, $2, $3, $4, $5)`, [
      c.orgId,
      c.userId,
      c.tokenHash,
      c.purpose,
      c.expiresAt,
    ]);
  }

  /** The challenge token is presented without tenant context: its hash is the lookup key. Locked. */
  async lockChallenge(em: EntityManager, tokenHash: string): Promise<ChallengeRow | null> {
    const rows: RawChallenge[] = await em.query(`SELECT * FROM auth.mfa_challenge WHERE token_hash = $1 FOR UPDATE`, [tokenHash]);
    return rows[0] ? toChallenge(rows[0]) : null;
  }

  async challengeAttempt(em: EntityManager, orgId: string, id: string, consume: boolean): Promise<void> {
    await em.query(
      `UPDATE auth.mfa_challenge SET attempts = attempts + 1, consumed_at = CASE WHEN $3 THEN now() ELSE consumed_at END WHERE org_id = $1 AND id = $2`,
      [orgId, id, consume],
    );
  }

  async consumeChallenge(em: EntityManager, orgId: string, id: string): Promise<void> {
    await em.query(`UPDATE auth.mfa_challenge SET consumed_at = now() WHERE org_id = $1 AND id = $2`, [orgId, id]);
  }
}
