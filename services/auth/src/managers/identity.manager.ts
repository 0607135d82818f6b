import DataLoader from 'dataloader';
import { ForbiddenError, NotFoundError, UnauthenticatedError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { byIdLoader, type Viewer } from '@datalinx/graphql-kit';
import type { OrganizationDao } from '../daos/organization.dao';
import type { UserDao } from '../daos/user.dao';
import type { Organization } from '../entities/organization.entity';
import type { User } from '../entities/user.entity';


/**
 * Organizations and users as the viewer may see them: only their own organization and — for
 * people of it, never for a service account — its people. Every lookup (root fields and entity
 * references alike) goes through the check here, because shield does not cover
 * `__resolveReference`. Per request: batched loaders.
 */
export class IdentityManager {
  private readonly orgLoader: DataLoader<string, Organization | null>;
  private readonly userLoader: DataLoader<string, User | null>;

  constructor(
    private readonly viewer: Viewer,
    private readonly orgs: OrganizationDao,
    private readonly users: UserDao,
    /** Ids this request signed in to (the sign-in payloads of an anonymous caller; sign-up reveals none). */
    private readonly revealed: ReadonlySet<string> = new Set(),
  ) {
    this.orgLoader = byIdLoader((ids) => this.orgs.findByIds(ids));
    this.userLoader = byIdLoader(async (ids) => {
      const orgId = this.peopleOrgIdOrNull();
      return orgId ? this.users.findByIds(orgId, ids) : [];
    });
  }

  private orgIdOrNull(): string | null {
    return this.viewer.kind === 'anonymous' ? null : this.viewer.orgId;
  }

  /** The org whose people the viewer may see: a user's own; none for a service account or an anonymous caller. */
  private peopleOrgIdOrNull(): string | null {
    return this.viewer.kind === 'user' ? this.viewer.orgId : null;
  }

  /**
   * The viewer's organization when `id` is theirs (or the one this request just signed in to);
   * null otherwise (not found = not yours).
   */
  async organization(id: string): Promise<Organization | null> {
    if (id !== this.orgIdOrNull() && !this.revealed.has(id)) return null;
    return this.orgLoader.load(id);
  }

  async user(id: string): Promise<User | null> {
    return this.peopleOrgIdOrNull() ? this.userLoader.load(id) : null;
  }

  async requireOrganization(id: string): Promise<Organization> {
    const org = await this.organization(id);
    if (!org) throw new NotFoundError('Organization', id);
    return org;
  }

  async me(): Promise<{ kind: 'ANONYMOUS' | 'USER' | 'SERVICE_ACCOUNT'; user: User | null; organization: Organization | null }> {
    const v = this.viewer;
    if (v.kind === 'anonymous') return { kind: 'ANONYMOUS', user: null, organization: null };
    const organization = await this.organization(v.orgId);
    if (v.kind === 'user') return { kind: 'USER', user: await this.user(v.userId), organization };
    return { kind: 'SERVICE_ACCOUNT', user: null, organization };
  }

  async listUsers(first: number | null | undefined, after: string | null | undefined) {
    if (this.viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const orgId = this.peopleOrgIdOrNull();
    if (!orgId) throw new ForbiddenError();
    const n = pageSize(first);
    const rows = await this.users.listByOrg(orgId, { first: n, after: decodeCursor(after) });
    const nodes = rows.slice(0, n);
    for (const u of nodes) this.userLoader.prime(u.id, u);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }
}
