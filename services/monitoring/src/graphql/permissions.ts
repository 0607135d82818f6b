import { canInWorkspace, isAuthenticated, isPublic } from '@datalinx/graphql-kit';

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    platform: isPublic,
    // The manager re-checks the run's org and `runs:read` in the run's own workspace.
    run: isAuthenticated,
    runs: canInWorkspace('runs:read', (a) => a.workspaceId),
  },
  Run: isAuthenticated,
  RunError: isAuthenticated,
  RunStep: isAuthenticated,
  RunConnection: isAuthenticated,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
