import type { Resolvers } from './__generated__/resolvers';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    mappings: (_p, { workspaceId, first, after }, ctx) => ctx.mappings.list(ctx.viewer, workspaceId, first, after),
    mapping: (_p, { id }, ctx) => ctx.mappings.mapping(ctx.viewer, id),
  },
  Mutation: {
    createMapping: (_p, { input }, ctx) => ctx.mappings.create(ctx.viewer, input),
  },
  Mapping: {
    __resolveReference: (ref, ctx) => ctx.mappings.mapping(ctx.viewer, ref.id),
    // Owned by the workspace subgraph: a reference is all this subgraph returns.
    workspace: (m) => ({ __typename: 'Workspace', id: m.workspaceId }),
    createdAt: (m) => iso(m.createdAt),
    updatedAt: (m) => iso(m.updatedAt),
  },
  Platform: {
    __resolveReference: (ref) => ref,
    mapping: (_p, _a, ctx) => ctx.status(),
  },
};
