import type DataLoader from 'dataloader';
import { UnauthenticatedError, decodeCursor, encodeCursor, pageSize, isUuid } from '@datalinx/common';
import type { RunState } from '@datalinx/contracts';
import { tenantByIdLoader, groupLoader, hasWorkspacePermission, type Viewer, perViewer } from '@datalinx/graphql-kit';
import type { RunDao } from '../daos/run.dao';
import type { RunStepDao } from '../daos/run-step.dao';
import type { Run } from '../entities/run.entity';
import type { RunStep } from '../entities/run-step.entity';
import { userError, type MonitoringUserError } from '../errors';
import type { RunCanceler } from './run-canceler';
import { isTerminal } from './run-state';

export interface RunListArgs {
  first?: number | null;
  after?: string | null;
  kind?: string | null;
  state?: RunState | null;
}

/**
 * Runs as the viewer may see them: runs of the viewer's organization, in workspaces where the
 * viewer holds `runs:read`. Every lookup — root fields and entity references alike, since
 * shield does not cover `__resolveReference` — goes through `readable`; "not found" and "not
 * yours" are the same null. Per request: runs by id and steps by run are batched (DataLoader),
 * so a page of runs with their steps costs one query for the runs and one for all the steps.
 */
export class RunManager {
  private readonly runLoader: (viewer: Viewer) => DataLoader<string, Run | null>;
  private readonly stepLoader: (viewer: Viewer) => DataLoader<string, RunStep[]>;

  constructor(
    private readonly runs: RunDao,
    private readonly steps: RunStepDao,
    /** Asks the data plane to cancel a run; without it (no NATS), cancelRun answers CANCEL_UNAVAILABLE. */
    private readonly canceler?: RunCanceler,
  ) {
    this.runLoader = tenantByIdLoader<Run>(
      (viewer) => this.orgIdOrNull(viewer),
      (orgId, ids) => this.runs.findByIds(orgId, ids),
    );
    this.stepLoader = perViewer((viewer) =>
      groupLoader<string, RunStep>(
        (runIds) => {
          const orgId = this.orgIdOrNull(viewer);
          return orgId ? this.steps.listByRunIds(orgId, runIds) : Promise.resolve([]);
        },
        (s) => s.runId,
      ),
    );
  }

  private orgIdOrNull(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  private readable(viewer: Viewer, run: Run | null): run is Run {
    return !!run && run.orgId === this.orgIdOrNull(viewer) && hasWorkspacePermission(viewer, run.workspaceId, 'runs:read');
  }

  /** The run when the viewer may read it; null otherwise. */
  async run(viewer: Viewer, id: string): Promise<Run | null> {
    if (!this.orgIdOrNull(viewer) || !isUuid(id)) return null;
    const run = await this.runLoader(viewer).load(id);
    return this.readable(viewer, run) ? run : null;
  }

  /**
   * Cancels a run the viewer may read and holds `runs:cancel` in its workspace for: a pipeline run
   * that has not finished. The workers with Dagster terminate its Dagster run; the run then goes
   * CANCELING and CANCELED on RUNS (as recorded here), so the payload's run is the run as recorded
   * when the request was accepted.
   */
  async cancel(viewer: Viewer, id: string): Promise<{ run: Run | null; errors: MonitoringUserError[] }> {
    const run = await this.run(viewer, id);
    if (!run) return { run: null, errors: [userError('RUN_NOT_FOUND', 'id', 'No run with this id.')] };
    if (!hasWorkspacePermission(viewer, run.workspaceId, 'runs:cancel'))
      return { run, errors: [userError('FORBIDDEN', 'id', 'You may not cancel runs in this workspace (runs:cancel).')] };
    if (isTerminal(run.state)) return { run, errors: [userError('RUN_FINISHED', 'id', `The run has already finished (${run.state}).`)] };
    if (run.kind !== 'pipeline.run')
      return { run, errors: [userError('RUN_NOT_CANCELABLE', 'id', `A ${run.kind} run cannot be canceled; only pipeline runs can.`)] };
    if (!this.canceler) return { run, errors: [userError('CANCEL_UNAVAILABLE', null, 'This monitoring service cannot reach the workers to cancel runs.')] };
    const reply = await this.canceler(run);
    if (reply.ok) return { run, errors: [] };
    const code = reply.error.code === 'RUN_FINISHED' ? 'RUN_FINISHED' : reply.error.code === 'RUN_NOT_FOUND' ? 'RUN_NOT_CANCELABLE' : 'CANCEL_UNAVAILABLE';
    const message = reply.error.code === 'RUN_NOT_FOUND' ? 'The run has not been started in Dagster yet; try again in a moment.' : reply.error.message;
    return { run, errors: [userError(code, code === 'CANCEL_UNAVAILABLE' ? null : 'id', message)] };
  }

  /** Steps of a run the viewer may read, in order (batched across all runs of the request). */
  async stepsOf(viewer: Viewer, run: Run): Promise<RunStep[]> {
    if (!this.readable(viewer, run)) return [];
    return this.stepLoader(viewer).load(run.id);
  }

  async list(viewer: Viewer, workspaceId: string, a: RunListArgs) {
    const orgId = this.orgIdOrNull(viewer);
    if (!orgId) throw new UnauthenticatedError();
    const n = pageSize(a.first);
    // Shield checked the permission for this workspace id; the org filter below makes sure the
    // workspace is the viewer's own (an org ADMIN's role applies to any id it names). A malformed
    // id names no workspace (the argument guard already makes it the nil UUID).
    if (!isUuid(workspaceId) || !hasWorkspacePermission(viewer, workspaceId, 'runs:read'))
      return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await this.runs.listByWorkspace(
      orgId,
      workspaceId,
      { first: n, after: decodeCursor(a.after) },
      { kind: a.kind ?? undefined, state: a.state ?? undefined },
    );
    const nodes = rows.slice(0, n);
    for (const r of nodes) this.runLoader(viewer).prime(r.id, r);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }
}
