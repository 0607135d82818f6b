import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { WorkspaceGrantDao } from '../daos/workspace-grant.dao';
import type { MfaDao } from '../daos/mfa.dao';
import type { Session } from '../entities/session.entity';
import type { User } from '../entities/user.entity';
import type { AccessTokenIssuer } from '../tokens/access-tokens';
import type { RevocationPublisher } from '../tokens/revocations';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh-tokens';
import { hashSessionCookie, newSessionCookie, sessionIdOfCookie } from '../tokens/session-cookies';
import { withTenantOf } from '../daos/tenant-lookup';
import { readOrgSettings, type SessionPolicy } from './org-settings';
import { createPasswordChangeChallenge, type SecondFactor } from '../daos/password-change.dao';
import { PASSWORD_CHANGE_CHALLENGE_TTL_MS, newPasswordChangeToken, passwordExpired } from './password-expiry';
import { primeDummyHash, verifyAgainstDummy, verifyPassword } from './passwords';
import { normalizeEmail } from './account.manager';
import { audit } from './audit';
import { tooManyAttempts, type LoginThrottle } from './login-throttle';
import { userError, type UserError } from './user-error';

export interface TokenPair {
  accessToken: string | null;
  expiresAt: Date | null;
  refreshToken: string | null;
  user: User | null;
  /** The password was right; the second factor is still due (completeMfaLogin). No tokens yet. */
  mfaRequired: boolean;
  /** The password was right; the org requires MFA of this admin, who has none: only enrollment is possible. */
  mfaEnrollmentRequired: boolean;
  /** The password was right but older than the org allows: changeExpiredPassword with the challenge token. No tokens yet. */
  passwordChangeRequired: boolean;
  challengeToken: string | null;
  challengeExpiresAt: Date | null;
  /** With TOO_MANY_ATTEMPTS: seconds until the next attempt is accepted. */
  retryAfterSeconds: number | null;
  errors: UserError[];
}

export const failed = (...errors: UserError[]): TokenPair => ({
  accessToken: null,
  expiresAt: null,
  refreshToken: null,
  user: null,
  mfaRequired: false,
  mfaEnrollmentRequired: false,
  passwordChangeRequired: false,
  challengeToken: null,
  challengeExpiresAt: null,
  retryAfterSeconds: null,
  errors,
});

/** Who is signing in from where (from the signed viewer assertion): stored on the session, shown in the session list. */
export interface ClientInfo {
  clientIp?: string;
  userAgent?: string;
}

/** A session just opened inside a transaction; `revokedSessionIds` are older ones it displaced (max concurrent sessions). */
export interface OpenedSession {
  session: Session;
  refreshToken: string;
  revokedSessionIds: string[];
}

export interface SessionView {
  id: string;
  createdAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  current: boolean;
  userAgent: string | null;
  ip: string | null;
}

export const throttled = (retryAfterSeconds: number): TokenPair => ({ ...failed(tooManyAttempts(retryAfterSeconds)), retryAfterSeconds });

/** How long the step between password and second factor (or forced enrollment) stays open. */
export const MFA_CHALLENGE_TTL_MS = 5 * 60_000;
export const MFA_CHALLENGE_PREFIX = 'dlx_mfa_';
export const newChallengeToken = (): string => `${MFA_CHALLENGE_PREFIX}${randomBytes(32).toString('base64url')}`;
const INVALID_CREDENTIALS = () => userError('INVALID_CREDENTIALS', null, 'The e-mail address or the password is wrong.');

/** A refused refresh or cookie exchange; `revokedSessionId` when the refusal revoked the session (to publish after commit). */
type SessionRefusal = { kind: 'error'; error: UserError; revokedSessionId?: string };
type RefreshOutcome = { kind: 'ok'; session: Session; refreshToken: string } | SessionRefusal;

/**
 * Login, refresh-token rotation and logout. Access tokens are short-lived JWTs carrying the
 * user's token epoch; refresh tokens are opaque, stored hashed, single-use: presenting one that
 * was already rotated means it was stolen (or replayed), so the whole session is revoked.
 */
export class SessionManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    private readonly sessions: SessionDao,
    private readonly grants: WorkspaceGrantDao,
    private readonly mfa: MfaDao,
    private readonly issuer: AccessTokenIssuer,
    private readonly revocations: RevocationPublisher,
    private readonly throttle: LoginThrottle,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'SessionManager' });
    void primeDummyHash();
  }

  /** Same answer, in about the same time, for an unknown e-mail, a wrong password and a deactivated account. */
  async login(input: { email: string; password: string }, client: ClientInfo = {}): Promise<TokenPair> {
    const { clientIp } = client;
    const email = normalizeEmail(input.email);
    // Locked (this e-mail, known or not, or this address): refused before any password check.
    const wait = await this.throttle.retryAfter(email, clientIp);
    if (wait > 0) {
      this.log.info({ clientIp, retryAfterSeconds: wait }, 'login refused: too many attempts');
      return throttled(wait);
    }
    const user = await this.users.findForLogin(email);
    if (!user || !user.passwordHash) {
      await verifyAgainstDummy(input.password);
      await this.throttle.fail(email, clientIp);
      return failed(INVALID_CREDENTIALS());
    }
    const ok = await verifyPassword(user.passwordHash, input.password);
    if (!ok || user.status !== 'ACTIVE') {
      await this.throttle.fail(email, clientIp);
      await withTenant(this.ds, user.orgId, (em) =>
        audit(em, user.orgId, {
          action: 'auth.login.failed',
          actorType: 'ANONYMOUS',
          actorId: null,
          targetType: 'User',
          targetId: user.id,
          details: { reason: ok ? 'deactivated' : 'wrong_password', ...(clientIp ? { ip: clientIp } : {}) },
        }),
      );
      this.afterCommit();
      this.log.info({ orgId: user.orgId, userId: user.id }, 'login failed');
      return failed(INVALID_CREDENTIALS());
    }
    const { passwordHash: _secret, ...rest } = user;
    return this.signInAfterPassword(rest as User, client);
  }

  /**
   * Every step after a correct password, in this order: (1) the second factor (MFA challenge, or
   * forced enrollment), unless `secondFactor` says it was passed already; (2) an expired password
   * (org policy `maxAgeDays`) → a PASSWORD_CHANGE challenge and nothing else; (3) the session and
   * its tokens. The MFA steps check (2) themselves before opening a session
   * (`passwordChangeIfExpired`), and changeExpiredPassword calls this again once the new password
   * is committed (with the second factor its challenge recorded), so the expiry check is on every
   * path to tokens: an expired password never yields a session. The second factor comes first so
   * that someone who knows only an expired password cannot change it.
   */
  async signInAfterPassword(user: User, client: ClientInfo = {}, secondFactor: SecondFactor | null = null): Promise<TokenPair> {
    const orgId = user.orgId;
    const { settings, hasMfa } = await withTenant(this.ds, orgId, async (em) => ({
      settings: readOrgSettings((await this.orgs.findById(orgId, em))?.settings),
      hasMfa: await this.mfa.hasActiveTotp(orgId, user.id, em),
    }));
    // Second factor: an enrolled user gets a challenge; an admin the org requires MFA of, who has
    // none, gets an enrollment challenge. Neither carries a session or a token the gateway accepts.
    if (!secondFactor && (hasMfa || (settings.mfaPolicy.requiredForAdmins && user.orgRole === 'ADMIN'))) {
      const challengeToken = newChallengeToken();
      const challengeExpiresAt = new Date(Date.now() + MFA_CHALLENGE_TTL_MS);
      await withTenant(this.ds, orgId, (em) =>
        this.mfa.createChallenge(em, {
          orgId,
          userId: user.id,
          tokenHash: hashRefreshToken(challengeToken),
          purpose: hasMfa ? 'LOGIN' : 'ENROLL',
          expiresAt: challengeExpiresAt,
        }),
      );
      this.log.info({ orgId, userId: user.id, purpose: hasMfa ? 'LOGIN' : 'ENROLL' }, 'password accepted: second factor due');
      return { ...failed(), mfaRequired: hasMfa, mfaEnrollmentRequired: !hasMfa, challengeToken, challengeExpiresAt };
    }
    const due = await withTenant(this.ds, orgId, (em) => this.passwordChangeIfExpired(em, user, secondFactor));
    if (due) return due;
    const opened = await withTenant(this.ds, orgId, (em) =>
      this.openSession(em, user, { method: 'password', ...(secondFactor ? { mfa: secondFactor } : {}) }, client),
    );
    this.afterCommit();
    return this.finishOpen(user, opened);
  }

  /**
   * Inside the caller's (tenant) transaction, the last check before a session opens: when the
   * user's password is older than the org allows, a PASSWORD_CHANGE challenge (remembering the
   * second factor already passed) is stored and returned instead; null when the password is fine.
   */
  async passwordChangeIfExpired(em: EntityManager, user: User, secondFactor: SecondFactor | null): Promise<TokenPair | null> {
    const settings = readOrgSettings((await this.orgs.findById(user.orgId, em))?.settings);
    if (!passwordExpired(user.passwordChangedAt, settings.passwordPolicy.maxAgeDays)) return null;
    const challengeToken = newPasswordChangeToken();
    const challengeExpiresAt = new Date(Date.now() + PASSWORD_CHANGE_CHALLENGE_TTL_MS);
    await createPasswordChangeChallenge(em, user.orgId, {
      userId: user.id,
      tokenHash: hashRefreshToken(challengeToken),
      expiresAt: challengeExpiresAt,
      secondFactor,
    });
    this.log.info({ orgId: user.orgId, userId: user.id }, 'password accepted but expired: a new password is due');
    return { ...failed(), passwordChangeRequired: true, challengeToken, challengeExpiresAt };
  }

  /**
   * Opens a session inside the caller's transaction (the last step of every login path): the
   * session with the org's absolute lifetime, its first refresh token, the audit event.
   */
  async openSession(em: EntityManager, user: User, details: Record<string, unknown>, client: ClientInfo = {}): Promise<OpenedSession> {
    const refreshToken = newRefreshToken();
    const org = await this.orgs.findById(user.orgId, em);
    const policy = readOrgSettings(org?.settings).sessionPolicy;
    const session = await this.sessions.create(em, {
      orgId: user.orgId,
      userId: user.id,
      expiresAt: new Date(Date.now() + policy.absoluteLifetimeHours * 3600_000),
      userAgent: client.userAgent ?? null,
      ip: client.clientIp ?? null,
    });
    await this.sessions.addRefreshToken(em, user.orgId, session.id, hashRefreshToken(refreshToken));
    await this.throttle.clear(normalizeEmail(user.email), em);
    await audit(em, user.orgId, {
      action: 'auth.login.succeeded',
      actorType: 'USER',
      actorId: user.id,
      targetType: 'Session',
      targetId: session.id,
      details: { ...details, ...(client.clientIp ? { ip: client.clientIp } : {}) },
    });
    // Max concurrent sessions: the oldest beyond the limit make room for this one.
    const revokedSessionIds = policy.maxConcurrentSessions
      ? await this.sessions.revokeBeyond(em, user.orgId, user.id, session.id, policy.maxConcurrentSessions)
      : [];
    for (const sid of revokedSessionIds) {
      await audit(em, user.orgId, {
        action: 'auth.session.revoked',
        actorType: 'USER',
        actorId: user.id,
        targetType: 'Session',
        targetId: sid,
        details: { reason: 'max_sessions' },
      });
    }
    this.log.info({ orgId: user.orgId, userId: user.id, sessionId: session.id, displaced: revokedSessionIds.length }, 'logged in');
    return { session, refreshToken, revokedSessionIds };
  }

  /** After the commit of openSession: tells the gateways about displaced sessions, then issues the tokens. */
  async finishOpen(user: User, opened: OpenedSession): Promise<TokenPair> {
    if (opened.revokedSessionIds.length) await this.revocations.sessionsRevoked(opened.revokedSessionIds);
    return this.issue(user, opened.session, opened.refreshToken);
  }

  /** The viewer's own open sessions, newest first; `current` marks the one this request comes from. */
  async mySessions(viewer: Viewer): Promise<SessionView[]> {
    if (viewer.kind !== 'user') return [];
    return (await this.sessions.listOpen(viewer.orgId, viewer.userId)).map((x) => this.view(x, viewer.sessionId));
  }

  /** Org ADMIN (users:manage, checked by shield): the open sessions of a user of the org. */
  async userSessions(viewer: Viewer, userId: string): Promise<SessionView[]> {
    if (viewer.kind !== 'user') return [];
    return (await this.sessions.listOpen(viewer.orgId, userId)).map((x) => this.view(x, viewer.sessionId));
  }

  private view(x: Session, currentId: string): SessionView {
    return {
      id: x.id,
      createdAt: x.createdAt,
      lastUsedAt: x.lastUsedAt,
      expiresAt: x.expiresAt,
      current: x.id === currentId,
      userAgent: x.userAgent,
      ip: x.ip,
    };
  }

  /**
   * Revokes one session: one's own, or — for an org ADMIN — any session in the org. Not found for
   * anything else (another org's session, or another user's for a non-admin). Its access tokens
   * are refused from the gateway's next request on (NATS KV).
   */
  async revokeSession(viewer: Viewer, sessionId: string): Promise<{ ok: boolean; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { ok: false, errors: [userError('NOT_A_SESSION', null, 'Only a signed-in user can revoke sessions.')] };
    const notFound = { ok: false, errors: [userError('SESSION_NOT_FOUND', 'id', `Session ${sessionId} was not found.`)] };
    if (!/^[0-9a-f-]{36}$/i.test(sessionId)) return notFound;
    const isAdmin = viewer.orgRole === 'ADMIN';
    const revoked = await withTenant(this.ds, viewer.orgId, async (em) => {
      const target = isAdmin
        ? await this.sessions.revokeInOrg(em, viewer.orgId, sessionId, 'revoked')
        : (await this.sessions.revoke(em, viewer.orgId, viewer.userId, sessionId, 'revoked'))
          ? { userId: viewer.userId }
          : null;
      if (target) {
        await audit(em, viewer.orgId, {
          action: 'auth.session.revoked',
          actorType: 'USER',
          actorId: viewer.userId,
          targetType: 'Session',
          targetId: sessionId,
          details: { reason: 'revoked', userId: target.userId },
        });
      }
      return target;
    });
    if (!revoked) return notFound;
    this.afterCommit();
    await this.revocations.sessionsRevoked([sessionId]);
    this.log.info({ orgId: viewer.orgId, by: viewer.userId, sessionId, userId: revoked.userId }, 'session revoked');
    return { ok: true, errors: [] };
  }

  async refresh(presented: string): Promise<TokenPair> {
    const outcome = await withTenantOf(this.ds, 'refresh_token', hashRefreshToken(presented), async (em): Promise<RefreshOutcome> => {
      const spent = await this.spendRefreshToken(em, presented, 'refreshToken');
      if (spent.kind === 'error') return spent;
      const { session } = spent;
      const refreshToken = newRefreshToken();
      await this.sessions.addRefreshToken(em, session.orgId, session.id, hashRefreshToken(refreshToken));
      await this.sessions.touch(em, session.orgId, session.id);
      return { kind: 'ok', session, refreshToken };
    });
    if (outcome.kind === 'error') {
      await this.publishRefusal(outcome);
      return failed(outcome.error);
    }
    const user = await this.users.findById(outcome.session.orgId, outcome.session.userId);
    if (!user) return failed(userError('SESSION_REVOKED', 'refreshToken', 'This session has been signed out. Sign in again.'));
    return this.issue(user, outcome.session, outcome.refreshToken);
  }

  /**
   * Inside the caller's transaction: finds and locks the presented refresh token's session, refuses
   * an unknown token or a revoked session, treats a rotated token as stolen (the whole session is
   * revoked), applies the session checks and marks the token rotated. Shared by refreshSession and
   * the browser-session conversion, so both spend a refresh token the same way.
   */
  private async spendRefreshToken(em: EntityManager, presented: string, field: string): Promise<SessionRefusal | { kind: 'ok'; session: Session; user: User }> {
    const found = await this.sessions.lockByRefreshHash(em, hashRefreshToken(presented));
    if (!found) return { kind: 'error', error: userError('REFRESH_TOKEN_INVALID', field, 'The refresh token is not valid. Sign in again.') };
    const { session } = found;
    if (session.revokedAt) return { kind: 'error', error: userError('SESSION_REVOKED', field, 'This session has been signed out. Sign in again.') };
    if (found.rotatedAt) {
      await this.revokeRefused(em, session, 'refresh_token_reuse');
      return {
        kind: 'error',
        revokedSessionId: session.id,
        error: userError('REFRESH_TOKEN_REUSED', field, 'This refresh token was already used; the session has been signed out for safety. Sign in again.'),
      };
    }
    const checked = await this.checkOpenSession(em, session, field);
    if (checked.kind === 'error') return checked;
    await this.sessions.markRotated(em, session.orgId, found.tokenId);
    return { kind: 'ok', session, user: checked.user };
  }

  /**
   * Inside the caller's transaction, for a session that is not revoked: its absolute expiry, the
   * org's current session policy (idle timeout, absolute lifetime: applied to sessions opened
   * before the policy changed, too — an idle or too old session is revoked), the user still
   * ACTIVE, and the MFA-required-for-admins rule.
   */
  private async checkOpenSession(
    em: EntityManager,
    session: Session,
    field: string,
  ): Promise<SessionRefusal | { kind: 'ok'; user: User; policy: SessionPolicy }> {
    if (session.expiresAt.getTime() <= Date.now())
      return { kind: 'error', error: userError('SESSION_EXPIRED', field, 'This session has expired. Sign in again.') };
    // The org's current session policy applies to sessions opened before it changed, too.
    const policy = readOrgSettings((await this.orgs.findById(session.orgId, em))?.settings).sessionPolicy;
    const idle = policy.idleTimeoutMinutes !== null && Date.now() - session.lastUsedAt.getTime() > policy.idleTimeoutMinutes * 60_000;
    const tooOld = Date.now() - session.createdAt.getTime() > policy.absoluteLifetimeHours * 3600_000;
    if (idle || tooOld) {
      const reason = idle ? 'idle_timeout' : 'absolute_lifetime';
      await this.revokeRefused(em, session, reason);
      return {
        kind: 'error',
        revokedSessionId: session.id,
        error: userError(
          'SESSION_EXPIRED',
          field,
          idle ? 'This session was unused for too long and has been signed out. Sign in again.' : 'This session has expired. Sign in again.',
        ),
      };
    }
    const user = await this.users.findById(session.orgId, session.userId, em);
    if (!user || user.status !== 'ACTIVE')
      return { kind: 'error', error: userError('SESSION_REVOKED', field, 'This session has been signed out. Sign in again.') };
    // A session opened before the org required MFA of admins does not outlive the policy.
    const org = await this.orgs.findById(session.orgId, em);
    if (readOrgSettings(org?.settings).mfaPolicy.requiredForAdmins && user.orgRole === 'ADMIN' && !(await this.mfa.hasActiveTotp(session.orgId, user.id, em))) {
      await this.sessions.revoke(em, session.orgId, session.userId, session.id, 'mfa_required');
      return {
        kind: 'error',
        revokedSessionId: session.id,
        error: userError(
          'MFA_ENROLLMENT_REQUIRED',
          field,
          'Your organization requires administrators to use two-factor authentication. Sign in again to set it up.',
        ),
      };
    }
    return { kind: 'ok', user, policy };
  }

  /**
   * Inside the caller's transaction: revokes a session that a refresh or exchange refused to go on
   * with (its refresh token reused, idle or too old), audited as revoked with no actor and the reason.
   */
  private async revokeRefused(em: EntityManager, session: Session, reason: 'refresh_token_reuse' | 'idle_timeout' | 'absolute_lifetime'): Promise<void> {
    await this.sessions.revoke(em, session.orgId, session.userId, session.id, reason);
    await audit(em, session.orgId, {
      action: 'auth.session.revoked',
      actorType: 'ANONYMOUS',
      actorId: null,
      targetType: 'Session',
      targetId: session.id,
      details: { reason },
    });
  }

  /** After the commit of a refused refresh/exchange that revoked the session: tells the gateways. */
  private async publishRefusal(refusal: SessionRefusal): Promise<void> {
    if (!refusal.revokedSessionId) return;
    this.afterCommit();
    await this.revocations.sessionsRevoked([refusal.revokedSessionId]);
    this.log.warn({ sessionId: refusal.revokedSessionId, code: refusal.error.code }, 'session revoked on refresh');
  }

  /** Signs out the viewer's current session (its access tokens are rejected from the next request on). */
  async logout(viewer: Viewer): Promise<{ ok: boolean; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { ok: false, errors: [userError('NOT_A_SESSION', null, 'Only a signed-in user has a session to sign out of.')] };
    const revoked = await withTenant(this.ds, viewer.orgId, (em) => this.revokeForLogout(em, viewer.orgId, viewer.userId, viewer.sessionId));
    if (revoked) await this.announceLogout(viewer.orgId, viewer.userId, viewer.sessionId);
    return { ok: true, errors: [] };
  }

  /** Inside the caller's transaction: revokes the session as a logout (audited); false when it was already revoked. */
  private async revokeForLogout(em: EntityManager, orgId: string, userId: string, sessionId: string): Promise<boolean> {
    const done = await this.sessions.revoke(em, orgId, userId, sessionId, 'logout');
    if (done) await audit(em, orgId, { action: 'auth.logout', actorType: 'USER', actorId: userId, targetType: 'Session', targetId: sessionId });
    return done;
  }

  /** After the commit of revokeForLogout: its access tokens are refused from the gateways' next request on. */
  private async announceLogout(orgId: string, userId: string, sessionId: string): Promise<void> {
    this.afterCommit();
    await this.revocations.sessionsRevoked([sessionId]);
    this.log.info({ orgId, userId, sessionId }, 'logged out');
  }

  async issue(user: User, session: Session, refreshToken: string): Promise<TokenPair> {
    const { token, expiresAt } = await this.accessTokenFor(user, session);
    return { ...failed(), accessToken: token, expiresAt, refreshToken, user };
  }

  /** An access token for the session: user, org role, workspace grants, session id, token epoch; never past `notAfter`. */
  private async accessTokenFor(user: User, session: Session, notAfter: Date = session.expiresAt): Promise<{ token: string; expiresAt: Date }> {
    const grants = (await this.grants.listByUser(user.orgId, user.id)).map((g) => ({ workspaceId: g.workspaceId, role: g.role }));
    return this.issuer.sign(
      { sub: user.id, org: user.orgId, role: user.orgRole, ...(grants.length ? { grants } : {}), sid: session.id, ep: user.tokenEpoch },
      notAfter,
    );
  }

  // --- Browser sessions (the gateway's httpOnly `dlx_session` cookie) -------------------------
  // The gateway trades the cookie for short-lived access tokens (POST /sessions/exchange) and
  // caches them; there is no refresh-token rotation on this path, so concurrent browser requests
  // cannot race each other into reuse detection. Callers are the plain-HTTP routes in app.ts.

  /**
   * Turns the session of a refresh token into a browser session: spends the token exactly like
   * refreshSession (a rotated one revokes the session) but issues no new one: the session's only
   * credential from now on is the returned cookie (stored as sha256).
   */
  async createBrowserSession(presented: unknown): Promise<{ ok: true; cookie: string; expiresAt: Date } | { ok: false; reason: string }> {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 512) return { ok: false, reason: 'REFRESH_TOKEN_INVALID' };
    // Scoped to the tenant owning the token (row-level security); an unknown token sees no rows.
    const outcome = await withTenantOf(
      this.ds,
      'refresh_token',
      hashRefreshToken(presented),
      async (em): Promise<SessionRefusal | { kind: 'ok'; session: Session; cookie: string }> => {
        const spent = await this.spendRefreshToken(em, presented, 'refreshToken');
        if (spent.kind === 'error') return spent;
        const { session } = spent;
        const cookie = newSessionCookie(session.id);
        await this.sessions.setCookieHash(em, session.orgId, session.id, hashSessionCookie(cookie));
        await this.sessions.touch(em, session.orgId, session.id);
        return { kind: 'ok', session, cookie };
      },
    );
    if (outcome.kind === 'error') {
      await this.publishRefusal(outcome);
      return { ok: false, reason: outcome.error.code };
    }
    this.log.info({ orgId: outcome.session.orgId, userId: outcome.session.userId, sessionId: outcome.session.id }, 'browser session opened');
    return { ok: true, cookie: outcome.cookie, expiresAt: outcome.session.expiresAt };
  }

  /**
   * Browser cookie → access token for its session, after the checks refreshSession makes; resets
   * the idle timer. The token lives at most half the org's idle timeout, so a browser in use
   * exchanges again (and so stays active) before the session could idle out.
   */
  async exchangeBrowserSession(cookie: unknown): Promise<{ ok: true; accessToken: string; expiresAt: Date } | { ok: false; reason: string }> {
    const sessionId = typeof cookie === 'string' ? sessionIdOfCookie(cookie) : null;
    if (typeof cookie !== 'string' || !sessionId) return { ok: false, reason: 'SESSION_INVALID' };
    const hash = hashSessionCookie(cookie);
    const outcome = await withTenantOf(
      this.ds,
      'session_cookie',
      hash.toString('hex'),
      async (em): Promise<SessionRefusal | { kind: 'ok'; session: Session; user: User; policy: SessionPolicy }> => {
        const session = await this.sessions.lockByCookieHash(em, hash);
        // The id check is defence in depth: the hash alone already identifies the session.
        if (!session || session.id !== sessionId)
          return { kind: 'error', error: userError('SESSION_INVALID', 'cookie', 'This sign-in is not valid. Sign in again.') };
        if (session.revokedAt) return { kind: 'error', error: userError('SESSION_REVOKED', 'cookie', 'This session has been signed out. Sign in again.') };
        const checked = await this.checkOpenSession(em, session, 'cookie');
        if (checked.kind === 'error') return checked;
        await this.sessions.touch(em, session.orgId, session.id);
        return { kind: 'ok', session, user: checked.user, policy: checked.policy };
      },
    );
    if (outcome.kind === 'error') {
      await this.publishRefusal(outcome);
      return { ok: false, reason: outcome.error.code };
    }
    const idleMs = outcome.policy.idleTimeoutMinutes === null ? Infinity : (outcome.policy.idleTimeoutMinutes * 60_000) / 2;
    const notAfter = new Date(Math.min(outcome.session.expiresAt.getTime(), Date.now() + idleMs));
    const { token, expiresAt } = await this.accessTokenFor(outcome.user, outcome.session, notAfter);
    return { ok: true, accessToken: token, expiresAt };
  }

  /** Logout of a browser session (same as the logout mutation). Always ok: an unknown or already revoked cookie is signed out already. */
  async revokeBrowserSession(cookie: unknown): Promise<{ ok: true }> {
    const sessionId = typeof cookie === 'string' ? sessionIdOfCookie(cookie) : null;
    if (typeof cookie !== 'string' || !sessionId) return { ok: true };
    const hash = hashSessionCookie(cookie);
    const revoked = await withTenantOf(this.ds, 'session_cookie', hash.toString('hex'), async (em) => {
      const session = await this.sessions.lockByCookieHash(em, hash);
      if (!session || session.id !== sessionId) return null;
      return (await this.revokeForLogout(em, session.orgId, session.userId, session.id)) ? session : null;
    });
    if (revoked) await this.announceLogout(revoked.orgId, revoked.userId, revoked.id);
    return { ok: true };
  }
}
