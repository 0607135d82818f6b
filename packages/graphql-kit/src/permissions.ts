import type { Viewer, WorkspaceRole } from './viewer';
import { ORG_ADMIN_PERMISSIONS, WORKSPACE_ROLE_PERMISSIONS, type OrgPermission, type WorkspacePermission } from './role-permissions';

export * from './role-permissions';

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
