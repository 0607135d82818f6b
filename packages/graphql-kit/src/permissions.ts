import type { Viewer, WorkspaceRole } from './viewer';

/**
 * The role → permission table of ARCHITECTURE.md §4, the single source for every subgraph and
 * the web app. Org ADMIN acts as EDITOR in every workspace of the org.
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

export const WORKSPACE_ROLE_PERMISSIONS: Record<WorkspaceRole, readonly WorkspacePermission[]> = {
  EDITOR: WORKSPACE_EDITOR_PERMISSIONS,
  VIEWER: WORKSPACE_VIEWER_PERMISSIONS,
};

export function hasOrgPermission(viewer: Viewer, permission: OrgPermission): boolean {
  return viewer.kind === 'user' && viewer.orgRole === 'ADMIN' && (ORG_ADMIN_PERMISSIONS as readonly string[]).includes(permission);
}

/** The viewer's effective role in one workspace, or null when it has none. */
export function workspaceRoleOf(viewer: Viewer, workspaceId: string): WorkspaceRole | null {
  if (viewer.kind === 'anonymous') return null;
  if (viewer.kind === 'user' && viewer.orgRole === 'ADMIN') return 'EDITOR';
  const grant = viewer.grants.find((g) => g.workspaceId === workspaceId);
  if (!grant) return null;
  if (viewer.kind === 'user' && viewer.orgRole === 'VIEWER') return 'VIEWER';
  return grant.role;
}

export function hasWorkspacePermission(viewer: Viewer, workspaceId: string, permission: WorkspacePermission): boolean {
  const role = workspaceRoleOf(viewer, workspaceId);
  return role !== null && WORKSPACE_ROLE_PERMISSIONS[role].includes(permission);
}
