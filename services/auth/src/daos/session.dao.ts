import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { Session } from '../entities/session.entity';
import { RefreshToken } from '../entities/refresh-token.entity';
import { returningRows } from './returning';

/** A refresh token row joined with its session, locked for rotation. */
export interface RefreshLookup {
  tokenId: string;
  rotatedAt: Date | null;
  session: Session;
}

/** Sessions and their refresh tokens (hashes only). Tenant id first where it is known. */
export class SessionDao {
  constructor(private readonly ds: DataSource) {}

  async create(em: EntityManager, s: { orgId: string; userId: string; expiresAt: Date; userAgent?: string | null; ip?: string | null }): Promise<Session> {
    const repo = em.getRepository(Session);
    const { identifiers } = await repo.insert({
      ...s,
      userAgent: s.userAgent ?? null,
      ip: s.ip ?? null,
      lastUsedAt: new Date(),
      revokedAt: null,
      revokedReason: null,
    });
    return repo.findOneByOrFail({ id: identifiers[0]!.id as string });
  }

  async addRefreshToken(em: EntityManager, orgId: string, sessionId: string, tokenHash: string): Promise<void> {
    await em.getRepository(RefreshToken).insert({ orgId, sessionId, tokenHash, rotatedAt: null });
  }

  /**
   * The token is presented without any tenant context (that is what it is for); the hash is the
   * lookup key. Locks the token and its session so two concurrent refreshes cannot both win.
   */
  async lockByRefreshHash(em: EntityManager, tokenHash: string): Promise<RefreshLookup | null> {
    const rows: Array<{ token_id: string; rotated_at: Date | null; session_id: string }> = await em.query(
      `SELECT rt.id AS token_id, rt.rotated_at, rt.session_id FROM auth.refresh_token rt
       JOIN auth.session s ON s.id = rt.session_id
       WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`,
      [tokenHash],
    );
    const row = rows[0];
    if (!row) return null;
    const session = await em.getRepository(Session).findOneByOrFail({ id: row.session_id });
    return { tokenId: row.token_id, rotatedAt: row.rotated_at, session };
  }

  async markRotated(em: EntityManager, orgId: string, tokenId: string): Promise<void> {
    await em.query(`UPDATE auth.refresh_token SET rotated_at = now() WHERE org_id = $1 AND id = $2`, [orgId, tokenId]);
  }

  async touch(em: EntityManager, orgId: string, sessionId: string): Promise<void> {
    await em.query(`UPDATE auth.session SET last_used_at = now() WHERE org_id = $1 AND id = $2`, [orgId, sessionId]);
  }

  /** Revokes one session of one user; false when it is not theirs or already revoked. */
  async revoke(em: EntityManager, orgId: string, userId: string, sessionId: string, reason: string): Promise<boolean> {
    const rows = returningRows<{ id: string }>(
      await em.query(
        `UPDATE auth.session SET revoked_at = now(), revoked_reason = $4
         WHERE org_id = $1 AND user_id = $2 AND id = $3 AND revoked_at IS NULL RETURNING id`,
        [orgId, userId, sessionId, reason],
      ),
    );
    return rows.length > 0;
  }

  /** Revokes every open session of a user; returns their ids. */
  async revokeAllOfUser(em: EntityManager, orgId: string, userId: string, reason: string): Promise<string[]> {
    const rows = returningRows<{ id: string }>(
      await em.query(
        `UPDATE auth.session SET revoked_at = now(), revoked_reason = $3
         WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL RETURNING id`,
        [orgId, userId, reason],
      ),
    );
    return rows.map((r) => r.id);
  }

  findById(orgId: string, id: string): Promise<Session | null> {
    return inTenant(this.ds, orgId, (tx) => tx.getRepository(Session).findOneBy({ orgId, id }));
  }

  /** The user's open sessions (not revoked, not past their absolute lifetime), newest first. */
  listOpen(orgId: string, userId: string): Promise<Session[]> {
    return inTenant(this.ds, orgId, (tx) =>
      tx
        .getRepository(Session)
        .createQueryBuilder('s')
        .where('s.orgId = :orgId AND s.userId = :userId AND s.revokedAt IS NULL AND s.expiresAt > now()', { orgId, userId })
        .orderBy('s.createdAt', 'DESC')
        .addOrderBy('s.id', 'DESC')
        .getMany(),
    );
  }

  /** Revokes one session of the org (any user: the caller has checked who may); returns its user, or null. */
  async revokeInOrg(em: EntityManager, orgId: string, sessionId: string, reason: string): Promise<{ userId: string } | null> {
    const rows = returningRows<{ user_id: string }>(
      await em.query(
        `UPDATE auth.session SET revoked_at = now(), revoked_reason = $3
         WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL RETURNING user_id`,
        [orgId, sessionId, reason],
      ),
    );
    return rows[0] ? { userId: rows[0].user_id } : null;
  }

  /** Keeps the user's `keep` newest open sessions (`newest` always among them) and revokes the rest. */
  async revokeBeyond(em: EntityManager, orgId: string, userId: string, newest: string, keep: number): Promise<string[]> {
    const rows = returningRows<{ id: string }>(
      await em.query(
        `UPDATE auth.session SET revoked_at = now(), revoked_reason = 'max_sessions'
         WHERE id IN (
           SELECT id FROM auth.session
           WHERE org_id = $1 AND user_id = $2 AND id <> $3 AND revoked_at IS NULL AND expires_at > now()
           ORDER BY created_at DESC, id DESC OFFSET $4
         ) RETURNING id`,
        [orgId, userId, newest, Math.max(keep - 1, 0)],
      ),
    );
    return rows.map((r) => r.id);
  }

  /** Makes the session a browser session: only the sha256 of its cookie is stored (replacing any earlier one). */
  async setCookieHash(em: EntityManager, orgId: string, sessionId: string, cookieHash: Buffer): Promise<void> {
    await em.query(`UPDATE auth.session SET cookie_hash = $3 WHERE org_id = $1 AND id = $2`, [orgId, sessionId, cookieHash]);
  }

  /**
   * The session a browser cookie belongs to, locked. Like a refresh token, the cookie arrives
   * without tenant context: the hash is the lookup key (an index lookup on a sha256 of 256 random
   * bits reveals nothing by its timing), in the transaction of the tenant owning it (withTenantOf
   * 'session_cookie'). The caller checks `id` against the one the cookie names.
   */
  async lockByCookieHash(em: EntityManager, cookieHash: Buffer): Promise<Session | null> {
    const rows: Array<{ id: string }> = await em.query(`SELECT id FROM auth.session WHERE cookie_hash = $1 FOR UPDATE`, [cookieHash]);
    return rows[0] ? em.getRepository(Session).findOneByOrFail({ id: rows[0].id }) : null;
  }
}
