import { isCustom } from '../managers/canonical-type.manager';
import type { Resolvers } from './__generated__/resolvers';

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    canonicalTypes: (_p, { category, search }, ctx) => ctx.canonicalTypes.list(ctx.viewer, category, search),
    canonicalType: (_p, { name }, ctx) => ctx.canonicalTypes.byNameOrNull(ctx.viewer, name),
    sourceSnapshots: (_p, { connectionId, first, after }, ctx) => ctx.sourceSnapshots.list(ctx.viewer, connectionId, first, after),
    sourceSnapshot: (_p, { id }, ctx) => ctx.sourceSnapshots.snapshot(ctx.viewer, id),
    targetTables: (_p, { workspaceId }, ctx) => ctx.targetSchemas.tables(ctx.viewer, workspaceId),
    targetTable: (_p, { id }, ctx) => ctx.targetSchemas.table(ctx.viewer, id),
    targetSchemaVersions: (_p, { workspaceId, first, after }, ctx) => ctx.targetSchemas.versions(ctx.viewer, workspaceId, first, after),
    targetSchemaDiff: (_p, { workspaceId, fromVersion, toVersion }, ctx) => ctx.targetSchemas.diff(ctx.viewer, workspaceId, fromVersion, toVersion),
    exportTargetSchema: (_p, { workspaceId, version }, ctx) => ctx.targetSchemas.export(ctx.viewer, workspaceId, version),
    targetTemplates: (_p, _a, ctx) => ctx.targetSchemas.templates().map((t) => ({ ...t, columns: t.columns.map((c, i) => ({ ...c, order: i + 1 })) })),
  },
  Mutation: {
    createCanonicalType: (_p, { input }, ctx) => ctx.canonicalTypes.create(ctx.viewer, input),
    describeSourceTable: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(ctx.viewer, input),
    describeSourceColumn: (_p, { input }, ctx) => ctx.sourceSnapshots.describe(ctx.viewer, input),
    createTargetTable: (_p, { input }, ctx) => ctx.targetSchemas.createTable(ctx.viewer, input),
    updateTargetTable: (_p, { input }, ctx) => ctx.targetSchemas.updateTable(ctx.viewer, input),
    deleteTargetTable: (_p, { input }, ctx) => ctx.targetSchemas.deleteTable(ctx.viewer, input),
    createTargetRelationship: (_p, { input }, ctx) => ctx.targetSchemas.createRelationship(ctx.viewer, input),
    deleteTargetRelationship: (_p, { input }, ctx) => ctx.targetSchemas.deleteRelationship(ctx.viewer, input),
    importTargetSchema: (_p, { workspaceId, json }, ctx) => ctx.targetSchemas.importSchema(ctx.viewer, workspaceId, json),
  },
  TargetTable: {
    __resolveReference: (ref, ctx) => ctx.targetSchemas.table(ctx.viewer, ref.id),
    workspace: (t) => ({ id: t.workspaceId }),
    columns: async (t, _a, ctx) => (await ctx.targetSchemas.columnsOf(ctx.viewer, t)).map((c) => ({ ...c, order: c.position })),
    primaryKey: async (t, _a, ctx) => (await ctx.targetSchemas.columnsOf(ctx.viewer, t)).filter((c) => c.primaryKey).map((c) => c.name),
    relationships: (t, _a, ctx) => ctx.targetSchemas.relationshipsOf(ctx.viewer, t),
    referencedBy: (t, _a, ctx) => ctx.targetSchemas.referencedByOf(ctx.viewer, t),
  },
  TargetRelationship: {
    fromTable: (r, _a, ctx) => ctx.targetSchemas.tableOfRelationship(ctx.viewer, r.fromTableId),
    toTable: (r, _a, ctx) => ctx.targetSchemas.tableOfRelationship(ctx.viewer, r.toTableId),
  },
  TargetSchemaVersion: {
    authorKind: (v) => (v.actorKind === 'user' ? 'USER' : v.actorKind === 'service-account' ? 'SERVICE_ACCOUNT' : 'SYSTEM'),
    authorId: (v) => v.actorId,
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
