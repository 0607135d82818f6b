import { isCustom } from '../managers/canonical-type.manager';
import type { Resolvers } from './__generated__/resolvers';

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    canonicalTypes: (_p, { category, search }, ctx) => ctx.canonicalTypes.list(category, search),
    canonicalType: (_p, { name }, ctx) => ctx.canonicalTypes.byNameOrNull(name),
    sourceSnapshots: (_p, { connectionId, first, after }, ctx) => ctx.sourceSnapshots.list(connectionId, first, after),
    sourceSnapshot: (_p, { id }, ctx) => ctx.sourceSnapshots.snapshot(id),
  },
  Mutation: {
    createCanonicalType: (_p, { input }, ctx) => ctx.canonicalTypes.create(input),
    describeSourceTable: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(input),
    describeSourceColumn: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(input),
  },
  SourceSnapshot: {
    __resolveReference: (ref, ctx) => ctx.sourceSnapshots.snapshot(ref.id),
    tables: (s, _a, ctx) => ctx.sourceSnapshots.tablesOf(s),
  },
  SourceTable: {
    __resolveReference: (ref, ctx) => ctx.sourceSnapshots.table(ref.id),
    snapshot: (t, _a, ctx) => ctx.sourceSnapshots.snapshotOf(t),
    columns: (t, _a, ctx) => ctx.sourceSnapshots.columnsOf(t),
    metadata: (t, _a, ctx) => ctx.sourceSnapshots.tableMetadata(t),
  },
  SourceColumn: {
    metadata: (c, _a, ctx) => ctx.sourceSnapshots.columnMetadata(c),
  },
  CanonicalType: {
    __resolveReference: (ref, ctx) => ctx.canonicalTypes.byIdOrNull(ref.id),
    parent: (t, _a, ctx) => ctx.canonicalTypes.parentOf(t),
    builtIn: (t) => !isCustom(t),
    detectionPattern: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(t)).pattern,
    sqlNormalizer: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(t)).sqlNormalizer,
    rule: async (t, _a, ctx) => (await ctx.canonicalTypes.definitionOf(t)).rule,
  },
  Platform: {
    __resolveReference: (ref) => ref,
    schema: (_p, _a, ctx) => ctx.status(),
  },
};
