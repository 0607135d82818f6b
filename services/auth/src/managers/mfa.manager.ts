import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { withTenantOf } from '../daos/tenant-lookup';
import { seal, unseal, type Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { ChallengeRow, MfaDao } from '../daos/mfa.dao';
import type { User } from '../entities/user.entity';
import { hashRefreshToken } from '../tokens/refresh-tokens';
import { BACKUP_CODE_COUNT, hashBackupCode, newBackupCode, newTotpSecret, otpauthUri, verifyTotp } from '../mfa/totp';
import { readOrgSettings } from './org-settings';
import { verifyPassword } from './passwords';
import { failed, throttled, type ClientInfo, type OpenedSession, type SessionManager, type TokenPair } from './session.manager';
import { tooManyAttempts, type LoginThrottle } from './login-throttle';
import { normalizeEmail } from './account.manager';
import QRCode from 'qrcode';
import { audit } from './audit';
import { userError, type UserError } from './user-error';

/** Wrong codes allowed per challenge and per pending enrollment before it is spent. */
export const MFA_MAX_ATTEMPTS = 5;

export interface EnrollTotpResult {
  enrollmentId: string | null;
  otpauthUri: string | null;
  qrCodeDataUrl: string | null;
  errors: UserError[];
}

export interface ConfirmTotpResult extends Omit<TokenPair, 'mfaRequired' | 'mfaEnrollmentRequired' | 'retryAfterSeconds'> {
  backupCodes: string[] | null;
}

const CHALLENGE_INVALID = () => userError('MFA_CHALLENGE_INVALID', 'challengeToken', 'This sign-in step is no longer valid. Sign in again.');
const CODE_INVALID = (left: number) =>
  userError(
    'MFA_CODE_INVALID',
    'code',
    left > 0
      ? `The code is wrong or has already been used (${left} attempt${left === 1 ? '' : 's'} left).`
      : 'The code is wrong. Too many attempts: start again.',
  );
const NOT_SIGNED_IN = () => userError('NOT_SIGNED_IN', null, 'Sign in (or use the enrollment step of your sign-in) to set up two-factor authentication.');

/** Who is enrolling: a signed-in user, or the holder of a forced-enrollment challenge. */
type Enrollee = { orgId: string; userId: string; challenge: ChallengeRow | null };

const noTokens = { accessToken: null, expiresAt: null, refreshToken: null, user: null };
const noChallenge = { passwordChangeRequired: false, challengeToken: null, challengeExpiresAt: null };

/**
 * TOTP second factor: enrollment (sealed secret, otpauth URI shown once), confirmation (activates
 * it, 10 single-use backup codes stored hashed), the login challenge step, disabling with the
 * password. With the org policy "MFA required for admins", an admin without MFA gets an ENROLL
 * challenge at login, which is good for enrollTotp / confirmTotp only; confirming opens the session.
 */
export class MfaManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly mfa: MfaDao,
    private readonly sessions: SessionManager,
    /** AES-256 key sealing TOTP secrets at rest (DLX_MASTER_KEY). */
    private readonly sealKey: Buffer,
    private readonly throttle: LoginThrottle,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'MfaManager' });
  }

  private aad = (userId: string) => `auth.mfa_totp:${userId}`;

  /**
   * The transaction of an MFA step, scoped to its tenant: the org of the challenge token when
   * there is one (looked up by its hash, auth.tenant_of), else the signed-in viewer's org. An
   * anonymous caller without a (known) token gets a transaction that sees no rows.
   */
  private tx<T>(viewer: Viewer | null, challengeToken: string | null | undefined, fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (challengeToken) return withTenantOf(this.ds, 'mfa_challenge', hashRefreshToken(challengeToken), (em) => fn(em));
    if (viewer && viewer.kind !== 'anonymous') return withTenant(this.ds, viewer.orgId, fn);
    return this.ds.transaction(fn);
  }

  /** A usable (unconsumed, unexpired) challenge of the given purpose, locked; null otherwise. */
  private async challenge(em: EntityManager, token: string, purpose: ChallengeRow['purpose']): Promise<ChallengeRow | null> {
    const c = await this.mfa.lockChallenge(em, hashRefreshToken(token));
    if (!c || c.purpose !== purpose || c.consumedAt || c.expiresAt.getTime() <= Date.now() || c.attempts >= MFA_MAX_ATTEMPTS) return null;
    return c;
  }

  private async enrollee(em: EntityManager, viewer: Viewer, challengeToken: string | null | undefined): Promise<Enrollee | UserError> {
    if (challengeToken) {
      const c = await this.challenge(em, challengeToken, 'ENROLL');
      return c ? { orgId: c.orgId, userId: c.userId, challenge: c } : CHALLENGE_INVALID();
    }
    if (viewer.kind !== 'user') return NOT_SIGNED_IN();
    return { orgId: viewer.orgId, userId: viewer.userId, challenge: null };
  }

  async enroll(viewer: Viewer, challengeToken?: string | null): Promise<EnrollTotpResult> {
    const secret = newTotpSecret();
    const outcome = await this.tx(viewer, challengeToken, async (em): Promise<UserError | { id: string; email: string }> => {
      const who = await this.enrollee(em, viewer, challengeToken);
      if ('code' in who) return who;
      const user = await this.users.findById(who.orgId, who.userId, em);
      if (!user || user.status !== 'ACTIVE') return NOT_SIGNED_IN();
      if (await this.mfa.hasActiveTotp(who.orgId, who.userId, em))
        return userError('MFA_ALREADY_ENABLED', null, 'Two-factor authentication is already on. Turn it off first to enroll a new device.');
      const id = await this.mfa.insertPending(em, who.orgId, who.userId, seal(this.sealKey, secret.toString('base64'), this.aad(who.userId)));
      return { id, email: user.email };
    });
    if ('code' in outcome) return { enrollmentId: null, otpauthUri: null, qrCodeDataUrl: null, errors: [outcome] };
    const uri = otpauthUri(secret, outcome.email);
    // Rendered here (not by a QR web service: the secret never leaves the platform), as SVG so the
    // web can show it in an <img> under its strict CSP (img-src data:).
    const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
    return { enrollmentId: outcome.id, otpauthUri: uri, qrCodeDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`, errors: [] };
  }

  async confirm(viewer: Viewer, enrollmentId: string, code: string, challengeToken?: string | null, client: ClientInfo = {}): Promise<ConfirmTotpResult> {
    type Outcome = { error: UserError } | { backupCodes: string[]; user: User; opened: OpenedSession | null; passwordChange: TokenPair | null };
    const outcome = await this.tx(viewer, challengeToken, async (em): Promise<Outcome> => {
      const who = await this.enrollee(em, viewer, challengeToken);
      if ('code' in who) return { error: who };
      const user = await this.users.findById(who.orgId, who.userId, em);
      if (!user || user.status !== 'ACTIVE') return { error: NOT_SIGNED_IN() };
      const row = /^[0-9a-f-]{36}$/i.test(enrollmentId) ? await this.mfa.lockTotp(em, who.orgId, who.userId, enrollmentId) : null;
      if (!row || row.status !== 'PENDING')
        return { error: userError('ENROLLMENT_NOT_FOUND', 'enrollmentId', 'This enrollment does not exist (any more). Start again.') };
      const secret = Buffer.from(unseal(this.sealKey, row.secretSealed, this.aad(who.userId)), 'base64');
      const step = verifyTotp(secret, code.trim(), Date.now());
      if (step === null) {
        const attempts = await this.mfa.countAttempt(em, who.orgId, row.id);
        if (attempts >= MFA_MAX_ATTEMPTS) await this.mfa.deleteTotp(em, who.orgId, row.id);
        if (who.challenge) await this.mfa.challengeAttempt(em, who.orgId, who.challenge.id, who.challenge.attempts + 1 >= MFA_MAX_ATTEMPTS);
        return { error: CODE_INVALID(MFA_MAX_ATTEMPTS - Math.max(attempts, (who.challenge?.attempts ?? 0) + 1)) };
      }
      await this.mfa.activate(em, who.orgId, who.userId, row.id, step);
      const backupCodes = Array.from({ length: BACKUP_CODE_COUNT }, newBackupCode);
      await this.mfa.replaceBackupCodes(em, who.orgId, who.userId, backupCodes.map(hashBackupCode));
      await audit(em, who.orgId, {
        action: 'auth.mfa.enrolled',
        actorType: 'USER',
        actorId: who.userId,
        targetType: 'User',
        targetId: who.userId,
        details: { method: 'totp', atLogin: !!who.challenge },
      });
      let opened: OpenedSession | null = null;
      let passwordChange: TokenPair | null = null;
      if (who.challenge) {
        await this.mfa.consumeChallenge(em, who.orgId, who.challenge.id);
        // Enrolled at login: the second factor is passed; an expired password is still due first.
        passwordChange = await this.sessions.passwordChangeIfExpired(em, user, 'totp_enrollment');
        if (!passwordChange) opened = await this.sessions.openSession(em, user, { method: 'password', mfa: 'totp_enrollment' }, client);
      }
      return { backupCodes, user, opened, passwordChange };
    });
    if ('error' in outcome) {
      this.afterCommit();
      return { ...noTokens, ...noChallenge, backupCodes: null, errors: [outcome.error] };
    }
    this.afterCommit();
    this.log.info({ orgId: outcome.user.orgId, userId: outcome.user.id }, 'TOTP enrolled');
    if (outcome.passwordChange) {
      const { passwordChangeRequired, challengeToken: next, challengeExpiresAt } = outcome.passwordChange;
      return { ...noTokens, passwordChangeRequired, challengeToken: next, challengeExpiresAt, backupCodes: outcome.backupCodes, errors: [] };
    }
    if (!outcome.opened) return { ...noTokens, ...noChallenge, backupCodes: outcome.backupCodes, errors: [] };
    const t = await this.sessions.finishOpen(outcome.user, outcome.opened);
    return {
      accessToken: t.accessToken,
      expiresAt: t.expiresAt,
      refreshToken: t.refreshToken,
      user: t.user,
      ...noChallenge,
      backupCodes: outcome.backupCodes,
      errors: [],
    };
  }

  /** The second login step: a current TOTP code (never one used before) or an unused backup code. */
  async completeLogin(challengeToken: string, code: string, client: ClientInfo = {}): Promise<TokenPair> {
    const { clientIp } = client;
    type Outcome =
      { error: UserError } | { wait: number } | { failedFor: string; error: UserError } | { passwordChange: TokenPair } | { user: User; opened: OpenedSession };
    const outcome = await this.tx(null, challengeToken, async (em): Promise<Outcome> => {
      const c = await this.challenge(em, challengeToken, 'LOGIN');
      if (!c) return { error: CHALLENGE_INVALID() };
      const user = await this.users.findById(c.orgId, c.userId, em);
      // The account's and the address's limits count wrong codes too (a challenge allows only 5,
      // but the password would open new challenges).
      const wait = user ? await this.throttle.retryAfter(normalizeEmail(user.email), clientIp, em) : 0;
      if (wait > 0) return { wait };
      const totp = user && user.status === 'ACTIVE' ? await this.mfa.lockActiveTotp(em, c.orgId, c.userId) : null;
      if (!user || !totp) {
        await this.mfa.consumeChallenge(em, c.orgId, c.id);
        return { error: CHALLENGE_INVALID() };
      }
      const typed = code.trim();
      let method: 'totp' | 'backup_code' | null = null;
      if (/^\d{6}$/.test(typed)) {
        const secret = Buffer.from(unseal(this.sealKey, totp.secretSealed, this.aad(c.userId)), 'base64');
        const step = verifyTotp(secret, typed, Date.now(), { notAfterStep: totp.lastUsedStep });
        if (step !== null) {
          await this.mfa.markStepUsed(em, c.orgId, totp.id, step);
          method = 'totp';
        }
      } else if (await this.mfa.useBackupCode(em, c.orgId, c.userId, hashBackupCode(typed))) {
        method = 'backup_code';
      }
      if (!method) {
        const spent = c.attempts + 1 >= MFA_MAX_ATTEMPTS;
        await this.mfa.challengeAttempt(em, c.orgId, c.id, spent);
        await audit(em, c.orgId, {
          action: 'auth.login.failed',
          actorType: 'ANONYMOUS',
          actorId: null,
          targetType: 'User',
          targetId: c.userId,
          details: { reason: 'mfa_code_wrong', ...(clientIp ? { ip: clientIp } : {}) },
        });
        return { failedFor: normalizeEmail(user.email), error: CODE_INVALID(MFA_MAX_ATTEMPTS - c.attempts - 1) };
      }
      await this.mfa.consumeChallenge(em, c.orgId, c.id);
      // Second factor passed; an expired password is the last thing due before a session.
      const passwordChange = await this.sessions.passwordChangeIfExpired(em, user, method);
      if (passwordChange) return { passwordChange };
      return { user, opened: await this.sessions.openSession(em, user, { method: 'password', mfa: method }, client) };
    });
    this.afterCommit();
    if ('passwordChange' in outcome) return outcome.passwordChange;
    if ('wait' in outcome) return throttled(outcome.wait);
    if ('failedFor' in outcome) await this.throttle.fail(outcome.failedFor, clientIp);
    if ('error' in outcome) return failed(outcome.error);
    return this.sessions.finishOpen(outcome.user, outcome.opened);
  }

  /** Turns TOTP off after re-authentication with the password; refused while the org requires it of admins. */
  async disable(viewer: Viewer, password: string, clientIp?: string): Promise<{ ok: boolean; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { ok: false, errors: [NOT_SIGNED_IN()] };
    const user = await this.users.findWithSecret(viewer.orgId, viewer.userId);
    if (!user) return { ok: false, errors: [NOT_SIGNED_IN()] };
    // Re-authentication is a password check like login: the same limits apply.
    const email = normalizeEmail(user.email);
    const wait = await this.throttle.retryAfter(email, clientIp);
    if (wait > 0) return { ok: false, errors: [tooManyAttempts(wait)] };
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, password))) {
      await this.throttle.fail(email, clientIp);
      return { ok: false, errors: [userError('INVALID_PASSWORD', 'password', 'The password is wrong.')] };
    }
    const org = await this.orgs.findById(viewer.orgId);
    if (user.orgRole === 'ADMIN' && readOrgSettings(org?.settings).mfaPolicy.requiredForAdmins) {
      return { ok: false, errors: [userError('MFA_REQUIRED_BY_POLICY', null, 'Your organization requires administrators to use two-factor authentication.')] };
    }
    const removed = await withTenant(this.ds, viewer.orgId, async (em) => {
      const n = await this.mfa.removeAll(em, viewer.orgId, viewer.userId);
      if (n > 0)
        await audit(em, viewer.orgId, {
          action: 'auth.mfa.disabled',
          actorType: 'USER',
          actorId: viewer.userId,
          targetType: 'User',
          targetId: viewer.userId,
          details: { method: 'totp' },
        });
      return n;
    });
    if (removed === 0) return { ok: false, errors: [userError('MFA_NOT_ENABLED', null, 'Two-factor authentication is not on.')] };
    this.afterCommit();
    this.log.info({ orgId: viewer.orgId, userId: viewer.userId }, 'TOTP disabled');
    return { ok: true, errors: [] };
  }

  /** Whether the viewer has an active second factor (for `me`). */
  async enabled(viewer: Viewer): Promise<boolean> {
    return viewer.kind === 'user' ? this.mfa.hasActiveTotp(viewer.orgId, viewer.userId) : false;
  }
}
