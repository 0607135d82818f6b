import DataLoader from 'dataloader';
import { groupLoader, hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import type { FileDao } from '../daos/file.dao';
import type { StoredFile } from '../entities/file.entity';

/** Uploaded files as the viewer may list them (`connections:read` on the workspace). */
export class FileManager {
  private readonly byWorkspace: DataLoader<string, StoredFile[]>;

  constructor(
    private readonly viewer: Viewer,
    private readonly dao: FileDao,
  ) {
    this.byWorkspace = groupLoader(
      async (wsIds) => (this.viewer.kind === 'anonymous' ? [] : this.dao.listByWorkspaces(this.viewer.orgId, wsIds)),
      (r) => r.workspaceId,
    );
  }

  async listForWorkspace(workspaceId: string): Promise<StoredFile[]> {
    return hasWorkspacePermission(this.viewer, workspaceId, 'connections:read') ? this.byWorkspace.load(workspaceId) : [];
  }
}
