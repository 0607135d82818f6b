import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import { tenantOf } from '../daos/tenant-lookup';
import { consumePasswordChangeChallenge, findPasswordChangeChallenge, revokeOtherSessions, type SecondFactor } from '../daos/password-change.dao';
import type { User } from '../entities/user.entity';
import type { RevocationPublisher } from '../tokens/revocations';
import { hashRefreshToken } from '../tokens/refresh-tokens';
import { readOrgSettings, type PasswordPolicy } from './org-settings';
import { checkPasswordPolicy } from './password-policy';
import { checkNotReused, recordPasswordHistory } from './password-history';
import { hashPassword, verifyPassword } from './passwords';
import { normalizeEmail } from './account.manager';
import { audit } from './audit';
import { failed, type ClientInfo, type SessionManager, type TokenPair } from './session.manager';
import { tooManyAttempts, type LoginThrottle } from './login-throttle';
import { userError, type UserError } from './user-error';

const NOT_SIGNED_IN = () => userError('NOT_SIGNED_IN', null, 'Sign in to change your password.');
const CHALLENGE_INVALID = () => userError('PASSWORD_CHANGE_CHALLENGE_INVALID', 'challengeToken', 'This sign-in step is no longer valid. Sign in again.');
/** A new password that breaks the org's policy: one PASSWORD_TOO_WEAK per rule, each naming it (as at sign-up). */
const policyErrors = (password: string, policy: PasswordPolicy): UserError[] =>
  checkPasswordPolicy(password, policy).map((v) => userError('PASSWORD_TOO_WEAK', 'newPassword', v.message));

/**
 * Password changes: by a signed-in user (re-authenticated by the current password), and at
 * sign-in when the password is older than the org's `maxAgeDays` (the PASSWORD_CHANGE challenge
 * from login is the credential). Both apply the org's password policy including the history
 * rule (managers/password-history.ts), store the new argon2id hash, record it in the history
 * (pruned to the policy's size) and restart the age clock.
 */
export class PasswordManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly sessionDao: SessionDao,
    /** Null without sign-in configured: changeExpiredPassword then cannot continue to a session. */
    private readonly sessions: SessionManager | null,
    private readonly throttle: LoginThrottle,
    log: Logger,
    private readonly revocations: RevocationPublisher | undefined,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'PasswordManager' });
  }

  private async policyOf(em: EntityManager, orgId: string): Promise<PasswordPolicy> {
    return readOrgSettings((await this.orgs.findById(orgId, em))?.settings).passwordPolicy;
  }

  /**
   * Inside the caller's tenant transaction, with the user row locked: the history rule (a reused
   * password is PASSWORD_TOO_WEAK naming the HISTORY rule, as password reset answers), then the
   * new hash, its history row, `password_changed_at = now()`. Null on success.
   */
  private async apply(
    em: EntityManager,
    orgId: string,
    userId: string,
    newPassword: string,
    newHash: string,
    policy: PasswordPolicy,
  ): Promise<UserError | null> {
    const reused = await checkNotReused(em, orgId, userId, newPassword, policy.historySize);
    if (reused) return userError('PASSWORD_TOO_WEAK', 'newPassword', reused.message);
    await this.users.setPassword(em, orgId, userId, newHash);
    await recordPasswordHistory(em, orgId, userId, newHash);
    return null;
  }

  /**
   * The signed-in user changes their password. A wrong current password counts as a failed
   * sign-in attempt (LoginThrottle), like disableTotp. On success every other session of the
   * user is signed out; the one making the change stays.
   */
  async change(viewer: Viewer, currentPassword: string, newPassword: string, clientIp?: string): Promise<{ ok: boolean; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { ok: false, errors: [NOT_SIGNED_IN()] };
    const { orgId, userId } = viewer;
    const { user, policy } = await withTenant(this.ds, orgId, async (em) => ({
      user: await this.users.lockWithSecret(em, orgId, userId),
      policy: await this.policyOf(em, orgId),
    }));
    if (!user || user.status !== 'ACTIVE') return { ok: false, errors: [NOT_SIGNED_IN()] };
    const email = normalizeEmail(user.email);
    const wait = await this.throttle.retryAfter(email, clientIp);
    if (wait > 0) return { ok: false, errors: [tooManyAttempts(wait)] };
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.throttle.fail(email, clientIp);
      return { ok: false, errors: [userError('INVALID_PASSWORD', 'currentPassword', 'The current password is wrong.')] };
    }
    const weak = policyErrors(newPassword, policy);
    if (weak.length) return { ok: false, errors: weak };
    const newHash = await hashPassword(newPassword);
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<UserError | { revoked: string[] }> => {
      const locked = await this.users.lockWithSecret(em, orgId, userId);
      // Changed concurrently (another session, a reset): the current password must still be the one checked.
      if (!locked || locked.status !== 'ACTIVE' || locked.passwordHash !== user.passwordHash)
        return userError('PASSWORD_CHANGED_CONCURRENTLY', 'currentPassword', 'Your password was just changed elsewhere. Sign in again.');
      const reused = await this.apply(em, orgId, userId, newPassword, newHash, policy);
      if (reused) return reused;
      const revoked = await revokeOtherSessions(em, orgId, userId, viewer.sessionId, 'password_changed');
      await audit(em, orgId, {
        action: 'auth.password.changed',
        actorType: 'USER',
        actorId: userId,
        targetType: 'User',
        targetId: userId,
        details: { expired: false, revokedSessions: revoked.length },
      });
      return { revoked };
    });
    if ('code' in outcome) return { ok: false, errors: [outcome] };
    this.afterCommit();
    await this.revocations?.sessionsRevoked(outcome.revoked);
    this.log.info({ orgId, userId, revokedSessions: outcome.revoked.length }, 'password changed');
    return { ok: true, errors: [] };
  }

  /**
   * Second step of a sign-in with an expired password: the PASSWORD_CHANGE challenge token (the
   * credential; single-use, 10 minutes) and a new password. The new password is committed (and
   * the challenge spent) before the sign-in continues, and the continuation re-checks the age,
   * so this path cannot yield tokens without the new password in place. Then the normal sign-in
   * follows: the second factor if the user has one (or must enroll), otherwise tokens.
   * A policy failure leaves the challenge usable, so the user can try another password.
   */
  async changeExpired(challengeToken: string, newPassword: string, client: ClientInfo = {}): Promise<TokenPair> {
    if (!this.sessions) return failed(userError('SIGN_IN_UNAVAILABLE', null, 'Sign-in is not configured on this server.'));
    const tokenHash = hashRefreshToken(challengeToken);
    const usable = (c: { consumedAt: Date | null; expiresAt: Date } | null) => !!c && !c.consumedAt && c.expiresAt.getTime() > Date.now();
    // The token carries no tenant: its hash finds the org (auth.tenant_of), everything else runs
    // in that org's tenant transactions.
    const orgId = await tenantOf(this.ds, 'password_change_challenge', tokenHash);
    if (!orgId) return failed(CHALLENGE_INVALID());
    const { peek, policy } = await withTenant(this.ds, orgId, async (em) => ({
      peek: await findPasswordChangeChallenge(em, tokenHash),
      policy: await this.policyOf(em, orgId),
    }));
    if (!peek || !usable(peek)) return failed(CHALLENGE_INVALID());
    const weak = policyErrors(newPassword, policy);
    if (weak.length) return failed(...weak);
    const newHash = await hashPassword(newPassword);
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<UserError | { user: User; revoked: string[]; secondFactor: SecondFactor | null }> => {
      const c = await findPasswordChangeChallenge(em, tokenHash, true);
      if (!c || !usable(c) || c.orgId !== orgId) return CHALLENGE_INVALID();
      const locked = await this.users.lockWithSecret(em, orgId, c.userId);
      if (!locked || locked.status !== 'ACTIVE') {
        await consumePasswordChangeChallenge(em, orgId, c.id);
        return CHALLENGE_INVALID();
      }
      const reused = await this.apply(em, orgId, c.userId, newPassword, newHash, policy);
      if (reused) return reused;
      await consumePasswordChangeChallenge(em, orgId, c.id);
      // No session belongs to this sign-in yet: any open one predates the new password.
      const revoked = await this.sessionDao.revokeAllOfUser(em, orgId, c.userId, 'password_changed');
      await audit(em, orgId, {
        action: 'auth.password.changed',
        actorType: 'USER',
        actorId: c.userId,
        targetType: 'User',
        targetId: c.userId,
        details: { expired: true, revokedSessions: revoked.length },
      });
      const user = await this.users.findById(orgId, c.userId, em);
      return user ? { user, revoked, secondFactor: c.secondFactor } : CHALLENGE_INVALID();
    });
    if ('code' in outcome) return failed(outcome);
    this.afterCommit();
    await this.revocations?.sessionsRevoked(outcome.revoked);
    this.log.info({ orgId, userId: outcome.user.id }, 'expired password changed');
    // The second factor passed before the challenge was issued is not asked for again.
    return this.sessions.signInAfterPassword(outcome.user, client, outcome.secondFactor);
  }
}
