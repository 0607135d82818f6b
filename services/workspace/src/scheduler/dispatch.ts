import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { Sealed } from '@datalinx/common';
import { isExternalDestination, pipelineSecretAad, type PipelineLoadV1, type PipelineRunJobV2 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { PipelineDao } from '../daos/pipeline.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import type { DbtProjectRefDao } from '../daos/dbt-project-ref.dao';
import type { Connection } from '../entities/connection.entity';
import type { Pipeline } from '../entities/pipeline.entity';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import { enqueueJob } from '../jobs/enqueue-job';
import { resealForDataPlane } from '../jobs/source-job.dispatch';
import { configOf } from '../managers/connection-config';
import type { QuotaPolicy } from '../managers/quota.manager';
import { DEFAULT_SYNC_BATCH_ROWS, DEFAULT_SYNC_STATEMENT_TIMEOUT_MS } from '../managers/sync.manager';
import type { WorkspaceSealed } from '../secrets/keyring';
import { userError, type UserError } from '../managers/user-error';
import { isUserError, lockDestinationConnectionFirst, lockWarehouseDestination } from '../managers/warehouse-destination';

export type DispatchTrigger = { trigger: 'SCHEDULE'; scheduledFor: Date } | { trigger: 'MANUAL' };

/** What a dispatch resolves the load stage from: the connections, the warehouse, the data-plane key, the quotas. */
export interface PipelineDispatchDeps {
  connections: ConnectionDao;
  warehouses: WarehouseDao;
  /** The master key the workers open job secrets with, and the box that opens connection secrets. */
  settings: JobDispatchSettings;
  /** The workspaces' quotas; null: runs are not admitted (tests of the dispatch alone). */
  quotas: QuotaPolicy | null;
  /** The workspaces' latest published dbt projects: a run builds its workspace's. */
  dbtProjects: DbtProjectRefDao;
}

/**
 * A run that cannot be dispatched as the pipeline is defined right now: a source connection was
 * deleted, is no longer a SOURCE, or the workspace's warehouse cannot take the load (not READY; EXTERNAL:
 * its destination connection gone or unusable). Thrown (like
 * QuotaExceededError) so the caller's transaction — or its savepoint — drops the ledger row and
 * everything else of the dispatch; `errors` are the user errors a manual run returns, and the
 * first one's code is what a refused scheduled slot reports.
 */
export class PipelineDispatchRefused extends Error {
  constructor(readonly errors: UserError[]) {
    super(errors.map((e) => e.message).join(' '));
    this.name = 'PipelineDispatchRefused';
  }

  get code(): string {
    return this.errors[0]?.code ?? 'PIPELINE_NOT_DISPATCHABLE';
  }
}

type LockedConnection = Connection & { secretSealed: WorkspaceSealed | Sealed | null };

/**
 * Dispatches one run of a pipeline inside the caller's tenant transaction: the ledger row
 * (`pipeline_run`), the `pipeline.run` v2 job and the run's QUEUED event (both in the outbox, the
 * job with msgID = job id) commit together or not at all. Returns null when the scheduled slot
 * was already dispatched (the ledger's unique constraint): nothing is enqueued then.
 *
 * The job names the dbt project it builds (the workspace's latest published version with models;
 * none: the run only loads). The job carries its load stage ("passed, not fetched", `resolveLoad`): every source
 * connection's config and secrets and the warehouse destination, all read under lock in this
 * transaction, so the job is a consistent snapshot of what the run may touch. A pipeline that
 * cannot run as defined throws PipelineDispatchRefused. With `quotas`, the run is then admitted
 * (concurrent runs, storage; QuotaExceededError rolls the dispatch back) and the job carries the
 * workspace's limits.
 */
export async function dispatchPipelineRun(
  em: EntityManager,
  dao: PipelineDao,
  p: Pipeline,
  t: DispatchTrigger,
  requestedBy: string,
  at: Date,
  deps: PipelineDispatchDeps,
): Promise<{ runId: string; jobId: string } | null> {
  const jobId = randomUUID();
  const runId = randomUUID();
  const scheduledFor = t.trigger === 'SCHEDULE' ? t.scheduledFor : null;
  const inserted = await dao.insertRun(em, {
    orgId: p.orgId,
    workspaceId: p.workspaceId,
    pipelineId: p.id,
    trigger: t.trigger,
    scheduledFor,
    runId,
    jobId,
    requestedBy,
  });
  if (!inserted) return null;
  const load = await resolveLoad(em, dao, p, jobId, deps);
  const admitted = deps.quotas
    ? await deps.quotas.admitRun(em, p.orgId, {
        runId,
        workspaceId: p.workspaceId,
        kind: 'pipeline.run',
        writesData: true,
        externalWarehouse: isExternalDestination(load.destination),
      })
    : null;
  // The dbt project the run builds after its loads: the workspace's latest published version, when it has models.
  const project = await deps.dbtProjects.latest(em, p.workspaceId);
  const dbt = project && project.models.length ? { dbt: { project: project.project } } : {};
  const now = at.toISOString();
  const job: PipelineRunJobV2 = {
    v: 2,
    kind: 'pipeline.run',
    jobId,
    runId,
    orgId: p.orgId,
    workspaceId: p.workspaceId,
    requestedAt: now,
    requestedBy,
    ...(admitted ? { limits: admitted.limits } : {}),
    payload:
      t.trigger === 'SCHEDULE'
        ? { trigger: 'SCHEDULE', pipelineId: p.id, scheduledFor: t.scheduledFor.toISOString(), definition: p.definition, load, ...dbt }
        : { trigger: 'MANUAL', pipelineId: p.id, definition: p.definition, load, ...dbt },
  };
  await enqueueJob(em, job, p.id, t.trigger === 'SCHEDULE' ? `scheduled for ${t.scheduledFor.toISOString()}` : 'manual run');
  return { runId, jobId };
}

/**
 * The job's load stage. Locks, in the order syncConnection takes them (so the two cannot
 * deadlock): the source connections (by id), an EXTERNAL warehouse's destination connection
 * (`lockDestinationConnectionFirst`; never a source: a pipeline loads from SOURCE connections
 * only), the workspace row, the warehouse row (`lockWarehouseDestination`). Then checks that every source is still a SOURCE
 * connection of the pipeline's workspace with a usable config and that the warehouse can take the
 * load (READY; EXTERNAL: its destination connection still there and usable) — all problems at
 * once, as PipelineDispatchRefused — and only then opens the secrets: each connection's
 * (the destination's included) are re-sealed for the data plane with AAD
 * `job:<jobId>:<connectionId>` (a sealed value cannot be moved to another job or connection). One load entry per distinct connection,
 * in definition order.
 */
async function resolveLoad(em: EntityManager, dao: PipelineDao, p: Pipeline, jobId: string, deps: PipelineDispatchDeps): Promise<PipelineLoadV1> {
  const ids = [...new Set(p.definition.sources.map((s) => s.connectionId))];
  const locked = new Map<string, LockedConnection>();
  for (const id of [...ids].sort()) {
    const conn = await deps.connections.lockWithSecret(em, p.orgId, id);
    if (conn && conn.workspaceId === p.workspaceId) locked.set(id, conn);
  }
  const errors: UserError[] = [];
  const configs = new Map<string, PipelineLoadV1['sources'][number]['config']>();
  p.definition.sources.forEach((s, i) => {
    const field = `definition.sources.${i}.connectionId`;
    const conn = locked.get(s.connectionId);
    if (!conn) {
      errors.push(
        userError(
          'CONNECTION_NOT_FOUND',
          field,
          `Source ${i + 1} of the pipeline names connection ${s.connectionId}, which no longer exists in this workspace (it was deleted); edit the pipeline to load from one of the workspace's SOURCE connections, then run it again.`,
        ),
      );
    } else if (conn.kind !== 'SOURCE') {
      errors.push(
        userError(
          'CONNECTION_KIND_INVALID',
          field,
          `Source ${i + 1} of the pipeline, connection "${conn.name}", is now a ${conn.kind} connection; a pipeline loads from SOURCE connections: make it a SOURCE again or edit the pipeline.`,
        ),
      );
    } else if (!configs.has(conn.id)) {
      try {
        configs.set(conn.id, configOf(conn.type, conn.config));
      } catch {
        // A stored config that no longer parses (written before a stricter contract): the user's to fix, not a retry.
        errors.push(
          userError(
            'CONNECTION_CONFIG_INVALID',
            field,
            `The settings of connection "${conn.name}" (source ${i + 1}) are incomplete or no longer valid; fix them with updateConnection, then run the pipeline again.`,
          ),
        );
      }
    }
  });
  const destinationDeps = { warehouses: deps.warehouses, connections: deps.connections, settings: deps.settings };
  await lockDestinationConnectionFirst(em, destinationDeps, p.orgId, p.workspaceId);
  await dao.lockWorkspace(em, p.orgId, p.workspaceId);
  const warehouse = await lockWarehouseDestination(em, destinationDeps, p.orgId, p.workspaceId, null);
  if (isUserError(warehouse)) errors.push(warehouse);
  if (errors.length || isUserError(warehouse)) throw new PipelineDispatchRefused(errors);

  const sources: PipelineLoadV1['sources'] = [];
  for (const id of ids) {
    const conn = locked.get(id)!;
    const secrets = await resealForDataPlane(em, deps.connections, deps.settings, conn, pipelineSecretAad(jobId, conn.id));
    sources.push({ connectionId: conn.id, name: conn.name, config: configs.get(conn.id)!, secrets });
  }
  // An external warehouse's secrets sealed like a source's: for this job and the destination connection only.
  const destination = warehouse.mode === 'PLATFORM' ? warehouse.destination : await warehouse.seal(pipelineSecretAad(jobId, warehouse.connectionId));
  return {
    destination,
    sources,
    batchRows: DEFAULT_SYNC_BATCH_ROWS,
    statementTimeoutMs: DEFAULT_SYNC_STATEMENT_TIMEOUT_MS,
  };
}
