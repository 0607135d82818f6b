import type { Resolvers } from './__generated__/resolvers';
import type { AuthContext } from './context';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

const SIGN_IN_UNAVAILABLE = {
  accessToken: null,
  expiresAt: null,
  refreshToken: null,
  user: null,
  errors: [{ code: 'SIGN_IN_UNAVAILABLE', field: null, message: 'Sign-in is not configured on this server.' }],
};

/** Marks what a public mutation returned as readable by this (anonymous) request. */
const reveal = <T extends { user: { id: string; orgId: string } | null }>(ctx: AuthContext, payload: T): T => {
  if (payload.user) ctx.revealed.add(payload.user.id).add(payload.user.orgId);
  return payload;
};

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    me: (_p, _a, ctx) => ctx.identity.me(),
    organization: (_p, { id }, ctx) => ctx.identity.organization(id),
    users: (_p, { first, after }, ctx) => ctx.identity.listUsers(first, after),
  },
  Mutation: {
    signUp: async (_p, { input }, ctx) => reveal(ctx, await ctx.accounts.signUp(input)),
    login: async (_p, { input }, ctx) => (ctx.sessions ? reveal(ctx, await ctx.sessions.login(input)) : SIGN_IN_UNAVAILABLE),
    refreshSession: async (_p, { refreshToken }, ctx) => (ctx.sessions ? reveal(ctx, await ctx.sessions.refresh(refreshToken)) : SIGN_IN_UNAVAILABLE),
    logout: (_p, _a, ctx) =>
      ctx.sessions ? ctx.sessions.logout(ctx.viewer) : { ok: false, errors: SIGN_IN_UNAVAILABLE.errors },
    deactivateUser: (_p, { id }, ctx) => ctx.accounts.deactivateUser(ctx.viewer, id),
  },
  SessionTokensPayload: {
    expiresAt: (p) => (p.expiresAt ? iso(p.expiresAt) : null),
  },
  Organization: {
    __resolveReference: (ref, ctx) => ctx.identity.organization(ref.id),
    createdAt: (o) => iso(o.createdAt),
  },
  User: {
    __resolveReference: (ref, ctx) => ctx.identity.user(ref.id),
    organization: (u, _a, ctx) => ctx.identity.requireOrganization(u.orgId),
    createdAt: (u) => iso(u.createdAt),
  },
  Platform: {
    __resolveReference: (ref) => ref,
    auth: (_p, _a, ctx) => ctx.status(),
  },
};
