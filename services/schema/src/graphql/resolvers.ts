import type { Resolvers } from './__generated__/resolvers';

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    canonicalTypes: (_p, { category, search }, ctx) => ctx.canonicalTypes.list(category, search),
    canonicalType: (_p, { name }, ctx) => ctx.canonicalTypes.byNameOrNull(name),
  },
  CanonicalType: {
    __resolveReference: (ref, ctx) => ctx.canonicalTypes.byIdOrNull(ref.id),
    parent: (t, _a, ctx) => ctx.canonicalTypes.parentOf(t),
  },
  Platform: {
    __resolveReference: (ref) => ref,
    schema: (_p, _a, ctx) => ctx.status(),
  },
};
