import { createHash } from 'node:crypto';
import { ForbiddenError, UnauthenticatedError, isUuid } from '@datalinx/common';
import { hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { generateDbtProject, type DbtModelInput, type DbtSourceTableInput } from '../dbt';
import type { CatalogDao } from '../daos/catalog.dao';
import type { MappingManager } from './mapping.manager';

export interface DbtProjectFileView {
  path: string;
  content: string;
  digest: string;
}

/**
 * The dbt project of a workspace as the viewer may see it: every mapping of the workspace whose
 * SELECT compiles becomes a model (fields in ERROR or AMBIGUOUS keep a mapping out), every source
 * table of the workspace's latest snapshots a staging model; the generator is the dbt module's.
 */
export class DbtProjectManager {
  constructor(
    private readonly mappings: MappingManager,
    private readonly catalogs: CatalogDao,
  ) {}

  async project(viewer: Viewer, workspaceId: string): Promise<{ files: DbtProjectFileView[] }> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    if (!hasWorkspacePermission(viewer, workspaceId, 'mappings:read')) throw new ForbiddenError();
    const all = isUuid(workspaceId) ? await this.mappings.allInWorkspace(viewer, workspaceId) : [];
    const models: DbtModelInput[] = [];
    for (const m of all) {
      const table = await this.mappings.targetTableOf(viewer, m);
      const analysis = await this.mappings.analysis(viewer, m);
      if (table && analysis.sql) models.push({ table, sql: analysis.sql, mappingId: m.id, mappingVersion: m.version });
    }
    const catalog = isUuid(workspaceId) ? await this.catalogs.sourceCatalog(this.mappingsDs(), viewer.orgId, workspaceId) : [];
    const target = isUuid(workspaceId) ? await this.catalogs.targetSchema(this.mappingsDs(), viewer.orgId, workspaceId) : null;
    const sources: DbtSourceTableInput[] = catalog.flatMap((c) =>
      c.tables.map((t) => ({
        connectionId: c.connectionId,
        connectionName: c.connectionId,
        schema: t.schema,
        name: t.name,
        columns: t.columns.map((col) => ({ name: col.name, type: col.type })),
      })),
    );
    const hex = workspaceId.replace(/-/g, '').slice(0, 12);
    const project = generateDbtProject({
      workspaceId,
      projectName: `dlx_${hex}`,
      version: all.reduce((n, m) => n + m.version, 0),
      targetSchema: `ws_${hex}`,
      sources,
      models,
      relationships: (target?.document.relationships ?? []).filter(
        (r) => models.some((m) => m.table.name === r.fromTable) && models.some((m) => m.table.name === r.toTable),
      ),
    });
    return { files: project.files.map((f) => ({ ...f, digest: createHash('sha256').update(f.content).digest('hex') })) };
  }

  private mappingsDs() {
    return this.mappings.dataSource;
  }
}
