import { isCustom } from '../managers/canonical-type.manager';
import type { Resolvers } from './__generated__/resolvers';

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    canonicalTypes: (_p, { category, search }, ctx) => ctx.canonicalTypes.list(ctx.viewer, category, search),
    canonicalType: (_p, { name }, ctx) => ctx.canonicalTypes.byNameOrNull(ctx.viewer, name),
    sourceSnapshots: (_p, { connectionId, first, after }, ctx) => ctx.sourceSnapshots.list(ctx.viewer, connectionId, first, after),
    sourceSnapshot: (_p, { id }, ctx) => ctx.sourceSnapshots.snapshot(ctx.viewer, id),
  },
  Mutation: {
    createCanonicalType: (_p, { input }, ctx) => ctx.canonicalTypes.create(ctx.viewer, input),
    describeSourceTable: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(ctx.viewer, input),
    describeSourceColumn: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(ctx.viewer, input),
  },
  SourceSnapshot: {
    __resolveReference: (ref, ctx) => ctx.sourceSnapshots.snapshot(ctx.viewer, ref.id),
    tables: (s, _a, ctx) => ctx.sourceSnapshots.tablesOf(ctx.viewer, s),
  },
  SourceTable: {
    __resolveReference: (ref, ctx) => ctx.sourceSnapshots.table(ctx.viewer, ref.id),
    snapshot: (t, _a, ctx) => ctx.sourceSnapshots.snapshotOf(ctx.viewer, t),
    columns: (t, _a, ctx) => ctx.sourceSnapshots.columnsOf(ctx.viewer, t),
    metadata: (t, _a, ctx) => ctx.sourceSnapshots.tableMetadata(ctx.viewer, t),
  },
  SourceColumn: {
    metadata: (c, _a, ctx) => ctx.sourceSnapshots.columnMetadata(ctx.viewer, c),
  },
  CanonicalType: {
    __resolveReference: (ref, ctx) => ctx.canonicalTypes.byIdOrNull(ctx.viewer, ref.id),
    parent: (t, _a, ctx) => ctx.canonicalTypes.parentOf(ctx.viewer, t),
    builtIn: (t) => !isCustom(t),
    detectionPattern: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(ctx.viewer, t)).pattern,
    sqlNormalizer: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(ctx.viewer, t)).sqlNormalizer,
    rule: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(ctx.viewer, t)).rule,
  },
  Platform: {
    __resolveReference: (ref) => ref,
    schema: (_p, _a, ctx) => ctx.status(),
  },
};
