import { canInWorkspace, forbidden, isAuthenticated, isPublic, rule, unauthenticated, type RequestContext } from '@datalinx/graphql-kit';

/**
 * schemas:write across the whole organization (custom canonical types belong to the org, not to
 * one workspace): only an org ADMIN holds it in every workspace.
 */
const canWriteOrgSchemas = rule('schema:org-schemas-write', { cache: 'contextual' })(async (_p, _a, ctx: RequestContext) => {
  if (ctx.viewer.kind === 'anonymous') return unauthenticated();
  return ctx.viewer.kind === 'user' && ctx.viewer.orgRole === 'ADMIN' ? true : forbidden('Only organization administrators can create canonical types.');
});

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    canonicalTypes: isAuthenticated,
    canonicalType: isAuthenticated,
    // Snapshot ids and connection ids name no workspace: SourceSnapshotManager checks schemas:read on each snapshot.
    sourceSnapshots: isAuthenticated,
    sourceSnapshot: isAuthenticated,
    targetTables: canInWorkspace('schemas:read', (a) => a.workspaceId),
    // Table ids name no workspace: TargetSchemaManager checks schemas:read on the table.
    targetTable: isAuthenticated,
    targetSchemaVersions: canInWorkspace('schemas:read', (a) => a.workspaceId),
    targetSchemaDiff: canInWorkspace('schemas:read', (a) => a.workspaceId),
    exportTargetSchema: canInWorkspace('schemas:read', (a) => a.workspaceId),
    targetTemplates: isAuthenticated,
  },
  Mutation: {
    // schemas:write in the whole org (org ADMIN); CanonicalTypeManager.create checks it again.
    createCanonicalType: canWriteOrgSchemas,
    // schemas:write in the workspace of the connection's latest snapshot, checked by SourceSnapshotManager.describe.
    describeSourceTable: isAuthenticated,
    describeSourceColumn: isAuthenticated,
    // schemas:write in the workspace named; TargetSchemaManager checks it again and that the workspace is the org's.
    createTargetTable: canInWorkspace('schemas:write', (a) => (a.input as { workspaceId?: unknown } | undefined)?.workspaceId),
    importTargetSchema: canInWorkspace('schemas:write', (a) => a.workspaceId),
    // Ids name no workspace: the manager answers TABLE_NOT_FOUND / RELATIONSHIP_NOT_FOUND / FORBIDDEN.
    updateTargetTable: isAuthenticated,
    deleteTargetTable: isAuthenticated,
    createTargetRelationship: isAuthenticated,
    deleteTargetRelationship: isAuthenticated,
  },
  CanonicalType: isAuthenticated,
  CreateCanonicalTypePayload: isAuthenticated,
  SourceSnapshot: isAuthenticated,
  SourceSnapshotConnection: isAuthenticated,
  SourceTable: isAuthenticated,
  SourceColumn: isAuthenticated,
  SourceForeignKey: isAuthenticated,
  ColumnProfile: isAuthenticated,
  ValueCount: isAuthenticated,
  SourceMetadata: isAuthenticated,
  SnapshotDiff: isAuthenticated,
  TableDiff: isAuthenticated,
  ColumnChange: isAuthenticated,
  DescribeSourceTablePayload: isAuthenticated,
  DescribeSourceColumnPayload: isAuthenticated,
  UserError: isAuthenticated,
  Workspace: isAuthenticated,
  TargetTable: isAuthenticated,
  TargetColumn: isAuthenticated,
  TargetRelationship: isAuthenticated,
  TargetSchemaVersion: isAuthenticated,
  TargetSchemaVersionConnection: isAuthenticated,
  TargetSchemaDiff: isAuthenticated,
  TargetTableDiff: isAuthenticated,
  TargetColumnDiff: isAuthenticated,
  TargetRelationshipDiff: isAuthenticated,
  TargetPropertyChange: isAuthenticated,
  TargetTemplate: isAuthenticated,
  TargetTemplateRelationship: isAuthenticated,
  TargetTablePayload: isAuthenticated,
  TargetRelationshipPayload: isAuthenticated,
  DeleteTargetPayload: isAuthenticated,
  ImportTargetSchemaPayload: isAuthenticated,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
