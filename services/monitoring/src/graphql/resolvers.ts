import type { Resolvers } from './__generated__/resolvers';
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

/** Thin: read arguments, call one manager, shape the answer. */
export const resolvers: Resolvers = {
  Query: {
    platform: (_p, _a, ctx) => platform(ctx),
    run: (_p, { id }, ctx) => ctx.runs.run(id),
    runs: (_p, { workspaceId, first, after, kind, state }, ctx) => ctx.runs.list(workspaceId, { first, after, kind, state }),
  },
  Run: {
    __resolveReference: (ref, ctx) => ctx.runs.run(ref.id),
    error: (r) => (r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null),
    steps: (r, _a, ctx) => ctx.runs.stepsOf(r),
    createdAt: (r) => iso(r.createdAt),
    startedAt: (r) => isoOrNull(r.startedAt),
    finishedAt: (r) => isoOrNull(r.finishedAt),
  },
  RunStep: {
    at: (s) => iso(s.at),
  },
  Platform: {
    __resolveReference: (ref, ctx) => platform(ctx, ref.id),
  },
};
