import type { EntityManager } from 'typeorm';
import type { PolicyViolation } from './password-policy';
import { verifyPassword } from './passwords';
import { passwordHistoryDao } from '../daos/password-history.dao';

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
  for (const hash of await passwordHistoryDao.latestHashes(em, orgId, userId, historySize)) {
    if (await verifyPassword(hash, password)) {
      return {
        rule: 'HISTORY',
        message: `The password must differ from your last ${historySize} password${historySize === 1 ? '' : 's'}: choose one you have not used before.`,
      };
    }
  }
  return null;
}

/** Records a newly set password hash and prunes what no policy can ask about any more. */
export async function recordPasswordHistory(em: EntityManager, orgId: string, userId: string, passwordHash: string): Promise<void> {
  await passwordHistoryDao.recordAndPrune(em, orgId, userId, passwordHash, KEEP);
}
