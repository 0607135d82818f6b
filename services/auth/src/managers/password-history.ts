import type { EntityManager } from 'typeorm';
import type { PolicyViolation } from './password-policy';
import { verifyPassword } from './passwords';

/** The most the policy allows (`historySize` max in org-settings.ts): older rows are pruned. */
const KEEP = 24;

/**
 * The password policy's history rule (org settings `passwordPolicy.historySize`): a new password
 * may not match any of the user's last N hashes in auth.password_history (the current password
 * is the newest of them). Shared by every flow that sets a password for an existing user
 * (reset, change). Runs on the caller's tenant transaction.
 */
export async function checkNotReused(em: EntityManager, orgId: string, userId: string, password: string, historySize: number): Promise<PolicyViolation | null> {
  if (historySize <= 0) return null;
  const rows: Array<{ password_hash: string }> = await em.query(
    `SELECT password_hash FROM auth.password_history WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
    [orgId, userId, historySize],
  );
  for (const r of rows) {
    if (await verifyPassword(r.password_hash, password)) {
      return { rule: 'HISTORY', message: `The password must differ from your last ${historySize} password${historySize === 1 ? '' : 's'}: choose one you have not used before.` };
    }
  }
  return null;
}

/** Records a newly set password hash and prunes what no policy can ask about any more. */
export async function recordPasswordHistory(em: EntityManager, orgId: string, userId: string, passwordHash: string): Promise<void> {
  await em.query(`INSERT INTO auth.password_history (org_id, user_id, password_hash) VALUES ($1, $2, $3)`, [orgId, userId, passwordHash]);
  await em.query(
    `DELETE FROM auth.password_history WHERE org_id = $1 AND user_id = $2 AND id NOT IN (
       SELECT id FROM auth.password_history WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3)`,
    [orgId, userId, KEEP],
  );
}
