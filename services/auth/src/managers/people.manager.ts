import type { DataSource } from 'typeorm';
import { ForbiddenError, isUuid, type Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { hasOrgPermission, type Viewer } from '@datalinx/graphql-kit';
import type { UserDao } from '../daos/user.dao';
import type { SessionDao } from '../daos/session.dao';
import type { WorkspaceGrantDao } from '../daos/workspace-grant.dao';
import type { WorkspaceRefDao } from '../daos/workspace-ref.dao';
import type { OrgRoleValue, User } from '../entities/user.entity';
import type { WorkspaceRoleValue } from '../entities/workspace-grant.entity';
import type { RevocationPublisher } from '../tokens/revocations';
import { audit } from './audit';
import { userError, type UserError } from './user-error';

export interface GrantView {
  workspaceId: string;
  role: WorkspaceRoleValue;
}

/** More grants than any org has workspaces; keeps one call's work bounded. */
const MAX_GRANTS = 500;

const FORBIDDEN = () => userError('FORBIDDEN', null, 'Only an organization administrator can manage people.');
const USER_NOT_FOUND = (field: string, id: string) => userError('USER_NOT_FOUND', field, `User ${id} was not found.`);
const LAST_ADMIN = (field: string) =>
  userError('LAST_ADMIN', field, 'This is the last active administrator of the organization. Make someone else an administrator first.');

/** What a change inside the transaction decided: the error, or what to announce after the commit. */
type Change<T> = { error: UserError } | ({ epoch: number | null; sessionIds: string[] } & T);

/**
 * Managing the people of an organization (org ADMIN, `users:manage`): org role, workspace
 * grants, reactivation, removal. The org is always the viewer's; a user of another org is
 * USER_NOT_FOUND, exactly like an unknown id. Every change that alters what a user's tokens
 * say bumps their token epoch in the same transaction and publishes it to the gateways' KV after
 * the commit, so it takes effect on the user's next request.
 */
export class PeopleManager {
  private readonly log: Logger;

  constructor(
    private readonly ds: DataSource,
    private readonly users: UserDao,
    private readonly grants: WorkspaceGrantDao,
    private readonly workspaceRefs: WorkspaceRefDao,
    private readonly sessions: SessionDao,
    log: Logger,
    private readonly revocations: RevocationPublisher | undefined,
    private readonly afterCommit: () => void = () => undefined,
  ) {
    this.log = log.child({ component: 'PeopleManager' });
  }

  /** Shield checks `users:manage` too; managers re-check (the rule may be mis-set, the manager is the last word). */
  private admin(viewer: Viewer): viewer is Extract<Viewer, { kind: 'user' }> {
    return viewer.kind === 'user' && hasOrgPermission(viewer, 'users:manage');
  }

  /** After the commit: the gateways learn the new epoch / revoked sessions (the database stays the source of truth). */
  private async announce(userId: string, epoch: number | null, sessionIds: readonly string[]): Promise<void> {
    this.afterCommit();
    if (epoch !== null) await this.revocations?.epochChanged(userId, epoch);
    if (sessionIds.length) await this.revocations?.sessionsRevoked(sessionIds);
  }

  async updateRole(viewer: Viewer, userId: string, orgRole: OrgRoleValue): Promise<{ user: User | null; errors: UserError[] }> {
    if (!this.admin(viewer)) return { user: null, errors: [FORBIDDEN()] };
    if (!isUuid(userId)) return { user: null, errors: [USER_NOT_FOUND('userId', userId)] };
    const orgId = viewer.orgId;
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<Change<{ from: OrgRoleValue; user: User | null }>> => {
      // The admins first, then the target: the same lock order as removeUser, so concurrent
      // demotions queue on the admin rows instead of both seeing "another admin is left".
      const admins = orgRole === 'ADMIN' ? [] : await this.users.lockActiveAdmins(em, orgId);
      const target = await this.users.lockById(em, orgId, userId);
      if (!target) return { error: USER_NOT_FOUND('userId', userId) };
      const from = target.orgRole;
      if (from === orgRole) return { epoch: null, sessionIds: [], from, user: target };
      if (from === 'ADMIN' && target.status === 'ACTIVE' && !admins.some((id) => id !== userId)) return { error: LAST_ADMIN('orgRole') };
      const epoch = await this.users.setRole(em, orgId, userId, orgRole);
      // An org VIEWER may hold only VIEWER grants.
      const downgraded = orgRole === 'VIEWER' ? await this.grants.downgradeEditors(orgId, userId, em) : [];
      await audit(em, orgId, {
        action: 'auth.user.role_changed',
        actorType: 'USER',
        actorId: viewer.userId,
        targetType: 'User',
        targetId: userId,
        details: { from, to: orgRole, ...(downgraded.length ? { downgradedGrants: downgraded } : {}) },
      });
      return { epoch, sessionIds: [], from, user: await this.users.findById(orgId, userId, em) };
    });
    if ('error' in outcome) return { user: null, errors: [outcome.error] };
    if (outcome.epoch !== null) {
      await this.announce(userId, outcome.epoch, []);
      this.log.info({ orgId, userId, by: viewer.userId, from: outcome.from, to: orgRole }, 'org role changed');
    }
    return { user: outcome.user, errors: [] };
  }

  /**
   * Replaces the user's workspace grants. Every workspace must be one of the org's (auth's
   * replica, auth.workspace_ref): another org's workspace is WORKSPACE_NOT_FOUND, like an
   * unknown id. Nothing is written unless every grant is valid.
   */
  async setGrants(
    viewer: Viewer,
    userId: string,
    grants: readonly GrantView[],
  ): Promise<{ user: User | null; grants: GrantView[] | null; errors: UserError[] }> {
    const fail = (...errors: UserError[]) => ({ user: null, grants: null, errors });
    if (!this.admin(viewer)) return fail(FORBIDDEN());
    if (!isUuid(userId)) return fail(USER_NOT_FOUND('userId', userId));
    if (grants.length > MAX_GRANTS) return fail(userError('TOO_MANY_GRANTS', 'grants', `At most ${MAX_GRANTS} workspace grants can be set at once.`));
    const orgId = viewer.orgId;
    const seen = new Set<string>();
    const duplicates: UserError[] = [];
    grants.forEach((g, i) => {
      const key = g.workspaceId.toLowerCase();
      if (seen.has(key))
        duplicates.push(userError('GRANT_DUPLICATE', `grants[${i}].workspaceId`, 'This workspace is listed twice: give each workspace one role.'));
      seen.add(key);
    });
    if (duplicates.length) return fail(...duplicates);
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<Change<{ after: GrantView[]; user: User | null }>> => {
      const target = await this.users.lockById(em, orgId, userId);
      if (!target) return { error: USER_NOT_FOUND('userId', userId) };
      const known = await this.workspaceRefs.known(
        orgId,
        grants.map((g) => g.workspaceId),
        em,
      );
      for (const [i, g] of grants.entries()) {
        if (!known.has(g.workspaceId.toLowerCase()) && !known.has(g.workspaceId)) {
          return { error: userError('WORKSPACE_NOT_FOUND', `grants[${i}].workspaceId`, `Workspace ${g.workspaceId} was not found.`) };
        }
        if (target.orgRole === 'VIEWER' && g.role === 'EDITOR') {
          return {
            error: userError(
              'GRANT_NOT_ALLOWED',
              `grants[${i}].role`,
              'An organization VIEWER can only hold VIEWER grants: change their org role first, or grant VIEWER.',
            ),
          };
        }
      }
      const before = (await this.grants.listByUser(orgId, userId, em)).map((g) => ({ workspaceId: g.workspaceId, role: g.role }));
      const after = grants.map((g) => ({ workspaceId: g.workspaceId.toLowerCase(), role: g.role }));
      await this.grants.replaceForUser(orgId, userId, after, em);
      const epoch = await this.users.bumpEpoch(em, orgId, userId);
      await audit(em, orgId, {
        action: 'auth.user.grants_changed',
        actorType: 'USER',
        actorId: viewer.userId,
        targetType: 'User',
        targetId: userId,
        details: { before, after },
      });
      return { epoch, sessionIds: [], after, user: target };
    });
    if ('error' in outcome) return fail(outcome.error);
    await this.announce(userId, outcome.epoch, []);
    this.log.info({ orgId, userId, by: viewer.userId, grants: outcome.after.length }, 'workspace grants replaced');
    return { user: outcome.user, grants: outcome.after, errors: [] };
  }

  /** DEACTIVATED → ACTIVE. Tokens from before the deactivation stay dead: deactivation bumped the epoch. */
  async reactivate(viewer: Viewer, id: string): Promise<{ user: User | null; errors: UserError[] }> {
    if (!this.admin(viewer)) return { user: null, errors: [FORBIDDEN()] };
    if (!isUuid(id)) return { user: null, errors: [USER_NOT_FOUND('id', id)] };
    const orgId = viewer.orgId;
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<Change<{ changed: boolean; user: User | null }>> => {
      const target = await this.users.lockById(em, orgId, id);
      if (!target) return { error: USER_NOT_FOUND('id', id) };
      if (target.status === 'ACTIVE') return { epoch: null, sessionIds: [], changed: false, user: target };
      await this.users.reactivate(em, orgId, id);
      await audit(em, orgId, { action: 'auth.user.reactivated', actorType: 'USER', actorId: viewer.userId, targetType: 'User', targetId: id });
      return { epoch: null, sessionIds: [], changed: true, user: await this.users.findById(orgId, id, em) };
    });
    if ('error' in outcome) return { user: null, errors: [outcome.error] };
    if (outcome.changed) {
      this.afterCommit();
      this.log.info({ orgId, userId: id, by: viewer.userId }, 'user reactivated');
    }
    return { user: outcome.user, errors: [] };
  }

  /**
   * Deletes a user of the org and everything hanging off it (sessions, refresh tokens, grants,
   * MFA, password history: ON DELETE CASCADE). First, in the same transaction, the epoch is bumped
   * and the sessions revoked, so what is published after the commit kills any outstanding access
   * token on its next request. Audit rows elsewhere keep the id. The e-mail becomes free.
   */
  async remove(viewer: Viewer, id: string): Promise<{ ok: boolean; removedUserId: string | null; errors: UserError[] }> {
    const fail = (e: UserError) => ({ ok: false, removedUserId: null, errors: [e] });
    if (!this.admin(viewer)) return fail(FORBIDDEN());
    if (viewer.userId === id) return fail(userError('CANNOT_REMOVE_SELF', 'id', 'You cannot remove yourself. Ask another administrator.'));
    if (!isUuid(id)) return fail(USER_NOT_FOUND('id', id));
    const orgId = viewer.orgId;
    const outcome = await withTenant(this.ds, orgId, async (em): Promise<Change<{ role: OrgRoleValue }>> => {
      const admins = await this.users.lockActiveAdmins(em, orgId);
      const target = await this.users.lockById(em, orgId, id);
      if (!target) return { error: USER_NOT_FOUND('id', id) };
      if (target.orgRole === 'ADMIN' && target.status === 'ACTIVE' && !admins.some((a) => a !== id)) return { error: LAST_ADMIN('id') };
      const epoch = await this.users.bumpEpoch(em, orgId, id);
      const sessionIds = await this.sessions.revokeAllOfUser(em, orgId, id, 'user_removed');
      await audit(em, orgId, {
        action: 'auth.user.removed',
        actorType: 'USER',
        actorId: viewer.userId,
        targetType: 'User',
        targetId: id,
        details: { orgRole: target.orgRole, revokedSessions: sessionIds.length },
      });
      await this.users.remove(em, orgId, id);
      return { epoch, sessionIds, role: target.orgRole };
    });
    if ('error' in outcome) return fail(outcome.error);
    await this.announce(id, outcome.epoch, outcome.sessionIds);
    this.log.info({ orgId, userId: id, by: viewer.userId, sessions: outcome.sessionIds.length }, 'user removed');
    return { ok: true, removedUserId: id, errors: [] };
  }

  /**
   * `User.workspaceGrants`: the user themself and the org's ADMINs only (shield checks the same;
   * this is the re-check, and the user must be of the viewer's org).
   */
  async grantsOf(viewer: Viewer, user: Pick<User, 'id' | 'orgId'>): Promise<GrantView[]> {
    if (viewer.kind !== 'user' || viewer.orgId !== user.orgId) throw new ForbiddenError();
    if (viewer.userId !== user.id && !hasOrgPermission(viewer, 'users:manage'))
      throw new ForbiddenError('Only the user themself and organization administrators can see workspace grants.');
    const rows = await withTenant(this.ds, user.orgId, (em) => this.grants.listByUser(user.orgId, user.id, em));
    return rows.map((g) => ({ workspaceId: g.workspaceId, role: g.role }));
  }
}
