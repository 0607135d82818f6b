import type { Resolvers } from './__generated__/resolvers';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    me: (_p, _a, ctx) => ctx.identity.me(),
    organization: (_p, { id }, ctx) => ctx.identity.organization(id),
    users: (_p, { first, after }, ctx) => ctx.identity.listUsers(first, after),
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
