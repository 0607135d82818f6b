import { In, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { StoredFile } from '../entities/file.entity';

/** Uploaded-file rows; org id first, each call inside a tenant transaction (row-level security). */
export class FileDao {
  constructor(private readonly ds: DataSource) {}

  async insert(orgId: string, row: Omit<StoredFile, 'createdAt' | 'orgId'>): Promise<StoredFile> {
    return withTenant(this.ds, orgId, async (em) => {
      await em.getRepository(StoredFile).insert({ ...row, orgId });
      return em.getRepository(StoredFile).findOneByOrFail({ orgId, id: row.id });
    });
  }

  /** The file if it belongs to this workspace (of this org), else null. */
  findInWorkspace(em: EntityManager, orgId: string, workspaceId: string, id: string): Promise<StoredFile | null> {
    return em.getRepository(StoredFile).findOneBy({ orgId, workspaceId, id });
  }

  listByWorkspaces(orgId: string, workspaceIds: readonly string[]): Promise<StoredFile[]> {
    return workspaceIds.length
      ? withTenant(this.ds, orgId, (em) =>
          em.getRepository(StoredFile).find({ where: { orgId, workspaceId: In([...workspaceIds]) }, order: { createdAt: 'DESC', id: 'DESC' } }),
        )
      : Promise.resolve([]);
  }
}
