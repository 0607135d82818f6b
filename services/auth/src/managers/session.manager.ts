import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '@datalinx/common';
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
import { readOrgSettings } from './org-settings';
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

type RefreshOutcome =
  | { kind: 'ok'; session: Session; refreshToken: string }
  | { kind: 'error'; error: UserError; revokedSessionId?: string };

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
      await this.ds.transaction((em) =>
        audit(em, user.orgId, { action: 'auth.login.failed', actorType: 'ANONYMOUS', actorId: null, targetType: 'User', targetId: user.id, details: { reason: ok ? 'deactivated' : 'wrong_password', ...(clientIp ? { ip: clientIp } : {}) } }),
      );
      this.afterCommit();
      this.log.info({ orgId: user.orgId, userId: user.id }, 'login failed');
      return failed(INVALID_CREDENTIALS());
    }
    const org = await this.orgs.findById(user.orgId);
    const settings = readOrgSettings(org?.settings);
    const { passwordHash: _secret, ...rest } = user;
    const publicUser = rest as User;
    // Second factor: an enrolled user gets a challenge; an admin the org requires MFA of, who has
    // none, gets an enrollment challenge. Neither carries a session or a token the gateway accepts.
    const hasMfa = await this.mfa.hasActiveTotp(user.orgId, user.id);
    if (hasMfa || (settings.mfaPolicy.requiredForAdmins && user.orgRole === 'ADMIN')) {
      const challengeToken = newChallengeToken();
      const challengeExpiresAt = new Date(Date.now() + MFA_CHALLENGE_TTL_MS);
      await this.ds.transaction((em) =>
        this.mfa.createChallenge(em, { orgId: user.orgId, userId: user.id, tokenHash: hashRefreshToken(challengeToken), purpose: hasMfa ? 'LOGIN' : 'ENROLL', expiresAt: challengeExpiresAt }),
      );
      this.log.info({ orgId: user.orgId, userId: user.id, purpose: hasMfa ? 'LOGIN' : 'ENROLL' }, 'password accepted: second factor due');
      return { ...failed(), mfaRequired: hasMfa, mfaEnrollmentRequired: !hasMfa, challengeToken, challengeExpiresAt };
    }
    const opened = await this.ds.transaction((em) => this.openSession(em, publicUser, { method: 'password' }, client));
    this.afterCommit();
    return this.finishOpen(publicUser, opened);
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
    await audit(em, user.orgId, { action: 'auth.login.succeeded', actorType: 'USER', actorId: user.id, targetType: 'Session', targetId: session.id, details: { ...details, ...(client.clientIp ? { ip: client.clientIp } : {}) } });
    // Max concurrent sessions: the oldest beyond the limit make room for this one.
    const revokedSessionIds = policy.maxConcurrentSessions ? await this.sessions.revokeBeyond(em, user.orgId, user.id, session.id, policy.maxConcurrentSessions) : [];
    for (const sid of revokedSessionIds) {
      await audit(em, user.orgId, { action: 'auth.session.revoked', actorType: 'USER', actorId: user.id, targetType: 'Session', targetId: sid, details: { reason: 'max_sessions' } });
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
    return { id: x.id, createdAt: x.createdAt, lastUsedAt: x.lastUsedAt, expiresAt: x.expiresAt, current: x.id === currentId, userAgent: x.userAgent, ip: x.ip };
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
    const revoked = await this.ds.transaction(async (em) => {
      const target = isAdmin ? await this.sessions.revokeInOrg(em, viewer.orgId, sessionId, 'revoked') : (await this.sessions.revoke(em, viewer.orgId, viewer.userId, sessionId, 'revoked')) ? { userId: viewer.userId } : null;
      if (target) {
        await audit(em, viewer.orgId, { action: 'auth.session.revoked', actorType: 'USER', actorId: viewer.userId, targetType: 'Session', targetId: sessionId, details: { reason: 'revoked', userId: target.userId } });
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
    const outcome = await this.ds.transaction(async (em): Promise<RefreshOutcome> => {
      const found = await this.sessions.lockByRefreshHash(em, hashRefreshToken(presented));
      if (!found) return { kind: 'error', error: userError('REFRESH_TOKEN_INVALID', 'refreshToken', 'The refresh token is not valid. Sign in again.') };
      const { session } = found;
      if (session.revokedAt) return { kind: 'error', error: userError('SESSION_REVOKED', 'refreshToken', 'This session has been signed out. Sign in again.') };
      if (found.rotatedAt) {
        await this.sessions.revoke(em, session.orgId, session.userId, session.id, 'refresh_token_reuse');
        await audit(em, session.orgId, { action: 'auth.session.revoked', actorType: 'ANONYMOUS', actorId: null, targetType: 'Session', targetId: session.id, details: { reason: 'refresh_token_reuse' } });
        return { kind: 'error', revokedSessionId: session.id, error: userError('REFRESH_TOKEN_REUSED', 'refreshToken', 'This refresh token was already used; the session has been signed out for safety. Sign in again.') };
      }
      if (session.expiresAt.getTime() <= Date.now()) return { kind: 'error', error: userError('SESSION_EXPIRED', 'refreshToken', 'This session has expired. Sign in again.') };
      // The org's current session policy applies to sessions opened before it changed, too.
      const policy = readOrgSettings((await this.orgs.findById(session.orgId, em))?.settings).sessionPolicy;
      const idle = policy.idleTimeoutMinutes !== null && Date.now() - session.lastUsedAt.getTime() > policy.idleTimeoutMinutes * 60_000;
      const tooOld = Date.now() - session.createdAt.getTime() > policy.absoluteLifetimeHours * 3600_000;
      if (idle || tooOld) {
        const reason = idle ? 'idle_timeout' : 'absolute_lifetime';
        await this.sessions.revoke(em, session.orgId, session.userId, session.id, reason);
        await audit(em, session.orgId, { action: 'auth.session.revoked', actorType: 'ANONYMOUS', actorId: null, targetType: 'Session', targetId: session.id, details: { reason } });
        return {
          kind: 'error',
          revokedSessionId: session.id,
          error: userError('SESSION_EXPIRED', 'refreshToken', idle ? 'This session was unused for too long and has been signed out. Sign in again.' : 'This session has expired. Sign in again.'),
        };
      }
      const user = await this.users.findById(session.orgId, session.userId, em);
      if (!user || user.status !== 'ACTIVE') return { kind: 'error', error: userError('SESSION_REVOKED', 'refreshToken', 'This session has been signed out. Sign in again.') };
      // A session opened before the org required MFA of admins does not outlive the policy.
      const org = await this.orgs.findById(session.orgId, em);
      if (readOrgSettings(org?.settings).mfaPolicy.requiredForAdmins && user.orgRole === 'ADMIN' && !(await this.mfa.hasActiveTotp(session.orgId, user.id, em))) {
        await this.sessions.revoke(em, session.orgId, session.userId, session.id, 'mfa_required');
        return { kind: 'error', revokedSessionId: session.id, error: userError('MFA_ENROLLMENT_REQUIRED', 'refreshToken', 'Your organization requires administrators to use two-factor authentication. Sign in again to set it up.') };
      }
      const refreshToken = newRefreshToken();
      await this.sessions.markRotated(em, session.orgId, found.tokenId);
      await this.sessions.addRefreshToken(em, session.orgId, session.id, hashRefreshToken(refreshToken));
      await this.sessions.touch(em, session.orgId, session.id);
      return { kind: 'ok', session, refreshToken };
    });
    if (outcome.kind === 'error') {
      if (outcome.revokedSessionId) {
        this.afterCommit();
        await this.revocations.sessionsRevoked([outcome.revokedSessionId]);
        this.log.warn({ sessionId: outcome.revokedSessionId, code: outcome.error.code }, 'session revoked on refresh');
      }
      return failed(outcome.error);
    }
    const user = await this.users.findById(outcome.session.orgId, outcome.session.userId);
    if (!user) return failed(userError('SESSION_REVOKED', 'refreshToken', 'This session has been signed out. Sign in again.'));
    return this.issue(user, outcome.session, outcome.refreshToken);
  }

  /** Signs out the viewer's current session (its access tokens are rejected from the next request on). */
  async logout(viewer: Viewer): Promise<{ ok: boolean; errors: UserError[] }> {
    if (viewer.kind !== 'user') return { ok: false, errors: [userError('NOT_A_SESSION', null, 'Only a signed-in user has a session to sign out of.')] };
    const revoked = await this.ds.transaction(async (em: EntityManager) => {
      const done = await this.sessions.revoke(em, viewer.orgId, viewer.userId, viewer.sessionId, 'logout');
      if (done) await audit(em, viewer.orgId, { action: 'auth.logout', actorType: 'USER', actorId: viewer.userId, targetType: 'Session', targetId: viewer.sessionId });
      return done;
    });
    if (revoked) {
      this.afterCommit();
      await this.revocations.sessionsRevoked([viewer.sessionId]);
      this.log.info({ orgId: viewer.orgId, userId: viewer.userId, sessionId: viewer.sessionId }, 'logged out');
    }
    return { ok: true, errors: [] };
  }

  async issue(user: User, session: Session, refreshToken: string): Promise<TokenPair> {
    const grants = (await this.grants.listByUser(user.orgId, user.id)).map((g) => ({ workspaceId: g.workspaceId, role: g.role }));
    const { token, expiresAt } = await this.issuer.sign(
      { sub: user.id, org: user.orgId, role: user.orgRole, ...(grants.length ? { grants } : {}), sid: session.id, ep: user.tokenEpoch },
      session.expiresAt,
    );
    return { ...failed(), accessToken: token, expiresAt, refreshToken, user };
  }
}
