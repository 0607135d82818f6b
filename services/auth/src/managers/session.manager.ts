import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '@datalinx/common';
import type { Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { WorkspaceGrantDao } from '../daos/workspace-grant.dao';
import type { Session } from '../entities/session.entity';
import type { User } from '../entities/user.entity';
import type { AccessTokenIssuer } from '../tokens/access-tokens';
import type { RevocationPublisher } from '../tokens/revocations';
import { hashRefreshToken, newRefreshToken } from '../tokens/refresh-tokens';
import { readOrgSettings } from './org-settings';
import { primeDummyHash, verifyAgainstDummy, verifyPassword } from './passwords';
import { normalizeEmail } from './account.manager';
import { audit } from './audit';
import { userError, type UserError } from './user-error';

export interface TokenPair {
  accessToken: string | null;
  expiresAt: Date | null;
  refreshToken: string | null;
  user: User | null;
  errors: UserError[];
}

const failed = (...errors: UserError[]): TokenPair => ({ accessToken: null, expiresAt: null, refreshToken: null, user: null, errors });
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
    private readonly issuer: AccessTokenIssuer,
    private readonly revocations: RevocationPublisher,
    log: Logger,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'SessionManager' });
    void primeDummyHash();
  }

  /** Same answer, in about the same time, for an unknown e-mail, a wrong password and a deactivated account. */
  async login(input: { email: string; password: string }): Promise<TokenPair> {
    const user = await this.users.findForLogin(normalizeEmail(input.email));
    if (!user || !user.passwordHash) {
      await verifyAgainstDummy(input.password);
      return failed(INVALID_CREDENTIALS());
    }
    const ok = await verifyPassword(user.passwordHash, input.password);
    if (!ok || user.status !== 'ACTIVE') {
      await this.ds.transaction((em) =>
        audit(em, user.orgId, { action: 'auth.login.failed', actorType: 'ANONYMOUS', actorId: null, targetType: 'User', targetId: user.id, details: { reason: ok ? 'deactivated' : 'wrong_password' } }),
      );
      this.afterCommit();
      this.log.info({ orgId: user.orgId, userId: user.id }, 'login failed');
      return failed(INVALID_CREDENTIALS());
    }
    const refreshToken = newRefreshToken();
    const session = await this.ds.transaction(async (em) => {
      const org = await this.orgs.findById(user.orgId, em);
      const hours = readOrgSettings(org?.settings).sessionPolicy.absoluteLifetimeHours;
      const s = await this.sessions.create(em, { orgId: user.orgId, userId: user.id, expiresAt: new Date(Date.now() + hours * 3600_000) });
      await this.sessions.addRefreshToken(em, user.orgId, s.id, hashRefreshToken(refreshToken));
      await audit(em, user.orgId, { action: 'auth.login', actorType: 'USER', actorId: user.id, targetType: 'Session', targetId: s.id });
      return s;
    });
    this.afterCommit();
    this.log.info({ orgId: user.orgId, userId: user.id, sessionId: session.id }, 'logged in');
    const { passwordHash: _secret, ...publicUser } = user;
    return this.issue(publicUser as User, session, refreshToken);
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
      const user = await this.users.findById(session.orgId, session.userId, em);
      if (!user || user.status !== 'ACTIVE') return { kind: 'error', error: userError('SESSION_REVOKED', 'refreshToken', 'This session has been signed out. Sign in again.') };
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
        this.log.warn({ sessionId: outcome.revokedSessionId }, 'rotated refresh token reused: session revoked');
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

  private async issue(user: User, session: Session, refreshToken: string): Promise<TokenPair> {
    const grants = (await this.grants.listByUser(user.orgId, user.id)).map((g) => ({ workspaceId: g.workspaceId, role: g.role }));
    const { token, expiresAt } = await this.issuer.sign(
      { sub: user.id, org: user.orgId, role: user.orgRole, ...(grants.length ? { grants } : {}), sid: session.id, ep: user.tokenEpoch },
      session.expiresAt,
    );
    return { accessToken: token, expiresAt, refreshToken, user, errors: [] };
  }
}
