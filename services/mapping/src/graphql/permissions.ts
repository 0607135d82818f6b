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
    mappingDiff: isAuthenticated,
    workspaceDbtProject: canInWorkspace('mappings:read', (a) => a.workspaceId),
    suggestedJoins: canInWorkspace('mappings:read', (a) => a.workspaceId),
  },
  // A viewer who can read the workspace passes, and gets a payload FORBIDDEN from the manager
  // when they cannot write (graphql-kit README: denials). Mutations by id check the mapping's workspace.
  Mutation: {
    createMapping: canInWorkspace('mappings:read', inputWorkspaceId),
    updateMapping: isAuthenticated,
    setFieldMapping: isAuthenticated,
    revertMapping: isAuthenticated,
    deleteMapping: isAuthenticated,
  },
  Mapping: isAuthenticated,
  MappingConnection: isAuthenticated,
  CreateMappingPayload: isAuthenticated,
  MappingPayload: isAuthenticated,
  DeleteMappingPayload: isAuthenticated,
  MappingSource: isAuthenticated,
  MappingJoin: isAuthenticated,
  JoinCondition: isAuthenticated,
  MappingCte: isAuthenticated,
  MappingField: isAuthenticated,
  FieldDefinition: isAuthenticated,
  Decorator: isAuthenticated,
  LookupEntry: isAuthenticated,
  ColumnLineage: isAuthenticated,
  LineageSourceColumn: isAuthenticated,
  SuggestedJoin: isAuthenticated,
  MappingVersion: isAuthenticated,
  MappingDiff: isAuthenticated,
  FieldChange: isAuthenticated,
  PartChange: isAuthenticated,
  DbtProject: isAuthenticated,
  DbtProjectFile: isAuthenticated,
  MappingPreview: isAuthenticated,
  PreviewColumn: isAuthenticated,
  PreviewFieldError: isAuthenticated,
  PreviewError: isAuthenticated,
  TargetTable: isAuthenticated,
  UserError: isAuthenticated,
  Workspace: isAuthenticated,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
