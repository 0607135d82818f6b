import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import { UnauthenticatedError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { tenantByIdLoader, actorIdOf, hasOrgPermission, workspaceRoleOf, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { WORKSPACE_CREATED_V1, type WorkspaceCreatedV1 } from '@datalinx/contracts';
import type { WorkspaceDao } from '../daos/workspace.dao';
import type { Workspace, EnvironmentValue } from '../entities/workspace.entity';
import type { WarehouseJobs } from './warehouse.manager';
import { userError, type UserError } from './user-error';

type WorkspaceResult = { workspace: Workspace | null; errors: UserError[] };

const ENVIRONMENTS: readonly EnvironmentValue[] = ['DEV', 'STAGING', 'PROD'];

/**
 * Workspaces as the viewer may see them: their org's workspaces where they hold a grant (org
 * ADMINs see all). Every path — root fields and entity references — checks org and grant here.
 * Deleted workspaces are invisible (the DAO never returns them). Lifecycle changes (update,
 * archive, delete) are workspace administration: org ADMIN only, re-checked here.
 */
export class WorkspaceManager {
  private readonly loader: (viewer: Viewer) => DataLoader<string, Workspace | null>;

  constructor(
    private readonly ds: DataSource,
    private readonly dao: WorkspaceDao,
    private readonly warehouses: WarehouseJobs,
    private readonly onCommit: () => void,
  ) {
    this.loader = tenantByIdLoader(
      (viewer) => this.orgId(viewer),
      (orgId, ids) => this.dao.findByIds(orgId, ids),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  /** The workspace if the viewer may read it; null otherwise (not found = not yours). */
  async get(viewer: Viewer, id: string): Promise<Workspace | null> {
    const ws = await this.loader(viewer).load(id);
    return ws && workspaceRoleOf(viewer, ws.id) ? ws : null;
  }

  async list(
    viewer: Viewer,
    first: number | null | undefined,
    after: string | null | undefined,
    search: string | null | undefined,
    filter: { environment?: EnvironmentValue | null; archived?: boolean | null } = {},
  ) {
    const orgId = this.orgId(viewer);
    if (!orgId || viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const n = pageSize(first);
    const isAdmin = viewer.kind === 'user' && viewer.orgRole === 'ADMIN';
    const rows = await this.dao.list(orgId, {
      first: n,
      after: decodeCursor(after),
      search: search?.trim() || undefined,
      onlyIds: isAdmin ? undefined : viewer.grants.map((g) => g.workspaceId),
      environment: filter.environment ?? undefined,
      archived: filter.archived ?? undefined,
    });
    const nodes = rows.slice(0, n);
    for (const w of nodes) this.loader(viewer).prime(w.id, w);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }

  /** Workspaces of an organization (Organization.workspaces): only the viewer's own org. */
  async listForOrganization(viewer: Viewer, orgId: string): Promise<Workspace[]> {
    if (orgId !== this.orgId(viewer)) return [];
    const page = await this.list(viewer, 200, null, null);
    return page.nodes;
  }

  async create(
    viewer: Viewer,
    input: { name: string; slug: string; environment?: EnvironmentValue | null },
  ): Promise<{ workspace: Workspace | null; errors: UserError[] }> {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    if (!hasOrgPermission(viewer, 'workspaces:create')) {
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
      if (await this.dao.slugTaken(em, orgId, slug))
        return { workspace: null, errors: [userError('SLUG_TAKEN', 'slug', `The slug "${slug}" is already used in this organization.`)] };
      const ws = await this.dao.insert(em, orgId, { name, slug, environment: input.environment ?? 'DEV' });
      const created: WorkspaceCreatedV1 = { orgId, workspaceId: ws.id, slug, environment: ws.environment };
      await enqueueOutbox(em, WORKSPACE_CREATED_V1, created);
      // Same transaction: a workspace never exists without its warehouse row and provision job.
      await this.warehouses.provisionNew(em, orgId, ws, actorIdOf(viewer));
      return { workspace: ws, errors: [] as UserError[] };
    });
    if (result.workspace) this.onCommit();
    return result;
  }

  /** The typed refusal for writes to an archived workspace (other managers return it too). */
  archivedError(field: string | null = 'workspaceId'): UserError {
    return userError('WORKSPACE_ARCHIVED', field, 'This workspace is archived and read-only. Unarchive it (unarchiveWorkspace) to change it.');
  }

  /**
   * For managers about to write inside a workspace (connections, pipelines): the typed error when
   * the workspace is archived, null when it is writable. The database refuses such writes anyway
   * (trigger `refuse_archived_workspace_writes`); this gives callers the helpful answer.
   */
  async writeBlocker(viewer: Viewer, workspaceId: string): Promise<UserError | null> {
    const ws = await this.get(viewer, workspaceId);
    return ws?.archivedAt ? this.archivedError() : null;
  }

  /** The workspace, if the viewer may read it and administer workspaces; otherwise a NOT_FOUND error (not yours = not found). */
  private async administrable(
    viewer: Viewer,
    id: string,
    permission: 'workspaces:create' | 'workspaces:delete',
    what: string,
  ): Promise<{ ws: Workspace; orgId: string } | UserError> {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    const ws = await this.get(viewer, id);
    if (!ws || !hasOrgPermission(viewer, permission))
      return userError('WORKSPACE_NOT_FOUND', 'id', `No such workspace, or only an organization admin can ${what} it.`);
    return { ws, orgId };
  }

  async update(
    viewer: Viewer,
    id: string,
    input: { name?: string | null; description?: string | null; environment?: EnvironmentValue | null },
  ): Promise<WorkspaceResult> {
    const target = await this.administrable(viewer, id, 'workspaces:create', 'change');
    if ('code' in target) return { workspace: null, errors: [target] };
    const patch: { name?: string; description?: string; environment?: EnvironmentValue } = {};
    const errors: UserError[] = [];
    if (input.name != null) {
      patch.name = input.name.trim();
      if (patch.name.length < 1 || patch.name.length > 100) errors.push(userError('INVALID_NAME', 'name', 'The name must be 1 to 100 characters.'));
    }
    if (input.description != null) {
      patch.description = input.description.trim();
      if (patch.description.length > 2000) errors.push(userError('INVALID_DESCRIPTION', 'description', 'The description must be at most 2000 characters.'));
    }
    if (input.environment != null) {
      if (!ENVIRONMENTS.includes(input.environment))
        errors.push(userError('INVALID_ENVIRONMENT', 'environment', 'The environment must be DEV, STAGING or PROD.'));
      else patch.environment = input.environment;
    }
    if (errors.length) return { workspace: null, errors };
    return this.change(viewer, target, async (em, ws) => {
      if (ws.archivedAt) return { workspace: null, errors: [this.archivedError('id')] };
      if (!Object.keys(patch).length) return { workspace: ws, errors: [] };
      return { workspace: await this.dao.update(em, target.orgId, ws.id, patch), errors: [] };
    });
  }

  /** Archived: still readable, but read-only. Idempotent. */
  async archive(viewer: Viewer, id: string): Promise<WorkspaceResult> {
    const target = await this.administrable(viewer, id, 'workspaces:create', 'archive');
    if ('code' in target) return { workspace: null, errors: [target] };
    return this.change(viewer, target, async (em, ws) => ({
      workspace: ws.archivedAt ? ws : await this.dao.update(em, target.orgId, ws.id, { archivedAt: new Date() }),
      errors: [],
    }));
  }

  async unarchive(viewer: Viewer, id: string): Promise<WorkspaceResult> {
    const target = await this.administrable(viewer, id, 'workspaces:create', 'unarchive');
    if ('code' in target) return { workspace: null, errors: [target] };
    return this.change(viewer, target, async (em, ws) => ({
      workspace: ws.archivedAt ? await this.dao.update(em, target.orgId, ws.id, { archivedAt: null }) : ws,
      errors: [],
    }));
  }

  /**
   * Soft delete (org ADMIN, `workspaces:delete`): the workspace disappears from every list and
   * lookup at once; its warehouse schema and role are dropped by the `warehouse.purge` job
   * dispatched in the same transaction (the warehouse becomes PURGED when that run succeeds).
   */
  async delete(viewer: Viewer, id: string): Promise<{ workspaceId: string | null; purgeRunId: string | null; errors: UserError[] }> {
    const target = await this.administrable(viewer, id, 'workspaces:delete', 'delete');
    if ('code' in target) return { workspaceId: null, purgeRunId: null, errors: [target] };
    const purgeRunId = await withTenant(this.ds, target.orgId, async (em) => {
      const ws = await this.dao.lockLive(em, target.orgId, target.ws.id);
      if (!ws) return undefined;
      await this.dao.update(em, target.orgId, ws.id, { deletedAt: new Date() });
      return this.warehouses.purge(em, target.orgId, ws.id, actorIdOf(viewer));
    });
    if (purgeRunId === undefined)
      return {
        workspaceId: null,
        purgeRunId: null,
        errors: [userError('WORKSPACE_NOT_FOUND', 'id', 'No such workspace, or only an organization admin can delete it.')],
      };
    this.onCommit();
    this.loader(viewer).clear(target.ws.id);
    return { workspaceId: target.ws.id, purgeRunId, errors: [] };
  }

  /** Runs a lifecycle change on the locked live row (a concurrent delete wins cleanly: NOT_FOUND). */
  private async change(
    viewer: Viewer,
    target: { ws: Workspace; orgId: string },
    fn: (em: EntityManager, ws: Workspace) => Promise<WorkspaceResult>,
  ): Promise<WorkspaceResult> {
    const result = await withTenant(this.ds, target.orgId, async (em) => {
      const ws = await this.dao.lockLive(em, target.orgId, target.ws.id);
      if (!ws) return { workspace: null, errors: [userError('WORKSPACE_NOT_FOUND', 'id', 'No such workspace.')] };
      return fn(em, ws);
    });
    this.loader(viewer).clear(target.ws.id);
    if (result.workspace) this.loader(viewer).prime(result.workspace.id, result.workspace);
    return result;
  }
}
