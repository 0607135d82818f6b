import { In, type DataSource, type EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { identifierTaken, withTenantOf } from './tenant-lookup';
import { User } from '../entities/user.entity';
import { returningRows } from './returning';

export interface Page {
  first: number;
  after?: { createdAt: Date; id: string };
}

/** A user as login needs it: with the password hash, which normal reads never select. */
export type UserWithSecret = User & { passwordHash: string | null };

/** User rows; every method takes the tenant (org) id first — except the login lookup by e-mail. */
export class UserDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<User[]> {
    return ids.length ? inTenant(this.ds, orgId, (tx) => tx.getRepository(User).findBy({ orgId, id: In([...ids]) })) : Promise.resolve([]);
  }

  findById(orgId: string, id: string, em: EntityManager = this.ds.manager): Promise<User | null> {
    return inTenant(em, orgId, (tx) => tx.getRepository(User).findOneBy({ orgId, id }));
  }

  /** Keyset page, newest first; fetches one extra row to know whether there is a next page. */
  listByOrg(orgId: string, page: Page): Promise<User[]> {
    return inTenant(this.ds, orgId, (tx) => {
      const qb = tx
        .getRepository(User)
        .createQueryBuilder('u')
        .where('u.orgId = :orgId', { orgId })
        .orderBy('u.createdAt', 'DESC')
        .addOrderBy('u.id', 'DESC')
        .limit(page.first + 1);
      if (page.after) qb.andWhere('(u.createdAt, u.id) < (:at, :id)', { at: page.after.createdAt, id: page.after.id });
      return qb.getMany();
    });
  }

  /**
   * The one platform-wide lookup: login knows only the e-mail (unique across the platform,
   * case-insensitively), not the tenant. The org comes from auth.tenant_of (SECURITY DEFINER),
   * then the read runs under it.
   */
  async findForLogin(email: string): Promise<UserWithSecret | null> {
    return withTenantOf(
      this.ds,
      'login_email',
      email,
      async (tx) =>
        (await tx
          .getRepository(User)
          .createQueryBuilder('u')
          .addSelect('u.passwordHash')
          .where('lower(u.email) = lower(:email)', { email })
          .getOne()) as UserWithSecret | null,
    );
  }

  /** The user with this e-mail (case-insensitive), whatever its org, without the password hash: the same platform-wide lookup as login. */
  async findByEmail(email: string): Promise<User | null> {
    return withTenantOf(this.ds, 'login_email', email, (tx) =>
      tx.getRepository(User).createQueryBuilder('u').where('lower(u.email) = lower(:email)', { email }).getOne(),
    );
  }

  /** One user of the org with the password hash (re-authentication). */
  async findWithSecret(orgId: string, id: string, em: EntityManager = this.ds.manager): Promise<UserWithSecret | null> {
    return inTenant(
      em,
      orgId,
      async (tx) =>
        (await tx
          .getRepository(User)
          .createQueryBuilder('u')
          .addSelect('u.passwordHash')
          .where('u.orgId = :orgId AND u.id = :id', { orgId, id })
          .getOne()) as UserWithSecret | null,
    );
  }

  /** Ids of the org's active ADMINs that have no active second factor. */
  async adminsWithoutMfa(em: EntityManager, orgId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await em.query(
      `SELECT u.id FROM auth."user" u WHERE u.org_id = $1 AND u.org_role = 'ADMIN' AND u.status = 'ACTIVE'
       AND NOT EXISTS (SELECT 1 FROM auth.mfa_totp t WHERE t.org_id = u.org_id AND t.user_id = u.id AND t.status = 'ACTIVE')`,
      [orgId],
    );
    return rows.map((r) => r.id);
  }

  /** E-mails are unique across the platform: a yes/no across every tenant (auth.identifier_taken). */
  emailTaken(email: string, em: EntityManager = this.ds.manager): Promise<boolean> {
    return identifierTaken(em, 'email', email);
  }

  async insert(em: EntityManager, u: { orgId: string; email: string; displayName: string; orgRole: User['orgRole']; passwordHash: string }): Promise<User> {
    const repo = em.getRepository(User);
    const { identifiers } = await repo.insert({ ...u, passwordChangedAt: new Date(), status: 'ACTIVE', tokenEpoch: 0 });
    return repo.findOneByOrFail({ orgId: u.orgId, id: identifiers[0]!.id as string });
  }

  async addPasswordHistory(em: EntityManager, orgId: string, userId: string, passwordHash: string): Promise<void> {
    await em.query(`INSERT INTO auth.password_history (org_id, user_id, password_hash) VALUES ($1, $2, $3)`, [orgId, userId, passwordHash]);
  }

  /** Locks the user row for the rest of the transaction. */
  lockById(em: EntityManager, orgId: string, id: string): Promise<User | null> {
    return em.getRepository(User).createQueryBuilder('u').setLock('pessimistic_write').where('u.orgId = :orgId AND u.id = :id', { orgId, id }).getOne();
  }

  /** Deactivates and bumps the epoch (every token issued so far becomes invalid). Returns the new epoch. */
  async deactivate(em: EntityManager, orgId: string, id: string): Promise<number> {
    const rows = returningRows<{ token_epoch: number }>(
      await em.query(
        `UPDATE auth."user" SET status = 'DEACTIVATED', deactivated_at = now(), token_epoch = token_epoch + 1
         WHERE org_id = $1 AND id = $2 RETURNING token_epoch`,
        [orgId, id],
      ),
    );
    return rows[0]!.token_epoch;
  }

  /**
   * Locks the org's ACTIVE ADMINs (in id order, so concurrent callers queue instead of
   * deadlocking) and returns their ids: the last-admin rule is decided under this lock.
   */
  async lockActiveAdmins(em: EntityManager, orgId: string): Promise<string[]> {
    const rows: Array<{ id: string }> = await em.query(
      `SELECT id FROM auth."user" WHERE org_id = $1 AND org_role = 'ADMIN' AND status = 'ACTIVE' ORDER BY id FOR UPDATE`,
      [orgId],
    );
    return rows.map((r) => r.id);
  }

  /** Changes the org role and bumps the epoch (tokens carrying the old role stop working). Returns the new epoch. */
  async setRole(em: EntityManager, orgId: string, id: string, orgRole: User['orgRole']): Promise<number> {
    const rows = returningRows<{ token_epoch: number }>(
      await em.query(`UPDATE auth."user" SET org_role = $3, token_epoch = token_epoch + 1 WHERE org_id = $1 AND id = $2 RETURNING token_epoch`, [
        orgId,
        id,
        orgRole,
      ]),
    );
    return rows[0]!.token_epoch;
  }

  /** Bumps the epoch: every token issued so far becomes invalid. Returns the new epoch. */
  async bumpEpoch(em: EntityManager, orgId: string, id: string): Promise<number> {
    const rows = returningRows<{ token_epoch: number }>(
      await em.query(`UPDATE auth."user" SET token_epoch = token_epoch + 1 WHERE org_id = $1 AND id = $2 RETURNING token_epoch`, [orgId, id]),
    );
    return rows[0]!.token_epoch;
  }

  /** DEACTIVATED → ACTIVE. The epoch stays as deactivation left it, so the old tokens stay dead. */
  async reactivate(em: EntityManager, orgId: string, id: string): Promise<void> {
    await em.query(`UPDATE auth."user" SET status = 'ACTIVE', deactivated_at = NULL WHERE org_id = $1 AND id = $2`, [orgId, id]);
  }

  /** Deletes the user; sessions, refresh tokens, grants, MFA rows and password history go with it (ON DELETE CASCADE). */
  async remove(em: EntityManager, orgId: string, id: string): Promise<boolean> {
    const rows = returningRows<{ id: string }>(await em.query(`DELETE FROM auth."user" WHERE org_id = $1 AND id = $2 RETURNING id`, [orgId, id]));
    return rows.length > 0;
  }

  /** One user of the org with the password hash, locked for the rest of the transaction (password change). */
  async lockWithSecret(em: EntityManager, orgId: string, id: string): Promise<UserWithSecret | null> {
    return (await em
      .getRepository(User)
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .setLock('pessimistic_write')
      .where('u.orgId = :orgId AND u.id = :id', { orgId, id })
      .getOne()) as UserWithSecret | null;
  }

  /** Sets a new password hash; `password_changed_at` restarts the org's maximum-age clock. */
  async setPassword(em: EntityManager, orgId: string, id: string, passwordHash: string): Promise<void> {
    await em.query(`UPDATE auth."user" SET password_hash = $3, password_changed_at = now() WHERE org_id = $1 AND id = $2`, [orgId, id, passwordHash]);
  }
}
