import DataLoader from 'dataloader';
import { ForbiddenError, NotFoundError, UnauthenticatedError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { byIdLoader, tenantByIdLoader, type Viewer, perViewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { Organization } from '../entities/organization.entity';
import type { User } from '../entities/user.entity';

const NOTHING_REVEALED: ReadonlySet<string> = new Set();

/**
 * Organizations and users as the viewer may see them: only their own organization and — for
 * people of it, never for a service account — its people. Every lookup (root fields and entity
 * references alike) goes through the check here, because shield does not cover
 * `__resolveReference`. One per process; batched loaders per request (per viewer).
 */
export class IdentityManager {
  private readonly orgLoader: (viewer: Viewer) => DataLoader<string, Organization | null>;
  private readonly userLoader: (viewer: Viewer) => DataLoader<string, User | null>;

  constructor(
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
  ) {
    this.orgLoader = perViewer(() => byIdLoader((ids) => this.orgs.findByIds(ids)));
    this.userLoader = tenantByIdLoader(
      (viewer) => this.peopleOrgIdOrNull(viewer),
      (orgId, ids) => this.users.findByIds(orgId, ids),
    );
  }

  private orgIdOrNull(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  /** The org whose people the viewer may see: a user's own; none for a service account or an anonymous caller. */
  private peopleOrgIdOrNull(viewer: Viewer): string | null {
    return viewer.kind === 'user' ? viewer.orgId : null;
  }

  /**
   * The viewer's organization when `id` is theirs (or among `revealed`: the ids this request
   * signed in to, the sign-in payloads of an anonymous caller); null otherwise (not found = not yours).
   */
  async organization(viewer: Viewer, id: string, revealed: ReadonlySet<string> = NOTHING_REVEALED): Promise<Organization | null> {
    if (id !== this.orgIdOrNull(viewer) && !revealed.has(id)) return null;
    return this.orgLoader(viewer).load(id);
  }

  async user(viewer: Viewer, id: string): Promise<User | null> {
    return this.peopleOrgIdOrNull(viewer) ? this.userLoader(viewer).load(id) : null;
  }

  async requireOrganization(viewer: Viewer, id: string, revealed: ReadonlySet<string> = NOTHING_REVEALED): Promise<Organization> {
    const org = await this.organization(viewer, id, revealed);
    if (!org) throw new NotFoundError('Organization', id);
    return org;
  }

  async me(viewer: Viewer): Promise<{ kind: 'ANONYMOUS' | 'USER' | 'SERVICE_ACCOUNT'; user: User | null; organization: Organization | null }> {
    if (viewer.kind === 'anonymous') return { kind: 'ANONYMOUS', user: null, organization: null };
    const organization = await this.organization(viewer, viewer.orgId);
    if (viewer.kind === 'user') return { kind: 'USER', user: await this.user(viewer, viewer.userId), organization };
    return { kind: 'SERVICE_ACCOUNT', user: null, organization };
  }

  async listUsers(viewer: Viewer, first: number | null | undefined, after: string | null | undefined) {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const orgId = this.peopleOrgIdOrNull(viewer);
    if (!orgId) throw new ForbiddenError();
    const n = pageSize(first);
    const rows = await this.users.listByOrg(orgId, { first: n, after: decodeCursor(after) });
    const nodes = rows.slice(0, n);
    for (const u of nodes) this.userLoader(viewer).prime(u.id, u);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }
}
