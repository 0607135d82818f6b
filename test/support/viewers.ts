import { randomUUID } from 'node:crypto';
import type { Viewer, OrgRole, WorkspaceRole } from '@datalinx/graphql-kit';

/** Builder with defaults for an authenticated user viewer. */
export function userViewer(o: { orgId: string; userId?: string; orgRole?: OrgRole; grants?: Array<{ workspaceId: string; role: WorkspaceRole }> }): Viewer {
  return {
    kind: 'user',
    userId: o.userId ?? randomUUID(),
    orgId: o.orgId,
    orgRole: o.orgRole ?? 'MEMBER',
    grants: o.grants ?? [],
    sessionId: randomUUID(),
    authMethod: 'bearer',
  };
}
