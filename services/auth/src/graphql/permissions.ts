import { forbidden, hasOrgPerm, hasOrgPermission, isAuthenticated, isPublic, or, rule, unauthenticated, type RequestContext } from '@datalinx/graphql-kit';
import type { AuthContext } from './context';

/**
 * Who may read what, by kind of caller (deny by default; every root field and type below says
 * which of these it allows):
 * - people — a user with an org role (ADMIN, MEMBER or VIEWER): the organization's people, its
 *   security policy, their own sessions and second factor; org ADMINs more (`hasOrgPerm`);
 * - service accounts — an API key with one workspace grant: only what that workspace role needs
 *   from auth, which is their own organization (name, slug, region, time zone: no personal data;
 *   `Workspace.organization` resolves through it) and `me`. Never a user, an e-mail, a session or
 *   the org's settings: `hasOrgRole` refuses them with FORBIDDEN;
 * - anonymous callers — the public fields, and the user / org that this very request signed in
 *   to (the login, MFA and invitation payloads).
 */

/** A person of the organization (any org role). Service accounts have no org role: FORBIDDEN. */
const hasOrgRole = rule({ cache: 'contextual' })(async (_p, _a, ctx: RequestContext) => {
  const v = ctx.viewer;
  if (v.kind === 'anonymous') return unauthenticated();
  return v.kind === 'user' ? true : forbidden('Only people of the organization can do this; a service account acts only in its workspace.');
});

/** For an anonymous caller: the user / org this very request signed in to (managers re-check). */
const isRevealedToThisRequest = rule({ cache: 'no_cache' })(async (parent: { id?: unknown }, _a, ctx: RequestContext) =>
  typeof parent?.id === 'string' && (ctx as AuthContext).revealed.has(parent.id) ? true : unauthenticated(),
);
/** The viewer's own organization (the IdentityManager narrows it): people and service accounts. */
const canSeeOrganization = or(isAuthenticated, isRevealedToThisRequest);
/** A person's record (e-mail, role, status): people of the same org (the IdentityManager narrows it), never a service account. */
const canSeePerson = or(hasOrgRole, isRevealedToThisRequest);

/**
 * `User.workspaceGrants`: only the user themself and the ADMINs (users:manage) of the user's own
 * org — other members see who is in the org, not what they may touch. The PeopleManager re-checks.
 */
const isSelfOrUserAdmin = rule({ cache: 'no_cache' })(async (parent: { id?: unknown; orgId?: unknown }, _a, ctx: RequestContext) => {
  const v = ctx.viewer;
  if (v.kind === 'anonymous') return unauthenticated();
  if (v.kind !== 'user' || parent?.orgId !== v.orgId) return forbidden();
  return parent.id === v.userId || hasOrgPermission(v, 'users:manage')
    ? true
    : forbidden('Only the user themself and organization administrators can see workspace grants.');
});

/** Every root field has an explicit rule; anything not listed is denied (fallbackRule: deny). */
export const permissions = {
  Query: {
    // Public; for a service account: its kind and organization, no user.
    me: isPublic,
    // Service accounts included: the org itself holds no personal data.
    organization: isAuthenticated,
    users: hasOrgRole,
    securityPolicy: hasOrgRole,
    mySessions: hasOrgRole,
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
    logout: hasOrgRole,
    deactivateUser: hasOrgPerm('users:manage'),
    // The challenge token is the credential of the MFA steps (checked by the MfaManager).
    completeMfaLogin: isPublic,
    // Signed in, or the holder of an ENROLL challenge token (the manager requires one of the two).
    enrollTotp: isPublic,
    confirmTotp: isPublic,
    disableTotp: hasOrgRole,
    // Own sessions; the manager lets an org ADMIN revoke any session of the org.
    revokeSession: hasOrgRole,
    updateSecurityPolicy: hasOrgPerm('org:manage'),
    createServiceAccount: hasOrgPerm('service-accounts:manage'),
    rotateApiKey: hasOrgPerm('service-accounts:manage'),
    revokeApiKey: hasOrgPerm('service-accounts:manage'),
    updateUserRole: hasOrgPerm('users:manage'),
    setWorkspaceGrants: hasOrgPerm('users:manage'),
    reactivateUser: hasOrgPerm('users:manage'),
    removeUser: hasOrgPerm('users:manage'),
    // The signed-in user's own password (re-authenticated by the current one).
    changePassword: hasOrgRole,
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
  Organization: canSeeOrganization,
  User: { '*': canSeePerson, workspaceGrants: isSelfOrUserAdmin },
  UserConnection: hasOrgRole,
  SignUpPayload: isPublic,
  SessionTokensPayload: isPublic,
  LogoutPayload: isPublic,
  DeactivateUserPayload: isPublic,
  EnrollTotpPayload: isPublic,
  ConfirmTotpPayload: isPublic,
  DisableTotpPayload: isPublic,
  SecurityPolicy: hasOrgRole,
  SecurityPolicyPayload: isPublic,
  UserSession: hasOrgRole,
  RevokeSessionPayload: isPublic,
  ServiceAccount: hasOrgPerm('service-accounts:manage'),
  ApiKey: hasOrgPerm('service-accounts:manage'),
  CreateServiceAccountPayload: isPublic,
  RotateApiKeyPayload: isPublic,
  RevokeApiKeyPayload: isPublic,
  // Reached only through fields with their own rules (User.workspaceGrants, the payloads below, invitations).
  WorkspaceGrant: hasOrgRole,
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
