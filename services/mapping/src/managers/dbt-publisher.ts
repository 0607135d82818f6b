import path from 'node:path';
import type { Logger } from '@datalinx/common';
import type { CatalogDao } from '../daos/catalog.dao';
import type { MappingDao } from '../daos/mapping.dao';
import type { DbtProjectDao } from '../daos/dbt-project.dao';
import { buildWorkspaceProject } from '../compile/workspace-project';
import { canonicalResolver } from '../compile/canonical';
import { writeDbtProject } from '../dbt';

/**
 * Keeps each workspace's dbt project in file storage: `<root>/<workspaceId>/v<version>/`, a new
 * version whenever what the workspace's mappings compile to changes (a mapping written, a new
 * target schema, a source snapshot), announced by `mapping.dbt_project.published.v1`. Pipeline runs
 * build the latest version. Requests for one workspace coalesce: at most one publication runs per
 * workspace, and one more follows when changes arrived meanwhile.
 */
export class DbtProjectPublisher {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();

  constructor(
    private readonly o: {
      mappings: MappingDao;
      catalogs: CatalogDao;
      projects: DbtProjectDao;
      /** Where projects are written (the data directory's `dbt/`). */
      root: string;
      log: Logger;
      /** Called after a publication wrote its event (the outbox relay's kick). */
      afterCommit?: () => void;
    },
  ) {}

  /** Schedules a publication of the workspace's project (fire and forget; failures are logged). */
  schedule(orgId: string, workspaceId: string): void {
    const key = `${orgId}/${workspaceId}`;
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.again.delete(key);
        try {
          await this.publish(orgId, workspaceId);
        } catch (err) {
          this.o.log.error({ err: (err as Error).message, workspaceId }, 'publishing the workspace dbt project failed; the next change retries');
        }
      } while (this.again.has(key));
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** Waits for the publications in flight (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  /** Compiles the workspace's project and writes it as a new version when it changed. */
  async publish(orgId: string, workspaceId: string): Promise<{ version: number; published: boolean }> {
    const ds = this.o.mappings.dataSource;
    const [mappings, catalog, target, custom] = await Promise.all([
      this.o.mappings.listAllByWorkspace(ds, orgId, workspaceId),
      this.o.catalogs.sourceCatalog(ds, orgId, workspaceId),
      this.o.catalogs.targetSchema(ds, orgId, workspaceId),
      this.o.catalogs.customCanonicalTypes(ds, orgId),
    ]);
    const notices = mappings.length
      ? await this.o.mappings.driftNoticesOf(
          ds,
          orgId,
          mappings.map((m) => m.id),
        )
      : [];
    const project = await buildWorkspaceProject({ workspaceId, mappings, target, catalog, notices, canonical: canonicalResolver(custom) });
    const result = await this.o.projects.publish(
      orgId,
      workspaceId,
      { digest: project.digest, fileCount: project.files.length, models: project.models },
      (version) => writeDbtProject(path.join(this.o.root, workspaceId, `v${version}`), project.files),
    );
    if (result.published) {
      this.o.log.info({ workspaceId, version: result.version, models: project.models.length }, 'workspace dbt project published');
      this.o.afterCommit?.();
    }
    return result;
  }
}
