/**
 * The role → permission table of ARCHITECTURE.md §4, the single source for every subgraph and
 * the web app. Org ADMIN acts as EDITOR in every workspace of the org. Pure data with no imports,
 * so the web app's browser bundle can import it (`permissions.ts` re-exports it with the
 * viewer-based checks).
 */
export const ORG_ADMIN_PERMISSIONS = [
  'org:manage',
  'users:manage',
  'service-accounts:manage',
  'audit:read',
  'billing:manage',
  'workspaces:create',
  'workspaces:delete',
] as const;

export const WORKSPACE_VIEWER_PERMISSIONS = [
  'workspace:read',
  'connections:read',
  'schemas:read',
  'mappings:read',
  'pipelines:read',
  'runs:read',
  'monitoring:read',
] as const;

export const WORKSPACE_EDITOR_PERMISSIONS = [
  ...WORKSPACE_VIEWER_PERMISSIONS,
  'connections:write',
  'connections:test',
  'schemas:write',
  'mappings:write',
  'pipelines:write',
  'pipelines:run',
  'runs:cancel',
  'monitoring:write',
  'data:preview',
] as const;

export type OrgPermission = (typeof ORG_ADMIN_PERMISSIONS)[number];
export type WorkspacePermission = (typeof WORKSPACE_EDITOR_PERMISSIONS)[number];

export const WORKSPACE_ROLE_PERMISSIONS: Record<'EDITOR' | 'VIEWER', readonly WorkspacePermission[]> = {
  EDITOR: WORKSPACE_EDITOR_PERMISSIONS,
  VIEWER: WORKSPACE_VIEWER_PERMISSIONS,
};
