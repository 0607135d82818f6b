import { isAuthenticated, isPublic } from '@datalinx/graphql-kit';

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    me: isPublic,
    organization: isAuthenticated,
    users: isAuthenticated,
  },
  Me: isPublic,
  Organization: isAuthenticated,
  User: isAuthenticated,
  UserConnection: isAuthenticated,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
