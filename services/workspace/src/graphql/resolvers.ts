import type { Resolvers } from './__generated__/resolvers';
import { sslModeToEnum } from '../managers/connection-config';

const iso = (d: Date | string | null) => (d instanceof Date ? d.toISOString() : d);

/** Thin: read arguments, call one manager, shape the answer. */

export const resolvers: Resolvers = {
  Query: {
    workspaces: (_p, { first, after, search, environment, archived }, ctx) => ctx.workspaces.list(ctx.viewer, first, after, search, { environment, archived }),
    workspace: (_p, { id }, ctx) => ctx.workspaces.get(ctx.viewer, id),
    connection: (_p, { id }, ctx) => ctx.connections.get(ctx.viewer, id),
    pipelines: (_p, { workspaceId, first, after, search }, ctx) => ctx.pipelines.list(ctx.viewer, workspaceId, first, after, search),
    pipeline: (_p, { id }, ctx) => ctx.pipelines.get(ctx.viewer, id),
    promotion: (_p, { id }, ctx) => ctx.promotions.get(ctx.viewer, id),
  },
  Mutation: {
    promoteWorkspace: (_p, { input }, ctx) =>
      ctx.promotions.promote(ctx.viewer, {
        fromWorkspaceId: input.fromWorkspaceId,
        toWorkspaceId: input.toWorkspaceId,
        include: input.include ?? ['CONNECTIONS', 'PIPELINES', 'MAPPINGS'],
      }),
    createWorkspace: (_p, { input }, ctx) => ctx.workspaces.create(ctx.viewer, input),
    updateWorkspace: (_p, { id, input }, ctx) => ctx.workspaces.update(ctx.viewer, id, input),
    archiveWorkspace: (_p, { id }, ctx) => ctx.workspaces.archive(ctx.viewer, id),
    unarchiveWorkspace: (_p, { id }, ctx) => ctx.workspaces.unarchive(ctx.viewer, id),
    deleteWorkspace: (_p, { id }, ctx) => ctx.workspaces.delete(ctx.viewer, id),
    useExternalWarehouse: (_p, { workspaceId, connectionId }, ctx) => ctx.warehouses.useExternal(ctx.viewer, workspaceId, connectionId),
    testConnection: (_p, { id }, ctx) => ctx.connections.test(ctx.viewer, id),
    discoverConnection: (_p, { id, scope }, ctx) => ctx.discovery.discover(ctx.viewer, id, scope),
    syncConnection: (_p, { input }, ctx) => ctx.sync.sync(ctx.viewer, input),
    canonicalizeColumn: (_p, { input }, ctx) => ctx.canonicalize.canonicalize(ctx.viewer, input),
    createConnection: (_p, { input }, ctx) => ctx.connections.create(ctx.viewer, input),
    updateConnection: (_p, { id, input }, ctx) => ctx.connections.update(ctx.viewer, id, input),
    rotateConnectionSecret: (_p, { id, secrets }, ctx) => ctx.connections.rotateSecret(ctx.viewer, id, secrets),
    deleteConnection: (_p, { id }, ctx) => ctx.connections.delete(ctx.viewer, id),
    createPipeline: (_p, { input }, ctx) => ctx.pipelines.create(ctx.viewer, input),
    updatePipeline: (_p, { id, input }, ctx) => ctx.pipelines.update(ctx.viewer, id, input),
    setPipelineEnabled: (_p, { id, enabled }, ctx) => ctx.pipelines.setEnabled(ctx.viewer, id, enabled),
    deletePipeline: (_p, { id }, ctx) => ctx.pipelines.delete(ctx.viewer, id),
    runPipeline: (_p, { id }, ctx) => ctx.pipelines.run(ctx.viewer, id),
    updateWorkspaceQuotas: (_p, { workspaceId, input }, ctx) => ctx.quotas.update(ctx.viewer, workspaceId, input),
  },
  Workspace: {
    __resolveReference: (ref, ctx) => ctx.workspaces.get(ctx.viewer, ref.id),
    organization: (w) => ({ __typename: 'Organization', id: w.orgId }),
    connections: (w, _a, ctx) => ctx.connections.listForWorkspace(ctx.viewer, w.id),
    files: (w, _a, ctx) => ctx.files.listForWorkspace(ctx.viewer, w.id),
    quotas: (w, _a, ctx) => ctx.quotas.forWorkspace(ctx.viewer, w.id),
    createdAt: (w) => iso(w.createdAt)!,
    updatedAt: (w) => iso(w.updatedAt)!,
    archivedAt: (w) => iso(w.archivedAt),
    warehouse: async (w, _a, ctx) => {
      const h = await ctx.warehouses.forWorkspace(ctx.viewer, w.id);
      if (!h) return null;
      const { connectionId, updatedAt, ...rest } = h;
      return { ...rest, updatedAt: iso(updatedAt)!, connection: connectionId ? await ctx.connections.get(ctx.viewer, connectionId) : null };
    },
  },
  Organization: {
    __resolveReference: (ref) => ref,
    workspaces: (o, _a, ctx) => ctx.workspaces.listForOrganization(ctx.viewer, o.id),
  },
  Connection: {
    __resolveReference: (ref, ctx) => ctx.connections.get(ctx.viewer, ref.id),
    workspace: async (c, _a, ctx) => (await ctx.workspaces.get(ctx.viewer, c.workspaceId))!,
    endpoint: (c, _a, ctx) => {
      const cfg = ctx.connections.configOf(c);
      return cfg.type === 'FILE' ? cfg.fileName : cfg.type === 'REST_API' ? cfg.baseUrl : `${cfg.host}:${cfg.port}/${cfg.database}`;
    },
    config: (c, _a, ctx) => ctx.connections.configOf(c),
    secretSet: (c) => c.secretUpdatedAt !== null,
    secretUpdatedAt: (c) => iso(c.secretUpdatedAt),
    lastTestedAt: (c) => iso(c.lastTestedAt),
    lastTestRun: (c) => (c.lastTestRunId ? { __typename: 'Run', id: c.lastTestRunId } : null),
    createdAt: (c) => iso(c.createdAt)!,
  },
  Promotion: {
    __resolveReference: (ref, ctx) => ctx.promotions.get(ctx.viewer, ref.id),
    fromWorkspace: (p, _a, ctx) => ctx.workspaces.get(ctx.viewer, p.fromWorkspaceId),
    toWorkspace: async (p, _a, ctx) => (await ctx.workspaces.get(ctx.viewer, p.toWorkspaceId))!,
    pendingParts: (p) => p.expectedParts.filter((x) => !p.completedParts.includes(x)),
    partErrors: (p) => p.partErrors.map((e) => `${e.part}: ${e.error}`),
    createdAt: (p) => iso(p.createdAt)!,
    completedAt: (p) => iso(p.completedAt),
  },
  Pipeline: {
    __resolveReference: (ref, ctx) => ctx.pipelines.get(ctx.viewer, ref.id),
    workspace: async (p, _a, ctx) => (await ctx.workspaces.get(ctx.viewer, p.workspaceId))!,
    nextRunAt: (p) => iso(p.nextRunAt),
    nextRunTimes: (p, { count }, ctx) => ctx.pipelines.nextRunTimes(p, count).map((d) => d.toISOString()),
    createdAt: (p) => iso(p.createdAt)!,
    updatedAt: (p) => iso(p.updatedAt)!,
  },
  PipelineDefinition: {
    targetTableIds: (d) => d.targets,
    // Definitions stored before the field existed: the default.
    onMalformed: (d) => d.onMalformed ?? 'SKIP_AND_REPORT',
  },
  PipelineSource: {
    connection: (s, _a, ctx) => ctx.connections.get(ctx.viewer, s.connectionId),
    tables: (s) => s.tables ?? [],
    patterns: (s) => s.patterns ?? [],
    incremental: (s) => (s.incremental ?? []).map((t) => ({ ...t, primaryKey: t.primaryKey ?? null })),
  },
  PipelineCheck: {
    ruleId: (c) => ('ruleId' in c ? c.ruleId : null),
    type: (c) => ('type' in c ? c.type : null),
    column: (c) => ('column' in c ? c.column : null),
    targetTableId: (c) => ('targetTableId' in c ? (c.targetTableId ?? null) : null),
  },
  PipelineExport: {
    connection: (x, _a, ctx) => ctx.connections.get(ctx.viewer, x.connectionId),
  },
  ConnectionConfig: {
    __resolveType: (c) =>
      (({ POSTGRES: 'PostgresConnectionConfig', MYSQL: 'MysqlConnectionConfig', FILE: 'FileConnectionConfig', REST_API: 'RestApiConnectionConfig' }) as const)[
        c.type
      ],
  },
  PostgresConnectionConfig: {
    sslMode: (c) => sslModeToEnum(c.sslMode),
    schema: (c) => c.schema ?? null,
  },
  FileConnectionConfig: {
    delimiter: (c) => c.delimiter ?? null,
    encoding: (c) => c.encoding ?? null,
  },
  RestApiConnectionConfig: {
    apiKeyHeader: (c) => c.apiKeyHeader ?? null,
    username: (c) => c.username ?? null,
    openApiUrl: (c) => c.openApiUrl ?? null,
    openApiFileId: (c) => c.openApiFileId ?? null,
  },
  StoredFile: {
    sizeBytes: (f) => Number(f.sizeBytes),
    createdAt: (f) => iso(f.createdAt)!,
  },
  Platform: {
    __resolveReference: (ref) => ref,
    workspace: (_p, _a, ctx) => ctx.status(),
  },
};
