import { createHash } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError, isUuid } from '@datalinx/common';
import { hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import type { CatalogDao } from '../daos/catalog.dao';
import { buildWorkspaceProject } from '../compile/workspace-project';
import { canonicalResolver } from '../compile/canonical';
import type { MappingManager } from './mapping.manager';

export interface DbtProjectFileView {
  path: string;
  content: string;
  digest: string;
}

/**
 * The dbt project of a workspace as the viewer may see it (`buildWorkspaceProject` over the
 * mappings the viewer may read, with their per-request analyses).
 */
export class DbtProjectManager {
  constructor(
    private readonly mappings: MappingManager,
    private readonly catalogs: CatalogDao,
  ) {}

  async project(viewer: Viewer, workspaceId: string): Promise<{ files: DbtProjectFileView[] }> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    if (!hasWorkspacePermission(viewer, workspaceId, 'mappings:read')) throw new ForbiddenError();
    if (!isUuid(workspaceId)) return { files: [] };
    const ds = this.mappings.dataSource;
    const [mappings, catalog, target, custom] = await Promise.all([
      this.mappings.allInWorkspace(viewer, workspaceId),
      this.catalogs.sourceCatalog(ds, viewer.orgId, workspaceId),
      this.catalogs.targetSchema(ds, viewer.orgId, workspaceId),
      this.catalogs.customCanonicalTypes(ds, viewer.orgId),
    ]);
    const project = await buildWorkspaceProject({
      workspaceId,
      mappings,
      target,
      catalog,
      notices: [],
      canonical: canonicalResolver(custom),
      analysis: (m) => this.mappings.analysis(viewer, m),
    });
    return { files: project.files.map((f) => ({ ...f, digest: createHash('sha256').update(f.content).digest('hex') })) };
  }
}
