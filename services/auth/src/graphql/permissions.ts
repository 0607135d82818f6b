import { hasOrgPerm, isAuthenticated, isPublic, or, rule, unauthenticated, type RequestContext } from '@datalinx/graphql-kit';
import type { AuthContext } from './context';

/**
 * Users and organizations are visible to a signed-in viewer (managers narrow that to their own
 * org), and — for an anonymous caller — only the ones this very request created or signed in to
 * (the sign-up and login payloads).
 */
const isRevealedToThisRequest = rule({ cache: 'no_cache' })(async (parent: { id?: unknown }, _a, ctx: RequestContext) =>
  typeof parent?.id === 'string' && (ctx as AuthContext).revealed.has(parent.id) ? true : unauthenticated(),
);
const canSeeIdentity = or(isAuthenticated, isRevealedToThisRequest);

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    me: isPublic,
    organization: isAuthenticated,
    users: isAuthenticated,
    securityPolicy: isAuthenticated,
    mySessions: isAuthenticated,
    userSessions: hasOrgPerm('users:manage'),
    serviceAccounts: hasOrgPerm('service-accounts:manage'),
  },
  Mutation: {
    signUp: isPublic,
    login: isPublic,
    refreshSession: isPublic,
    logout: isAuthenticated,
    deactivateUser: hasOrgPerm('users:manage'),
    // The challenge token is the credential of the MFA steps (checked by the MfaManager).
    completeMfaLogin: isPublic,
    // Signed in, or the holder of an ENROLL challenge token (the manager requires one of the two).
    enrollTotp: isPublic,
    confirmTotp: isPublic,
    disableTotp: isAuthenticated,
    // Own sessions; the manager lets an org ADMIN revoke any session of the org.
    revokeSession: isAuthenticated,
    updateSecurityPolicy: hasOrgPerm('org:manage'),
    createServiceAccount: hasOrgPerm('service-accounts:manage'),
    rotateApiKey: hasOrgPerm('service-accounts:manage'),
    revokeApiKey: hasOrgPerm('service-accounts:manage'),
  },
  Me: isPublic,
  Organization: canSeeIdentity,
  User: canSeeIdentity,
  UserConnection: isAuthenticated,
  SignUpPayload: isPublic,
  SessionTokensPayload: isPublic,
  LogoutPayload: isPublic,
  DeactivateUserPayload: isPublic,
  EnrollTotpPayload: isPublic,
  ConfirmTotpPayload: isPublic,
  DisableTotpPayload: isPublic,
  SecurityPolicy: isAuthenticated,
  SecurityPolicyPayload: isPublic,
  UserSession: isAuthenticated,
  RevokeSessionPayload: isPublic,
  ServiceAccount: hasOrgPerm('service-accounts:manage'),
  ApiKey: hasOrgPerm('service-accounts:manage'),
  CreateServiceAccountPayload: isPublic,
  RotateApiKeyPayload: isPublic,
  RevokeApiKeyPayload: isPublic,
  UserError: isPublic,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
