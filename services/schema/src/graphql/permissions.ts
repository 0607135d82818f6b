import { isAuthenticated, isPublic } from '@datalinx/graphql-kit';

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    canonicalTypes: isAuthenticated,
    canonicalType: isAuthenticated,
  },
  CanonicalType: isAuthenticated,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
