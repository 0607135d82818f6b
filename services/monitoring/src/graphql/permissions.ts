import { canInWorkspace, hasOrgPerm, isAuthenticated, isPublic } from '@datalinx/graphql-kit';

/** One rule instance (shield refuses two rules of one name): org ADMINs only. */
const canReadAudit = hasOrgPerm('audit:read');

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    platform: isPublic,
    // The manager re-checks the run's org and `runs:read` in the run's own workspace.
    run: isAuthenticated,
    runs: canInWorkspace('runs:read', (a) => a.workspaceId),
    // Org ADMINs only; the manager re-checks and reads the viewer's own org only.
    auditLog: canReadAudit,
  },
  Mutation: {
    // Names a run, not a workspace: the manager checks runs:cancel in the run's workspace.
    cancelRun: isAuthenticated,
  },
  CancelRunPayload: isAuthenticated,
  UserError: isAuthenticated,
  Run: isAuthenticated,
  RunError: isAuthenticated,
  RunStep: isAuthenticated,
  DagsterRunLink: isAuthenticated,
  RunConnection: isAuthenticated,
  AuditEntry: canReadAudit,
  AuditEntryConnection: canReadAudit,
  AuditActor: canReadAudit,
  AuditTarget: canReadAudit,
  AuditDetail: canReadAudit,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
