import { forbidden, hasOrgPerm, hasOrgPermission, isAuthenticated, isPublic, or, rule, unauthenticated, type RequestContext } from '@datalinx/graphql-kit';
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

/**
 * `User.workspaceGrants`: only the user themself and the ADMINs (users:manage) of the user's own
 * org — other members see who is in the org, not what they may touch. The PeopleManager re-checks.
 */
const isSelfOrUserAdmin = rule({ cache: 'no_cache' })(async (parent: { id?: unknown; orgId?: unknown }, _a, ctx: RequestContext) => {
  const v = ctx.viewer;
  if (v.kind === 'anonymous') return unauthenticated();
  if (v.kind !== 'user' || parent?.orgId !== v.orgId) return forbidden();
  return parent.id === v.userId || hasOrgPermission(v, 'users:manage') ? true : forbidden('Only the user themself and organization administrators can see workspace grants.');
});

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
    invitations: hasOrgPerm('users:manage'),
    // The token is the credential; the manager answers null for anything that cannot be accepted.
    invitation: isPublic,
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
    updateUserRole: hasOrgPerm('users:manage'),
    setWorkspaceGrants: hasOrgPerm('users:manage'),
    reactivateUser: hasOrgPerm('users:manage'),
    removeUser: hasOrgPerm('users:manage'),
    // The signed-in user's own password (re-authenticated by the current one).
    changePassword: isAuthenticated,
    // Public: the PASSWORD_CHANGE challenge token from login is the credential (checked by the PasswordManager).
    changeExpiredPassword: isPublic,
    inviteUser: hasOrgPerm('users:manage'),
    inviteUsers: hasOrgPerm('users:manage'),
    revokeInvitation: hasOrgPerm('users:manage'),
    resendInvitation: hasOrgPerm('users:manage'),
    // Public: the invitation / reset token is the credential (checked by the managers).
    acceptInvitation: isPublic,
    requestPasswordReset: isPublic,
    resetPassword: isPublic,
  },
  Me: isPublic,
  Organization: canSeeIdentity,
  User: { '*': canSeeIdentity, workspaceGrants: isSelfOrUserAdmin },
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
  // Reached only through fields with their own rules (User.workspaceGrants, the payloads below, invitations).
  WorkspaceGrant: isAuthenticated,
  UpdateUserRolePayload: isPublic,
  SetWorkspaceGrantsPayload: isPublic,
  ReactivateUserPayload: isPublic,
  RemoveUserPayload: isPublic,
  ChangePasswordPayload: isPublic,
  Invitation: hasOrgPerm('users:manage'),
  InvitationConnection: hasOrgPerm('users:manage'),
  InviteUserPayload: isPublic,
  InviteUsersPayload: isPublic,
  InviteUsersRow: isPublic,
  RevokeInvitationPayload: isPublic,
  ResendInvitationPayload: isPublic,
  // What the holder of a valid invitation link may see (org name, e-mail, role, expiry).
  InvitationPreview: isPublic,
  AcceptInvitationPayload: isPublic,
  RequestPasswordResetPayload: isPublic,
  ResetPasswordPayload: isPublic,
  UserError: isPublic,
  PageInfo: isPublic,
  Platform: isPublic,
  ServiceStatus: isPublic,
  AppliedMigration: isPublic,
};
