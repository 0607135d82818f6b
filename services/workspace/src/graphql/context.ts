import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { WorkspaceManager } from '../managers/workspace.manager';
import type { ConnectionManager } from '../managers/connection.manager';

export interface WorkspaceContext extends RequestContext {
  workspaces: WorkspaceManager;
  connections: ConnectionManager;
  status: () => Promise<ServiceStatus>;
}

/** A reference to an entity another subgraph owns (or a federation representation). */
export interface EntityRef {
  __typename?: string;
  id: string;
}
