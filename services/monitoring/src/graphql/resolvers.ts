import type { AuditEntry as AuditEntryRow } from '../entities/audit-entry.entity';
import type { AuditActorType, AuditEntry, Resolvers } from './__generated__/resolvers';
import type { MonitoringContext } from './context';

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : d);
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

/**
 * The platform entry point `{ id: 'datalinx' }`; every subgraph adds its own status field to it.
 * This subgraph's own fields are lazy: the status query runs only when `monitoring` is asked for.
 */
const platform = (ctx: MonitoringContext, id = 'datalinx') => ({
  id,
  checkedAt: new Date().toISOString(),
  get monitoring() {
    return ctx.status();
  },
});

const ACTOR_TYPE: Record<AuditEntryRow['actorType'], AuditActorType> = {
  user: 'USER',
  'service-account': 'SERVICE_ACCOUNT',
  system: 'SYSTEM',
  anonymous: 'ANONYMOUS',
};

/**
 * The audit entry as the API shows it: an explicit list of fields (a column added later is not
 * exposed by accident); details are non-secret by contract, values as text.
 */
const auditEntry = (r: AuditEntryRow): AuditEntry => ({
  id: r.id,
  occurredAt: iso(r.occurredAt),
  actor: { type: ACTOR_TYPE[r.actorType], id: r.actorId, email: r.actorEmail },
  action: r.action,
  target: r.targetType && r.targetId ? { type: r.targetType, id: r.targetId } : null,
  outcome: r.outcome === 'failure' ? 'FAILURE' : 'SUCCESS',
  ip: r.ip,
  userAgent: r.userAgent,
  // By key: jsonb keeps its own key order, not the publisher's.
  details: Object.keys(r.details ?? {})
    .sort()
    .map((key) => {
      const v = r.details[key];
      return { key, value: typeof v === 'string' ? v : JSON.stringify(v) };
    }),
});

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    platform: (_p, _a, ctx) => platform(ctx),
    run: (_p, { id }, ctx) => ctx.runs.run(ctx.viewer, id),
    runs: (_p, { workspaceId, first, after, kind, state }, ctx) => ctx.runs.list(ctx.viewer, workspaceId, { first, after, kind, state }),
    auditLog: async (_p, { filter, first, after }, ctx) => {
      const page = await ctx.audit.list(ctx.viewer, { filter, first, after });
      return { nodes: page.nodes.map(auditEntry), pageInfo: page.pageInfo };
    },
  },
  Mutation: {
    cancelRun: (_p, { id }, ctx) => ctx.runs.cancel(ctx.viewer, id),
  },
  Run: {
    __resolveReference: (ref, ctx) => ctx.runs.run(ctx.viewer, ref.id),
    error: (r) => (r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null),
    steps: (r, _a, ctx) => ctx.runs.stepsOf(ctx.viewer, r),
    createdAt: (r) => iso(r.createdAt),
    startedAt: (r) => isoOrNull(r.startedAt),
    finishedAt: (r) => isoOrNull(r.finishedAt),
    dagster: (r) => (r.dagsterRunId ? { runId: r.dagsterRunId, url: r.dagsterRunUrl ?? '' } : null),
  },
  RunStep: {
    at: (s) => iso(s.at),
  },
  Platform: {
    __resolveReference: (ref, ctx) => platform(ctx, ref.id),
  },
};
