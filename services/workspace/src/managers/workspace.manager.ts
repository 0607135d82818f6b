import DataLoader from 'dataloader';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { hasOrgPermission, workspaceRoleOf, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { WORKSPACE_CREATED_V1, type WorkspaceCreatedV1 } from '@datalinx/contracts';
import type { WorkspaceDao } from '../daos/workspace.dao';
import type { Workspace, EnvironmentValue } from '../entities/workspace.entity';
import { userError, type UserError } from './user-error';

/**
 * Workspaces as the viewer may see them: their org's workspaces where they hold a grant (org
 * ADMINs see all). Every path — root fields and entity references — checks org and grant here.
 */
export class WorkspaceManager {
  private readonly loader: DataLoader<string, Workspace | null>;

  constructor(
    private readonly viewer: Viewer,
    private readonly ds: DataSource,
    private readonly dao: WorkspaceDao,
    private readonly onCommit: () => void,
  ) {
    this.loader = new DataLoader(async (ids) => {
      const orgId = this.orgId();
      const rows = orgId ? await this.dao.findByIds(orgId, ids) : [];
      return ids.map((id) => rows.find((r) => r.id === id) ?? null);
    });
  }

  private orgId(): string | null {
    return this.viewer.kind === 'anonymous' ? null : this.viewer.orgId;
  }

  /** The workspace if the viewer may read it; null otherwise (not found = not yours). */
  async get(id: string): Promise<Workspace | null> {
    const ws = await this.loader.load(id);
    return ws && workspaceRoleOf(this.viewer, ws.id) ? ws : null;
  }

  async list(first: number | null | undefined, after: string | null | undefined, search: string | null | undefined) {
    const orgId = this.orgId();
    if (!orgId || this.viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const n = pageSize(first);
    const isAdmin = this.viewer.kind === 'user' && this.viewer.orgRole === 'ADMIN';
    const rows = await this.dao.list(orgId, {
      first: n,
      after: decodeCursor(after),
      search: search?.trim() || undefined,
      onlyIds: isAdmin ? undefined : this.viewer.grants.map((g) => g.workspaceId),
    });
    const nodes = rows.slice(0, n);
    for (const w of nodes) this.loader.prime(w.id, w);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }

  /** Workspaces of an organization (Organization.workspaces): only the viewer's own org. */
  async listForOrganization(orgId: string): Promise<Workspace[]> {
    if (orgId !== this.orgId()) return [];
    const page = await this.list(200, null, null);
    return page.nodes;
  }

  async create(input: { name: string; slug: string; environment?: EnvironmentValue | null }): Promise<{ workspace: Workspace | null; errors: UserError[] }> {
    const orgId = this.orgId();
    if (!orgId) throw new UnauthenticatedError();
    if (!hasOrgPermission(this.viewer, 'workspaces:create')) {
      return { workspace: null, errors: [userError('FORBIDDEN', null, 'Only organization admins can create workspaces.')] };
    }
    const name = input.name.trim();
    const slug = input.slug.trim();
    const errors: UserError[] = [];
    if (name.length < 1 || name.length > 100) errors.push(userError('INVALID_NAME', 'name', 'The name must be 1 to 100 characters.'));
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(slug)) {
      errors.push(userError('INVALID_SLUG', 'slug', 'The slug must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit.'));
    }
    if (errors.length) return { workspace: null, errors };
    const result = await withTenant(this.ds, orgId, async (em) => {
      if (await this.dao.slugTaken(em, orgId, slug)) return { workspace: null, errors: [userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already used in this organization.`)] };
      const ws = await this.dao.insert(em, orgId, { name, slug, environment: input.environment ?? 'DEV' });
      const created: WorkspaceCreatedV1 = { orgId, workspaceId: ws.id, slug, environment: ws.environment };
      await enqueueOutbox(em, WORKSPACE_CREATED_V1, created);
      return { workspace: ws, errors: [] as UserError[] };
    });
    if (result.workspace) this.onCommit();
    return result;
  }
}
