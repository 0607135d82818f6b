import { canInWorkspace, hasOrgPerm, isAuthenticated, isPublic } from '@datalinx/graphql-kit';

/**
 * Every root field has an explicit rule; anything not listed is denied. Object-level rules keep
 * anonymous viewers out of tenant data reached through `_entities`.
 */
export const permissions = {
  Query: {
    workspaces: isAuthenticated,
    workspace: isAuthenticated,
    connection: isAuthenticated,
  },
  Mutation: {
    createWorkspace: hasOrgPerm('workspaces:create'),
    createPostgresConnection: canInWorkspace('connections:write', (a) => (a.input as { workspaceId?: unknown })?.workspaceId),
    testConnection: isAuthenticated,
  },
  Workspace: isAuthenticated,
  WorkspaceConnection: isAuthenticated,
  Connection: isAuthenticated,
  Organization: isAuthenticated,
  Run: isAuthenticated,
  CreateWorkspacePayload: isAuthenticated,
  CreateConnectionPayload: isAuthenticated,
  TestConnectionPayload: isAuthenticated,
  UserError: isPublic,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
