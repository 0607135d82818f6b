import DataLoader from 'dataloader';
import { hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import type { FileDao } from '../daos/file.dao';
import type { StoredFile } from '../entities/file.entity';

/** Uploaded files as the viewer may list them (`connections:read` on the workspace). */
export class FileManager {
  private readonly byWorkspace: DataLoader<string, StoredFile[]>;

  constructor(
    private readonly viewer: Viewer,
    private readonly dao: FileDao,
  ) {
    this.byWorkspace = new DataLoader(async (wsIds) => {
      const rows = this.viewer.kind === 'anonymous' ? [] : await this.dao.listByWorkspaces(this.viewer.orgId, wsIds);
      return wsIds.map((w) => rows.filter((r) => r.workspaceId === w));
    });
  }

  async listForWorkspace(workspaceId: string): Promise<StoredFile[]> {
    return hasWorkspacePermission(this.viewer, workspaceId, 'connections:read') ? this.byWorkspace.load(workspaceId) : [];
  }
}
