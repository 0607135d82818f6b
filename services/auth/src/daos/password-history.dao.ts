import type { EntityManager } from 'typeorm';

/** auth.password_history: the hashes a user's recent passwords had (on the caller's tenant transaction). */
export const passwordHistoryDao = {
  /** The user's newest `limit` hashes, newest first. */
  async latestHashes(em: EntityManager, orgId: string, userId: string, limit: number): Promise<string[]> {
    const rows: Array<{ password_hash: string }> = await em.query(
      `SELECT password_hash FROM auth.password_history WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
      [orgId, userId, limit],
    );
    return rows.map((r) => r.password_hash);
  },

  /** Records a hash and keeps only the user's newest `keep`. */
  async recordAndPrune(em: EntityManager, orgId: string, userId: string, passwordHash: string, keep: number): Promise<void> {
    await em.query(`INSERT INTO auth.password_history (org_id, user_id, password_hash) VALUES ($1, $2, $3)`, [orgId, userId, passwordHash]);
    await em.query(
      `DELETE FROM auth.password_history WHERE org_id = $1 AND user_id = $2 AND id NOT IN (
         SELECT id FROM auth.password_history WHERE org_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3)`,
      [orgId, userId, keep],
    );
  },
};
