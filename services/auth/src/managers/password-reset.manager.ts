import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { EmailOutboxDao } from '../daos/email-outbox.dao';
import { setPasswordAndBumpEpoch, type PasswordResetDao } from '../daos/password-reset.dao';
import type { RevocationPublisher } from '../tokens/revocations';
import { PASSWORD_RESET_TOKEN_PREFIX, hashLinkToken, looksLikeLinkToken, newLinkToken } from '../mail/link-tokens';
import { queueEmail, sealEmailBody, webLink } from '../mail/outgoing';
import { passwordResetEmail } from '../mail/templates';
import { normalizeEmail } from './account.manager';
import { audit } from './audit';
import type { LoginThrottle } from './login-throttle';
import { readOrgSettings } from './org-settings';
import { checkPasswordPolicy } from './password-policy';
import { checkNotReused, recordPasswordHistory } from './password-history';
import { hashPassword } from './passwords';
import { userError, type UserError } from './user-error';

export interface PasswordResetConfig {
  webBaseUrl: string;
  ttlMinutes: number;
  /** Reset requests (e-mails) per account per hour; beyond, requests are silently dropped. */
  maxPerHour?: number;
}

/** Same answer for unknown, used and expired tokens. */
export const RESET_TOKEN_INVALID = userError(
  'RESET_TOKEN_INVALID',
  'token',
  'This password-reset link is not valid any more (used or expired). Ask for a new one from the sign-in page.',
);

/**
 * Forgotten password (public): a request mails a single-use, expiring link to an ACTIVE user —
 * answering the same, in similar time, whether or not the e-mail exists — and the link sets a new
 * password that meets the org's policy (history included), signing the user out everywhere.
 */
export class PasswordResetManager {
  private readonly log: Logger;
  private readonly maxPerHour: number;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly sessions: SessionDao,
    private readonly resets: PasswordResetDao,
    private readonly outbox: EmailOutboxDao,
    private readonly throttle: LoginThrottle,
    private readonly sealKey: Buffer,
    private readonly config: PasswordResetConfig,
    private readonly revocations: RevocationPublisher | undefined,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
    private readonly afterMail: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'PasswordResetManager' });
    this.maxPerHour = config.maxPerHour ?? 5;
  }

  /** Always `{ ok: true }`: whether an e-mail went out is never told (no account enumeration). */
  async request(rawEmail: string): Promise<{ ok: true; errors: UserError[] }> {
    const email = normalizeEmail(rawEmail ?? '').slice(0, 320);
    const user = email ? await this.users.findForLogin(email) : null;
    if (!user || user.status !== 'ACTIVE') {
      await this.comparableWork();
      return { ok: true, errors: [] };
    }
    const orgId = user.orgId;
    const mailed = await withTenant(this.ds, orgId, async (em) => {
      const recent = await this.resets.countRecent(em, orgId, user.id);
      const limited = recent >= this.maxPerHour;
      if (!limited) {
        const token = newLinkToken(PASSWORD_RESET_TOKEN_PREFIX);
        await this.resets.insert(em, orgId, user.id, hashLinkToken(token), this.config.ttlMinutes);
        const link = webLink(this.config.webBaseUrl, '/reset-password', token);
        const mail = passwordResetEmail({ link, ttlMinutes: this.config.ttlMinutes });
        await queueEmail(em, this.outbox, this.sealKey, orgId, { to: user.email, template: 'password_reset', subject: mail.subject, text: mail.text, link });
      }
      await audit(em, orgId, {
        action: 'auth.password.reset_requested',
        actorType: 'ANONYMOUS',
        actorId: null,
        targetType: 'User',
        targetId: user.id,
        details: { mailed: !limited },
      });
      return !limited;
    });
    this.afterCommit();
    if (mailed) this.afterMail();
    this.log.info({ orgId, userId: user.id, mailed }, mailed ? 'password reset requested' : 'password reset request dropped (rate limit)');
    return { ok: true, errors: [] };
  }

  /** What an unknown e-mail costs instead: a transaction with the rate-limit read, a token, its hash and a sealed body. */
  private async comparableWork(): Promise<void> {
    await this.ds.transaction(async (em) => {
      await this.resets.countRecent(em, randomUUID(), randomUUID());
      const token = newLinkToken(PASSWORD_RESET_TOKEN_PREFIX);
      hashLinkToken(token);
      const link = webLink(this.config.webBaseUrl, '/reset-password', token);
      sealEmailBody(this.sealKey, randomUUID(), { text: passwordResetEmail({ link, ttlMinutes: this.config.ttlMinutes }).text, link });
    });
  }

  async reset(token: string, newPassword: string): Promise<{ ok: boolean; errors: UserError[] }> {
    if (!looksLikeLinkToken(PASSWORD_RESET_TOKEN_PREFIX, token)) return { ok: false, errors: [RESET_TOKEN_INVALID] };
    const tokenHash = hashLinkToken(token);
    const orgId = await this.resets.orgOfToken(tokenHash);
    if (!orgId) return { ok: false, errors: [RESET_TOKEN_INVALID] };
    const passwordHash = await hashPassword(newPassword);
    const r = await withTenant(this.ds, orgId, async (em) => {
      // The row lock makes the token single-use even when two resets race.
      const row = await this.resets.lockByToken(em, orgId, tokenHash);
      if (!row || !row.usable) return { ok: false as const, errors: [RESET_TOKEN_INVALID] };
      const user = await this.users.lockById(em, orgId, row.userId);
      const org = await this.orgs.findById(orgId, em);
      if (!user || user.status !== 'ACTIVE' || !org) return { ok: false as const, errors: [RESET_TOKEN_INVALID] };
      const policy = readOrgSettings(org.settings).passwordPolicy;
      const errors = checkPasswordPolicy(newPassword, policy).map((v) => userError('PASSWORD_TOO_WEAK', 'newPassword', v.message));
      if (!errors.length) {
        const reused = await checkNotReused(em, orgId, user.id, newPassword, policy.historySize);
        if (reused) errors.push(userError('PASSWORD_TOO_WEAK', 'newPassword', reused.message));
      }
      // A refused password does not spend the link: the user tries another one.
      if (errors.length) return { ok: false as const, errors };
      const epoch = await setPasswordAndBumpEpoch(em, orgId, user.id, passwordHash);
      if (epoch === null) return { ok: false as const, errors: [RESET_TOKEN_INVALID] };
      await recordPasswordHistory(em, orgId, user.id, passwordHash);
      await this.resets.useAllOfUser(em, orgId, user.id);
      const sessionIds = await this.sessions.revokeAllOfUser(em, orgId, user.id, 'password_reset');
      // The rightful owner proved control of the mailbox: a lock left by someone guessing ends here.
      await this.throttle.clear(user.email, em);
      await audit(em, orgId, {
        action: 'auth.password.reset',
        actorType: 'USER',
        actorId: user.id,
        targetType: 'User',
        targetId: user.id,
        details: { revokedSessions: sessionIds.length },
      });
      return { ok: true as const, errors: [] as UserError[], userId: user.id, epoch, sessionIds };
    });
    if (!r.ok) return { ok: false, errors: r.errors };
    this.afterCommit();
    // After commit: the gateways refuse the user's older access tokens on their next request.
    await this.revocations?.epochChanged(r.userId, r.epoch);
    await this.revocations?.sessionsRevoked(r.sessionIds);
    this.log.info({ orgId, userId: r.userId, sessions: r.sessionIds.length }, 'password reset');
    return { ok: true, errors: [] };
  }
}
