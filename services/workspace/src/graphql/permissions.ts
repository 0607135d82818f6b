import { canInWorkspace, hasOrgPerm, isAuthenticated, isPublic, or } from '@datalinx/graphql-kit';

/**
 * Every root field has an explicit rule; anything not listed is denied. Object-level rules keep
 * anonymous viewers out of tenant data reached through `_entities`.
 */
export const permissions = {
  Query: {
    workspaces: isAuthenticated,
    workspace: isAuthenticated,
    connection: isAuthenticated,
    // The manager re-checks that the workspace is of the viewer's org (an ADMIN passes the grant check for any id).
    pipelines: canInWorkspace('pipelines:read', (a) => a.workspaceId),
    // Names no workspace: the manager checks pipelines:read in the pipeline's own workspace.
    pipeline: isAuthenticated,
    // Names no workspace: the manager shows it only to a viewer who can read the target workspace.
    promotion: isAuthenticated,
  },
  Mutation: {
    createWorkspace: hasOrgPerm('workspaces:create'),
    // Workspace administration (org ADMIN); the managers re-check it and that the workspace is the viewer's org's.
    updateWorkspace: hasOrgPerm('workspaces:create'),
    archiveWorkspace: hasOrgPerm('workspaces:create'),
    unarchiveWorkspace: hasOrgPerm('workspaces:create'),
    deleteWorkspace: hasOrgPerm('workspaces:delete'),
    useExternalWarehouse: hasOrgPerm('workspaces:create'),
    testConnection: isAuthenticated,
    // connections:test or schemas:write in the connection's workspace, checked by DiscoveryManager on the connection.
    discoverConnection: isAuthenticated,
    // pipelines:run in the connection's workspace, checked by SyncManager on the connection.
    syncConnection: isAuthenticated,
    // Names its workspace: pipelines:run there (CanonicalizeManager re-checks it and that the workspace is the viewer's org's).
    canonicalizeColumn: canInWorkspace('pipelines:run', (a) => (a.input as { workspaceId?: unknown })?.workspaceId),
    createConnection: canInWorkspace('connections:write', (a) => (a.input as { workspaceId?: unknown })?.workspaceId),
    // These name a connection, not a workspace: the manager checks connections:write in its workspace.
    updateConnection: isAuthenticated,
    rotateConnectionSecret: isAuthenticated,
    deleteConnection: isAuthenticated,
    createPipeline: canInWorkspace('pipelines:write', (a) => (a.input as { workspaceId?: unknown })?.workspaceId),
    // These name a pipeline, not a workspace: the manager checks pipelines:write / pipelines:run in its workspace.
    updatePipeline: isAuthenticated,
    setPipelineEnabled: isAuthenticated,
    deletePipeline: isAuthenticated,
    runPipeline: isAuthenticated,
    // Org ADMIN permissions (§4): the manager re-checks them and that the workspace is the viewer's org's.
    // Write in the target workspace (the manager re-checks every part's read/write permission on both workspaces).
    promoteWorkspace: canInWorkspace('connections:read', (a) => (a.input as { toWorkspaceId?: unknown })?.toWorkspaceId),
    updateWorkspaceQuotas: or(hasOrgPerm('org:manage'), hasOrgPerm('billing:manage')),
  },
  Workspace: isAuthenticated,
  WorkspaceConnection: isAuthenticated,
  Connection: isAuthenticated,
  Pipeline: isAuthenticated,
  Promotion: isAuthenticated,
  PromotionItem: isAuthenticated,
  PromoteWorkspacePayload: isAuthenticated,
  PipelineDefinition: isAuthenticated,
  PipelineSource: isAuthenticated,
  PipelineIncrementalTable: isAuthenticated,
  PipelineCheck: isAuthenticated,
  PipelineExport: isAuthenticated,
  PipelineConnection: isAuthenticated,
  PipelinePayload: isAuthenticated,
  DeletePipelinePayload: isAuthenticated,
  RunPipelinePayload: isAuthenticated,
  Organization: isAuthenticated,
  Run: isAuthenticated,
  CreateWorkspacePayload: isAuthenticated,
  Warehouse: isAuthenticated,
  WorkspacePayload: isAuthenticated,
  DeleteWorkspacePayload: isAuthenticated,
  CreateConnectionPayload: isAuthenticated,
  TestConnectionPayload: isAuthenticated,
  DiscoverConnectionPayload: isAuthenticated,
  SyncConnectionPayload: isAuthenticated,
  CanonicalizeColumnPayload: isAuthenticated,
  ConnectionPayload: isAuthenticated,
  DeleteConnectionPayload: isAuthenticated,
  PostgresConnectionConfig: isAuthenticated,
  MysqlConnectionConfig: isAuthenticated,
  FileConnectionConfig: isAuthenticated,
  RestApiConnectionConfig: isAuthenticated,
  StoredFile: isAuthenticated,
  WorkspaceQuotas: isAuthenticated,
  QuotaUsage: isAuthenticated,
  UpdateWorkspaceQuotasPayload: isAuthenticated,
  UserError: isPublic,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
