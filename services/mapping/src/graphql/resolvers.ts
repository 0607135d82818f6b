import { stagingModelName } from '@datalinx/contracts';
import type { Resolvers } from './__generated__/resolvers';
import { fieldFromInput, specFromInput, type FieldMapping } from '../spec';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);

/** A field definition with every property of the GraphQL type (null where its kind has none). */
const definitionOf = (d: FieldMapping) => ({
  kind: d.kind,
  source: 'source' in d ? d.source : null,
  column: 'column' in d ? d.column : null,
  expression: d.kind === 'EXPRESSION' ? d.expression : null,
  value: d.kind === 'CONSTANT' ? d.value : null,
  decorators:
    d.kind === 'DECORATED'
      ? d.decorators.map((x) => ({
          kind: x.kind,
          keepLast: x.kind === 'MASK' ? x.keepLast : null,
          value: x.kind === 'DEFAULT' ? x.value : null,
          map: x.kind === 'LOOKUP' ? x.map : null,
          default: x.kind === 'LOOKUP' ? x.default : null,
        }))
      : [],
});

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    mappings: (_p, { workspaceId, first, after }, ctx) => ctx.mappings.list(ctx.viewer, workspaceId, first, after),
    mapping: (_p, { id }, ctx) => ctx.mappings.mapping(ctx.viewer, id),
    mappingDiff: async (_p, { id, from, to }, ctx) => {
      const d = await ctx.mappings.diff(ctx.viewer, id, from, to);
      return d && { from, to, ...d };
    },
    workspaceDbtProject: (_p, { workspaceId }, ctx) => ctx.dbt.project(ctx.viewer, workspaceId),
    suggestedJoins: (_p, { workspaceId, sources }, ctx) => ctx.mappings.suggestJoinsFor(ctx.viewer, workspaceId, sources),
  },
  Mutation: {
    createMapping: (_p, { input }, ctx) => ctx.mappings.create(ctx.viewer, input),
    updateMapping: (_p, { input }, ctx) =>
      ctx.mappings.update(ctx.viewer, { id: input.id, expectedVersion: input.expectedVersion, summary: input.summary, spec: specFromInput(input as never) }),
    setFieldMapping: (_p, { input }, ctx) =>
      ctx.mappings.setField(ctx.viewer, {
        id: input.id,
        expectedVersion: input.expectedVersion,
        targetColumn: input.targetColumn,
        mapping: input.mapping ? (fieldFromInput(input.mapping as never) as never) : null,
      }),
    revertMapping: (_p, { input }, ctx) => ctx.mappings.revert(ctx.viewer, input),
    deleteMapping: (_p, { id }, ctx) => ctx.mappings.delete(ctx.viewer, id),
  },
  Mapping: {
    __resolveReference: (ref, ctx) => ctx.mappings.mapping(ctx.viewer, ref.id),
    // Owned by the workspace subgraph: a reference is all this subgraph returns.
    workspace: (m) => ({ __typename: 'Workspace', id: m.workspaceId }),
    targetTableRef: (m) => (m.targetTableId ? { id: m.targetTableId } : null),
    createdAt: (m) => iso(m.createdAt),
    updatedAt: (m) => iso(m.updatedAt),
    sources: (m) =>
      m.spec.sources.map((s) =>
        'cte' in s
          ? { alias: s.alias, cte: s.cte, connectionId: null, schema: null, table: null, stagingModel: null }
          : {
              alias: s.alias,
              cte: null,
              connectionId: s.connectionId,
              schema: s.schema,
              table: s.table,
              stagingModel: stagingModelName({ connectionId: s.connectionId, schema: s.schema, name: s.table }),
            },
      ),
    joins: (m) => m.spec.joins,
    wildcards: (m) => m.spec.wildcards,
    ctes: async (m, _a, ctx) => {
      const a = await ctx.mappings.analysis(ctx.viewer, m);
      return m.spec.ctes.map((c, i) => ({
        name: c.name,
        sql: c.sql,
        ok: a.ctes[i]?.ok ?? false,
        problem: a.ctes[i]?.problem ?? null,
        compiledSql: a.ctes[i]?.sql ?? null,
      }));
    },
    fields: async (m, _a, ctx) => {
      const a = await ctx.mappings.analysis(ctx.viewer, m);
      return a.fields.map((f) => {
        const d = m.spec.fields[f.column];
        return {
          ...f,
          definition: d ? definitionOf(d) : null,
          lineage: { column: f.column, sources: f.sources, transformations: f.transformations },
        };
      });
    },
    sql: async (m, _a, ctx) => (await ctx.mappings.analysis(ctx.viewer, m)).sql,
    lineage: async (m, _a, ctx) =>
      (await ctx.mappings.analysis(ctx.viewer, m)).fields.map((f) => ({ column: f.column, sources: f.sources, transformations: f.transformations })),
    suggestedJoins: (m, _a, ctx) => ctx.mappings.suggestedJoins(ctx.viewer, m),
    preview: (m, { limit }, ctx) => ctx.mappings.preview(ctx.viewer, m, limit) as never,
    versions: async (m, _a, ctx) => (await ctx.mappings.versions(ctx.viewer, m)).map((v) => ({ ...v, createdAt: iso(v.createdAt) })),
  },
  TargetTable: {
    __resolveReference: (ref) => ({ id: ref.id }),
    mapping: (t, _a, ctx) => ctx.mappings.byTargetTable(ctx.viewer, t.id),
  },
  Platform: {
    __resolveReference: (ref) => ref,
    mapping: (_p, _a, ctx) => ctx.status(),
  },
};
