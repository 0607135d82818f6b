import type { Resolvers } from './__generated__/resolvers';

const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    workspaces: (_p, { first, after, search }, ctx) => ctx.workspaces.list(first, after, search),
    workspace: (_p, { id }, ctx) => ctx.workspaces.get(id),
    connection: (_p, { id }, ctx) => ctx.connections.get(id),
  },
  Mutation: {
    createWorkspace: (_p, { input }, ctx) => ctx.workspaces.create(input),
    createPostgresConnection: (_p, { input }, ctx) => ctx.connections.createPostgres(input),
    testConnection: (_p, { id }, ctx) => ctx.connections.test(id),
  },
  Workspace: {
    __resolveReference: (ref, ctx) => ctx.workspaces.get(ref.id),
    organization: (w) => ({ __typename: 'Organization', id: w.orgId }),
    connections: (w, _a, ctx) => ctx.connections.listForWorkspace(w.id),
    createdAt: (w) => iso(w.createdAt)!,
  },
  Organization: {
    __resolveReference: (ref) => ref,
    workspaces: (o, _a, ctx) => ctx.workspaces.listForOrganization(o.id),
  },
  Connection: {
    __resolveReference: (ref, ctx) => ctx.connections.get(ref.id),
    workspace: async (c, _a, ctx) => (await ctx.workspaces.get(c.workspaceId))!,
    endpoint: (c) => `${c.config.host}:${c.config.port}/${c.config.database}`,
    hasSecret: (c) => c.secretUpdatedAt !== null,
    secretUpdatedAt: (c) => iso(c.secretUpdatedAt),
    lastTestedAt: (c) => iso(c.lastTestedAt),
    lastTestRun: (c) => (c.lastTestRunId ? { __typename: 'Run', id: c.lastTestRunId } : null),
    createdAt: (c) => iso(c.createdAt)!,
  },
  Platform: {
    __resolveReference: (ref) => ref,
    workspace: (_p, _a, ctx) => ctx.status(),
  },
};
