import { canInWorkspace, isAuthenticated, isPublic } from '@datalinx/graphql-kit';

const inputWorkspaceId = (a: Record<string, unknown>) => (a.input as { workspaceId?: unknown } | undefined)?.workspaceId;

/**
 * Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny).
 * `mapping(id)` names no workspace, so its manager does the workspace check on the object.
 */
export const permissions = {
  Query: {
    mappings: canInWorkspace('mappings:read', (a) => a.workspaceId),
    mapping: isAuthenticated,
  },
  Mutation: {
    createMapping: canInWorkspace('mappings:write', inputWorkspaceId),
  },
  Mapping: isAuthenticated,
  MappingConnection: isAuthenticated,
  CreateMappingPayload: isAuthenticated,
  UserError: isAuthenticated,
  Workspace: isAuthenticated,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
