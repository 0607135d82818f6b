import {
  ORG_ADMIN_PERMISSIONS,
  WORKSPACE_ROLE_PERMISSIONS,
  type OrgPermission,
  type WorkspacePermission,
} from '../../packages/graphql-kit/src/role-permissions';

/**
 * What the signed-in person may do, from the same role → permission table the API enforces
 * (packages/graphql-kit/src/role-permissions.ts). The web app only hides controls with it; the
 * API decides.
 */
export type OrgRole = 'ADMIN' | 'MEMBER' | 'VIEWER';
export type WorkspaceRole = 'EDITOR' | 'VIEWER';

export interface Person {
  orgRole: OrgRole;
  workspaceGrants: readonly { workspaceId: string; role: WorkspaceRole }[];
}

/** The effective role in one workspace: an org ADMIN is EDITOR everywhere, an org VIEWER only ever VIEWER. */
export function workspaceRoleOf(person: Person, workspaceId: string): WorkspaceRole | null {
  if (person.orgRole === 'ADMIN') return 'EDITOR';
  const grant = person.workspaceGrants.find((g) => g.workspaceId === workspaceId);
  if (!grant) return null;
  return person.orgRole === 'VIEWER' ? 'VIEWER' : grant.role;
}

export function canInWorkspace(person: Person | null, workspaceId: string, permission: WorkspacePermission): boolean {
  if (!person) return false;
  const role = workspaceRoleOf(person, workspaceId);
  return role !== null && WORKSPACE_ROLE_PERMISSIONS[role].includes(permission);
}

export function canInOrg(person: Person | null, permission: OrgPermission): boolean {
  return person?.orgRole === 'ADMIN' && (ORG_ADMIN_PERMISSIONS as readonly string[]).includes(permission);
}
