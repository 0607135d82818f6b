import DataLoader from 'dataloader';
import { groupLoader, hasWorkspacePermission, type Viewer, perViewer } from '@datalinx/graphql-kit';
import type { FileDao } from '../daos/file.dao';
import type { StoredFile } from '../entities/file.entity';

/** Uploaded files as the viewer may list them (`connections:read` on the workspace). */
export class FileManager {
  private readonly byWorkspace: (viewer: Viewer) => DataLoader<string, StoredFile[]>;

  constructor(private readonly dao: FileDao) {
    this.byWorkspace = perViewer((viewer) =>
      groupLoader(
        async (wsIds) => (viewer.kind === 'anonymous' ? [] : this.dao.listByWorkspaces(viewer.orgId, wsIds)),
        (r) => r.workspaceId,
      ),
    );
  }

  async listForWorkspace(viewer: Viewer, workspaceId: string): Promise<StoredFile[]> {
    return hasWorkspacePermission(viewer, workspaceId, 'connections:read') ? this.byWorkspace(viewer).load(workspaceId) : [];
  }
}
