import type { Resolvers } from './__generated__/resolvers';
import type { AuthContext } from './context';
import { failed } from '../managers/session.manager';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

/** Every sign-in payload when this server has no signing key: the empty token payload plus the MFA fields. */
const SIGN_IN_UNAVAILABLE = {
  ...failed({ code: 'SIGN_IN_UNAVAILABLE', field: null, message: 'Sign-in is not configured on this server.' }),
  backupCodes: null,
  enrollmentId: null,
  otpauthUri: null,
  qrCodeDataUrl: null,
};

/** Invitations and password resets when this server has no seal key (their e-mail bodies are sealed). */
const EMAIL_LINKS_UNAVAILABLE = [
  { code: 'EMAIL_LINKS_UNAVAILABLE', field: null, message: 'Invitations and password resets are not configured on this server.' },
];

/** Marks what a public mutation returned as readable by this (anonymous) request. */
const reveal = <T extends { user: { id: string; orgId: string } | null }>(ctx: AuthContext, payload: T): T => {
  if (payload.user) ctx.revealed.add(payload.user.id).add(payload.user.orgId);
  return payload;
};

/** Where the caller is (from the signed viewer assertion). */
const client = (ctx: AuthContext) => ({ ...(ctx.clientIp ? { clientIp: ctx.clientIp } : {}), ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}) });

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    me: async (_p, _a, ctx) => ({ ...(await ctx.identity.me(ctx.viewer)), mfaEnabled: ctx.mfa ? await ctx.mfa.enabled(ctx.viewer) : false }),
    organization: (_p, { id }, ctx) => ctx.identity.organization(ctx.viewer, id, ctx.revealed),
    users: (_p, { first, after }, ctx) => ctx.identity.listUsers(ctx.viewer, first, after),
    securityPolicy: (_p, _a, ctx) => ctx.policy.get(ctx.viewer),
    mySessions: (_p, _a, ctx) => (ctx.sessions ? ctx.sessions.mySessions(ctx.viewer) : []),
    userSessions: (_p, { userId }, ctx) => (ctx.sessions ? ctx.sessions.userSessions(ctx.viewer, userId) : []),
    serviceAccounts: (_p, _a, ctx) => ctx.serviceAccounts.list(ctx.viewer),
    invitations: (_p, { first, after, status }, ctx) =>
      ctx.invitations ? ctx.invitations.list(ctx.viewer, first, after, status) : { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } },
    invitation: (_p, { token }, ctx) => (ctx.invitations ? ctx.invitations.preview(token) : null),
  },
  Mutation: {
    // Reveals nothing: the answer is the same whether or not the e-mail address had an account.
    signUp: (_p, { input }, ctx) => ctx.accounts.signUp(input, client(ctx)),
    login: async (_p, { input }, ctx) => (ctx.sessions ? reveal(ctx, await ctx.sessions.login(input, client(ctx))) : SIGN_IN_UNAVAILABLE),
    refreshSession: async (_p, { refreshToken }, ctx) => (ctx.sessions ? reveal(ctx, await ctx.sessions.refresh(refreshToken)) : SIGN_IN_UNAVAILABLE),
    logout: (_p, _a, ctx) => (ctx.sessions ? ctx.sessions.logout(ctx.viewer) : { ok: false, errors: SIGN_IN_UNAVAILABLE.errors }),
    deactivateUser: (_p, { id }, ctx) => ctx.accounts.deactivateUser(ctx.viewer, id),
    completeMfaLogin: async (_p, { challengeToken, code }, ctx) =>
      ctx.mfa ? reveal(ctx, await ctx.mfa.completeLogin(challengeToken, code, client(ctx))) : SIGN_IN_UNAVAILABLE,
    enrollTotp: (_p, { challengeToken }, ctx) => (ctx.mfa ? ctx.mfa.enroll(ctx.viewer, challengeToken) : SIGN_IN_UNAVAILABLE),
    confirmTotp: async (_p, { enrollmentId, code, challengeToken }, ctx) =>
      ctx.mfa ? reveal(ctx, await ctx.mfa.confirm(ctx.viewer, enrollmentId, code, challengeToken, client(ctx))) : SIGN_IN_UNAVAILABLE,
    disableTotp: (_p, { password }, ctx) => (ctx.mfa ? ctx.mfa.disable(ctx.viewer, password, ctx.clientIp) : { ok: false, errors: SIGN_IN_UNAVAILABLE.errors }),
    revokeSession: (_p, { id }, ctx) => (ctx.sessions ? ctx.sessions.revokeSession(ctx.viewer, id) : { ok: false, errors: SIGN_IN_UNAVAILABLE.errors }),
    updateSecurityPolicy: (_p, { input }, ctx) => ctx.policy.update(ctx.viewer, input),
    createServiceAccount: (_p, { input }, ctx) => ctx.serviceAccounts.create(ctx.viewer, input),
    rotateApiKey: (_p, { serviceAccountId }, ctx) => ctx.serviceAccounts.rotate(ctx.viewer, serviceAccountId),
    revokeApiKey: async (_p, { id }, ctx) => {
      const r = await ctx.serviceAccounts.revoke(ctx.viewer, id);
      return { ok: r.ok, revoked: r.apiKey, errors: r.errors };
    },
    inviteUser: (_p, { input }, ctx) => (ctx.invitations ? ctx.invitations.invite(ctx.viewer, input) : { invitation: null, errors: EMAIL_LINKS_UNAVAILABLE }),
    inviteUsers: (_p, { csv }, ctx) =>
      ctx.invitations ? ctx.invitations.inviteCsv(ctx.viewer, csv) : { rows: [], invitedCount: 0, failedCount: 0, errors: EMAIL_LINKS_UNAVAILABLE },
    revokeInvitation: (_p, { id }, ctx) => (ctx.invitations ? ctx.invitations.revoke(ctx.viewer, id) : { invitation: null, errors: EMAIL_LINKS_UNAVAILABLE }),
    resendInvitation: (_p, { id }, ctx) => (ctx.invitations ? ctx.invitations.resend(ctx.viewer, id) : { invitation: null, errors: EMAIL_LINKS_UNAVAILABLE }),
    acceptInvitation: async (_p, { input }, ctx) =>
      ctx.invitations ? reveal(ctx, await ctx.invitations.accept(input)) : { user: null, errors: EMAIL_LINKS_UNAVAILABLE },
    requestPasswordReset: (_p, { email }, ctx) => (ctx.passwordResets ? ctx.passwordResets.request(email) : { ok: true, errors: EMAIL_LINKS_UNAVAILABLE }),
    resetPassword: (_p, { token, newPassword }, ctx) =>
      ctx.passwordResets ? ctx.passwordResets.reset(token, newPassword) : { ok: false, errors: EMAIL_LINKS_UNAVAILABLE },
    updateUserRole: (_p, { userId, orgRole }, ctx) => ctx.people.updateRole(ctx.viewer, userId, orgRole),
    setWorkspaceGrants: (_p, { userId, grants }, ctx) => ctx.people.setGrants(ctx.viewer, userId, grants),
    reactivateUser: (_p, { id }, ctx) => ctx.people.reactivate(ctx.viewer, id),
    removeUser: (_p, { id }, ctx) => ctx.people.remove(ctx.viewer, id),
    changePassword: (_p, { currentPassword, newPassword }, ctx) => ctx.passwords.change(ctx.viewer, currentPassword, newPassword, ctx.clientIp),
    changeExpiredPassword: async (_p, { challengeToken, newPassword }, ctx) =>
      reveal(ctx, await ctx.passwords.changeExpired(challengeToken, newPassword, client(ctx))),
  },
  SessionTokensPayload: {
    expiresAt: (p) => (p.expiresAt ? iso(p.expiresAt) : null),
    challengeExpiresAt: (p) => (p.challengeExpiresAt ? iso(p.challengeExpiresAt) : null),
  },
  Invitation: {
    createdAt: (x) => iso(x.createdAt),
    expiresAt: (x) => iso(x.expiresAt),
    acceptedAt: (x) => (x.acceptedAt ? iso(x.acceptedAt) : null),
    revokedAt: (x) => (x.revokedAt ? iso(x.revokedAt) : null),
  },
  InvitationPreview: {
    expiresAt: (x) => iso(x.expiresAt),
  },
  UserSession: {
    createdAt: (x) => iso(x.createdAt),
    lastUsedAt: (x) => iso(x.lastUsedAt),
    expiresAt: (x) => iso(x.expiresAt),
  },
  ConfirmTotpPayload: {
    expiresAt: (p) => (p.expiresAt ? iso(p.expiresAt) : null),
    challengeExpiresAt: (p) => (p.challengeExpiresAt ? iso(p.challengeExpiresAt) : null),
  },
  Organization: {
    __resolveReference: (ref, ctx) => ctx.identity.organization(ctx.viewer, ref.id, ctx.revealed),
    createdAt: (o) => iso(o.createdAt),
  },
  User: {
    __resolveReference: (ref, ctx) => ctx.identity.user(ctx.viewer, ref.id),
    organization: (u, _a, ctx) => ctx.identity.requireOrganization(ctx.viewer, u.orgId, ctx.revealed),
    createdAt: (u) => iso(u.createdAt),
    workspaceGrants: (u, _a, ctx) => ctx.people.grantsOf(ctx.viewer, u),
  },
  Platform: {
    __resolveReference: (ref) => ref,
    auth: (_p, _a, ctx) => ctx.status(),
  },
};
