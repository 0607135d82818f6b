import type { JetStreamClient } from '@nats-io/jetstream';
import type { ConnectionSecrets, PipelineDefinitionV1, PipelineLoadSource, PipelineRunJobV2, SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import type { FileStorage } from '../connectors/file';
import { plural } from '../connectors/steps';
import { qualified, type CatalogOpener, type TableRef } from '../discovery/catalog';
import { postgresCatalog } from '../discovery/postgres';
import { mysqlCatalog } from '../discovery/mysql';
import { readerCatalog } from '../discovery/readers';
import { inScope } from '../discovery/profile';
import type { SyncOutcome, SyncReporter } from '../sync/outcome';
import { destinationTableName } from '../sync/sql';
import type { WarehouseAccess } from '../sync/warehouse-connection';
import { runSync } from '../sync/run-sync';
import type { DagsterClient } from '../dagster/client';
import { DagsterEventMapper, DagsterRunPublisher, followDagsterRun, JOB_TAG, PIPELINE_JOB, RUN_TAG, WORKSPACE_TAG } from '../dagster/follow';

export interface PipelineRunOptions extends WarehouseAccess {
  /**
   * `warehouseAdminUrl` (WAREHOUSE_ADMIN_URL): a PLATFORM load runs as the workspace role through it;
   * `destinationSecrets`: an EXTERNAL load connects with the destination connection's own
   * credentials (opened by the job runner with AAD `pipelineSecretAad(jobId, <destination connectionId>)`).
   */
  /** DLX_FILE_STORAGE_DIR and FILE_MAX_BYTES (FILE sources). */
  fileStorage: FileStorage;
  /** SYNC_BATCH_DELAY_MS (tests only). */
  batchDelayMs?: number;
  /**
   * Opens a load source's secrets (sealed with AAD `pipelineSecretAad(jobId, connectionId)`); throws
   * PermanentJobError SECRET_UNREADABLE when they do not open. The job runner owns the master key.
   */
  openSecrets(source: PipelineLoadSource): ConnectionSecrets;
}

/** How long listing a source's tables may take (a connection, one catalog query; a file is read once). */
const LIST_TIMEOUT_MS = 60_000;
/** How many table names a message lists before "… and N more". */
const LISTED_TABLES = 20;

/** One source of the run, resolved before anything is loaded. */
export interface PlannedSource {
  source: PipelineLoadSource;
  secrets: ConnectionSecrets;
  tables: SyncTableV1[];
}

type Failure = { code: string; message: string };

const listNames = (names: string[]) =>
  (names.length > LISTED_TABLES ? `${names.slice(0, LISTED_TABLES).join(', ')} … and ${names.length - LISTED_TABLES} more` : names.join(', ')) || 'none';

/** Whether a name from the definition (`schema.table`, or a bare `table`) names this table (as `inScope` matches `tables`). */
const names = (name: string, t: { schema: string; name: string }) => name === qualified(t) || (!name.includes('.') && name === t.name);

/** Steps of one source, prefixed with its name, so a run of several sources reads well. */
const prefixed = (report: SyncReporter, name: string): SyncReporter => ({
  step: (step, status, message, durationMs) => report.step(`${name}: ${step}`, status, message, durationMs),
  progress: (step, p) => report.progress(`${name}: ${step}`, p),
});

/** The catalog of a source, as discovery opens it (read-only; nothing is profiled here). */
function catalogOf(job: PipelineRunJobV2, source: PipelineLoadSource, secrets: ConnectionSecrets, fileStorage: FileStorage): CatalogOpener {
  const config = source.config;
  return config.type === 'POSTGRES'
    ? postgresCatalog({ ...config, password: secrets.password }, LIST_TIMEOUT_MS)
    : config.type === 'MYSQL'
      ? mysqlCatalog({ ...config, password: secrets.password }, LIST_TIMEOUT_MS)
      : readerCatalog(config, secrets, { workspaceId: job.workspaceId, fileStorage, timeoutMs: LIST_TIMEOUT_MS });
}

/**
 * The tables of one definition source to load: its `tables` and `patterns` (both empty: every
 * table the connection lists) over the tables the source lists now, each FULL or INCREMENTAL as
 * the definition's `incremental` says. A selection that matches nothing, an exact table the source
 * does not have, or an incremental table outside the selection fails the run before anything is
 * loaded: a pipeline that silently loads less than it names is worse than one that stops.
 */
function selectTables(def: PipelineDefinitionV1['sources'][number], name: string, listed: TableRef[]): { tables: SyncTableV1[] } | { error: Failure } {
  const available = listNames(listed.map(qualified));
  const missing = (def.tables ?? []).filter((n) => !listed.some((t) => names(n, t)));
  if (missing.length) {
    return {
      error: {
        code: 'TABLE_NOT_FOUND',
        message: `Source ${name} has no table ${missing.join(', ')}; its tables are: ${available}. Fix the pipeline's table list (or run discovery again).`,
      },
    };
  }
  const selected = listed.filter((t) => inScope({ tables: def.tables, patterns: def.patterns }, t.schema, t.name));
  if (!selected.length) {
    const what = def.patterns?.length ? `pattern(s) ${def.patterns.join(', ')}` : 'its selection';
    return {
      error: {
        code: 'NO_TABLES_SELECTED',
        message: `No table of source ${name} (connection ${def.connectionId}) matches ${what}, so the run loaded nothing. Its tables are: ${available}. Change the pipeline's tables or patterns.`,
      },
    };
  }
  const incremental = def.incremental ?? [];
  const outside = incremental.filter((i) => !selected.some((t) => names(i.table, t)));
  if (outside.length) {
    return {
      error: {
        code: 'INCREMENTAL_TABLE_NOT_SELECTED',
        message: `Source ${name}: incremental table(s) ${outside.map((i) => i.table).join(', ')} are not among the selected tables (${listNames(selected.map(qualified))}). Add them to the pipeline's tables or patterns, or remove their incremental setting.`,
      },
    };
  }
  return {
    tables: selected.map((t): SyncTableV1 => {
      const inc = incremental.find((i) => names(i.table, t));
      return inc
        ? { schema: t.schema, name: t.name, mode: 'INCREMENTAL', cursorColumn: inc.cursorColumn, ...(inc.primaryKey ? { primaryKey: inc.primaryKey } : {}) }
        : { schema: t.schema, name: t.name, mode: 'FULL' };
    }),
  };
}

const describeTable = (t: SyncTableV1) => `${t.schema}.${t.name} (${t.mode === 'FULL' ? 'full refresh' : `incremental by ${t.cursorColumn}`})`;

/** The `source.sync` job a load source runs as: the pipeline job's ids, org, workspace and limits (the rows left), and its load settings. */
function sourceSyncJob(job: PipelineRunJobV2, planned: PlannedSource, rowsBefore: number): SourceSyncJobV1 {
  const { definition, load } = job.payload;
  const limits = job.limits ? { ...job.limits, maxRows: Math.max(0, job.limits.maxRows - rowsBefore) } : undefined;
  return {
    v: 1,
    kind: 'source.sync',
    // The same job and run ids: the sync's bookkeeping (tables completed, incremental checkpoints) is keyed by the run, so a redelivered pipeline job resumes where it stopped.
    jobId: job.jobId,
    runId: job.runId,
    orgId: job.orgId,
    workspaceId: job.workspaceId,
    requestedAt: job.requestedAt,
    requestedBy: job.requestedBy,
    ...(limits ? { limits } : {}),
    payload: {
      connectionId: planned.source.connectionId,
      config: planned.source.config,
      // Still sealed for the pipeline (never resealed): the syncs read the opened secrets from their options.
      secrets: planned.source.secrets,
      tables: planned.tables,
      onMalformed: definition.onMalformed ?? 'SKIP_AND_REPORT',
      destination: load.destination,
      driftPolicy: definition.schemaDriftPolicy,
      batchRows: load.batchRows,
      statementTimeoutMs: load.statementTimeoutMs,
    },
  };
}

/**
 * Plans one definition source: its load source (config, name, sealed secrets), its secrets opened,
 * its tables listed through the discovery catalog (read-only, not profiled) and selected
 * (`selectTables`); step `<source>: tables selected`. The failure outcome when it cannot be planned.
 */
export async function planSource(
  job: PipelineRunJobV2,
  def: PipelineDefinitionV1['sources'][number],
  o: Pick<PipelineRunOptions, 'openSecrets' | 'fileStorage'>,
  report: SyncReporter,
): Promise<PlannedSource | { outcome: SyncOutcome }> {
  const fail = (error: Failure, summary: string): { outcome: SyncOutcome } => ({ outcome: { ok: false, rows: 0, summary, error } });
  const source = job.payload.load.sources.find((s) => s.connectionId === def.connectionId);
  if (!source) {
    return fail(
      {
        code: 'SOURCE_NOT_RESOLVED',
        message: `The job carries no connection settings for source connection ${def.connectionId} of the pipeline (the control plane did not resolve it). Run the pipeline again; if it persists, check that the connection still exists.`,
      },
      'nothing loaded',
    );
  }
  const r = prefixed(report, source.name);
  const s0 = Date.now();
  const secrets = o.openSecrets(source);
  const opened = await catalogOf(job, source, secrets, o.fileStorage)();
  if ('error' in opened) {
    const error = { code: opened.error.code ?? 'CONNECTION_FAILED', message: `Source ${source.name}: ${opened.error.message}` };
    await r.step('tables selected', 'FAILURE', error.message, Date.now() - s0);
    return fail(error, `${source.name}: tables could not be listed; nothing loaded`);
  }
  let listed: TableRef[];
  try {
    listed = await opened.catalog.tables();
  } finally {
    await opened.catalog.close();
  }
  const selection = selectTables(def, source.name, listed);
  if ('error' in selection) {
    await r.step('tables selected', 'FAILURE', selection.error.message, Date.now() - s0);
    return fail(
      selection.error,
      `${source.name}: ${selection.error.code === 'NO_TABLES_SELECTED' ? 'no tables selected' : 'selection invalid'}; nothing loaded`,
    );
  }
  await r.step('tables selected', 'SUCCESS', `${plural(selection.tables.length, 'table')}: ${listNames(selection.tables.map(describeTable))}`, Date.now() - s0);
  return { source, secrets, tables: selection.tables };
}

/** DESTINATION_CONFLICT when two planned tables (of one source or two) would land in the same warehouse table, naming both. */
function destinationConflict(job: PipelineRunJobV2, plan: PlannedSource[]): SyncOutcome | null {
  const destinations = new Map<string, string>();
  for (const p of plan) {
    for (const t of p.tables) {
      const dest = destinationTableName(t);
      const here = `table ${t.schema}.${t.name} of source ${p.source.name}`;
      const first = destinations.get(dest);
      if (first) {
        return {
          ok: false,
          rows: 0,
          summary: 'destination conflict; nothing loaded',
          error: {
            code: 'DESTINATION_CONFLICT',
            message: `The ${first} and the ${here} would both load into ${job.payload.load.destination.schema}.${dest}, so nothing was loaded. Narrow one source's tables or patterns so each warehouse table has one source.`,
          },
        };
      }
      destinations.set(dest, here);
    }
  }
  return null;
}

/**
 * One source of a pipeline run as the `load` step of its Dagster run does it
 * (workers/src/dagster/load-step.ts): planned (`planSource`), then loaded through the sync of its
 * type as a `source.sync` job of the same run, its steps prefixed with the source's name. The
 * run's row limit is shared: this source gets what the sources loaded before it (`rowsBefore`) left.
 */
export async function runPipelineSourceLoad(
  job: PipelineRunJobV2,
  index: number,
  rowsBefore: number,
  o: PipelineRunOptions,
  report: SyncReporter,
): Promise<SyncOutcome> {
  const def = job.payload.definition.sources[index];
  if (!def) return { ok: false, rows: 0, summary: 'nothing loaded', error: { code: 'SOURCE_NOT_RESOLVED', message: `The pipeline has no source #${index}.` } };
  const planned = await planSource(job, def, o, report);
  if ('outcome' in planned) return planned.outcome;
  const t0 = Date.now();
  const result = await runSync(
    sourceSyncJob(job, planned, rowsBefore),
    {
      warehouseAdminUrl: o.warehouseAdminUrl,
      destinationSecrets: o.destinationSecrets,
      secrets: planned.secrets,
      batchDelayMs: o.batchDelayMs,
      fileStorage: o.fileStorage,
    },
    prefixed(report, planned.source.name),
  );
  if (!result.ok) {
    const error = result.error ?? { code: 'SYNC_FAILED', message: result.summary };
    // The sync only knows the rows it was left: say where the rest of the run's limit went.
    const shared = error.code === 'QUOTA_EXCEEDED' && result.summary === 'row limit reached' && job.limits && rowsBefore > 0;
    const message = shared
      ? `the run's limit is ${job.limits!.maxRows} rows and the sources before it loaded ${rowsBefore}, leaving ${Math.max(0, job.limits!.maxRows - rowsBefore)}: ${error.message}`
      : error.message;
    return {
      ok: false,
      rows: result.rows,
      summary: `${planned.source.name} failed (${error.code})`,
      error: { code: error.code, message: `Source ${planned.source.name}: ${message}` },
    };
  }
  return { ok: true, rows: result.rows, summary: `${plural(result.rows, 'row')} loaded from ${planned.source.name} in ${Date.now() - t0} ms` };
}

/**
 * `pipeline.run` in the worker's own process, for a worker without Dagster (no DAGSTER_URL; with
 * it, `runPipelineInDagster` runs the pipeline): the load stage of a pipeline (PRODUCT.md step 5),
 * then the stages this path cannot run.
 *
 * 1. Plan, before anything is loaded: for each definition source, in order, its load source
 *    (config, name, sealed secrets), its secrets opened, its tables listed through the discovery
 *    catalog (read-only, not profiled) and selected (`selectTables`); step `<source>: tables
 *    selected`. Two tables landing in the same warehouse table (`destinationTableName`) fail the run
 *    (DESTINATION_CONFLICT): one would silently overwrite the other.
 * 2. Load: each source through the sync of its type (runSourceSync / runMysqlSync /
 *    runReaderSync) as a `source.sync` job of the same run, its steps prefixed with the source's
 *    name. The run's row limit is shared: each source gets what the earlier ones left. The first
 *    failing source ends the run with that sync's code; the sources after it are not loaded.
 *    Transient errors (connections) are thrown: the job is redelivered, listing runs again (it only
 *    reads) and the syncs skip the tables this run completed and resume its incremental checkpoints.
 * 3. Targets (dbt models), checks and exports: not available in this version. Non-empty, they end
 *    the run FAILURE STAGE_NOT_AVAILABLE after the loads (the loaded data stays); empty, a SKIPPED
 *    step each.
 */
export async function runPipelineLoad(job: PipelineRunJobV2, o: PipelineRunOptions, report: SyncReporter): Promise<SyncOutcome> {
  const { definition } = job.payload;
  const t0 = Date.now();
  const fail = (error: Failure, summary: string, rows = 0): SyncOutcome => ({ ok: false, rows, summary, error });

  // 1. Plan every source before loading any.
  const plan: PlannedSource[] = [];
  for (const def of definition.sources) {
    const planned = await planSource(job, def, o, report);
    if ('outcome' in planned) return planned.outcome;
    plan.push(planned);
  }

  const conflict = destinationConflict(job, plan);
  if (conflict) return conflict;

  // 2. Load, source by source.
  let rows = 0;
  const loaded: string[] = [];
  for (const [i, p] of plan.entries()) {
    const syncJob = sourceSyncJob(job, p, rows);
    const result = await runSync(
      syncJob,
      {
        warehouseAdminUrl: o.warehouseAdminUrl,
        destinationSecrets: o.destinationSecrets,
        secrets: p.secrets,
        batchDelayMs: o.batchDelayMs,
        fileStorage: o.fileStorage,
      },
      prefixed(report, p.source.name),
    );
    rows += result.rows;
    if (!result.ok) {
      const error = result.error ?? { code: 'SYNC_FAILED', message: result.summary };
      const before = rows - result.rows;
      // The sync only knows the rows it was left: say where the rest of the run's limit went.
      const shared = error.code === 'QUOTA_EXCEEDED' && result.summary === 'row limit reached' && job.limits && before > 0;
      const message = shared
        ? `the run's limit is ${job.limits!.maxRows} rows and the sources before it loaded ${before}, leaving ${Math.max(0, job.limits!.maxRows - before)}: ${error.message}`
        : error.message;
      const rest = plan.slice(i + 1).map((q) => q.source.name);
      const summary = [
        `${p.source.name} failed (${error.code})`,
        loaded.length ? `loaded before it: ${loaded.join(', ')}` : '',
        rest.length ? `not loaded: ${rest.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      return fail({ code: error.code, message: `Source ${p.source.name}: ${message}` }, summary, rows);
    }
    loaded.push(`${p.source.name} (${plural(result.rows, 'row')})`);
  }
  const summary = `${plural(rows, 'row')} loaded from ${plural(plan.length, 'source')} in ${Date.now() - t0} ms: ${loaded.join(', ')}`;

  // 3. The stages after the load: none can run in this version.
  const stages = [
    {
      step: 'models',
      count: definition.targets.length,
      what: plural(definition.targets.length, 'target table'),
      stage: 'dbt models',
      none: 'no target tables in this pipeline',
    },
    { step: 'checks', count: definition.checks.length, what: plural(definition.checks.length, 'check'), stage: 'checks', none: 'no checks in this pipeline' },
    {
      step: 'exports',
      count: definition.exports.length,
      what: plural(definition.exports.length, 'export'),
      stage: 'exports',
      none: 'no exports in this pipeline',
    },
  ];
  for (const s of stages) {
    await report.step(s.step, s.count ? 'FAILURE' : 'SKIPPED', s.count ? `${s.what}: this worker version cannot run ${s.stage} yet` : s.none, 0);
  }
  const pending = stages.filter((s) => s.count);
  if (pending.length) {
    return fail(
      {
        code: 'STAGE_NOT_AVAILABLE',
        message: `The sources were loaded (${plural(rows, 'row')}: ${loaded.join(', ')}), but this version cannot run the pipeline's ${pending.map((s) => `${s.stage} (${s.what})`).join(', ')} yet. The loaded tables stay in the warehouse; remove those stages from the pipeline to run the load alone, or run it again once the workers are upgraded.`,
      },
      `${summary}; not run: ${pending.map((s) => s.step).join(', ')}`,
      rows,
    );
  }
  return { ok: true, rows, summary };
}

export interface DagsterPipelineOptions {
  client: DagsterClient;
  js: JetStreamClient;
  /** Plans the sources before a run is launched (secrets opened by the job runner, file storage for FILE sources). */
  plan: Pick<PipelineRunOptions, 'openSecrets' | 'fileStorage'>;
  /** Where a plan that fails is reported (no Dagster run is launched then). */
  report: SyncReporter;
  /** Delivery attempt of the job (the first Dagster run's events are attempt 1 whatever the delivery). */
  attempt: number;
  /** How often the run's event log is read while it runs (default 500 ms). */
  pollMs?: number;
}

/** The run config of a `pipeline_run`: the job as dispatched (secrets sealed, never opened here) and the dbt project. */
export function dagsterRunConfig(job: PipelineRunJobV2): Record<string, unknown> {
  const config = { job: JSON.stringify(job), dbt_project: job.payload.dbt?.project ?? null };
  return { ops: { sources: { config }, dbt_build: { config } } };
}

/**
 * `pipeline.run` through Dagster (ARCHITECTURE.md §7): a run of the `pipeline_run` job of the
 * Datalinx code location, launched through Dagster's GraphQL API and tagged with the workspace
 * (the run queue allows one run per workspace at a time), our run and job. A redelivered job finds
 * the Dagster run its first delivery launched (tag `datalinx/run`) and follows it instead of
 * launching another. Before a launch every source is planned (`planSource`, then
 * DESTINATION_CONFLICT), so a selection or secret problem ends the run without a Dagster run.
 * The run's event log is followed with a cursor and mapped to our steps on RUNS
 * (`DagsterEventMapper`), in order and each once; the Dagster run's id and UI link go on RUNS with
 * the run's STARTED state. A retry (`retryOf`) re-executes the failed run's Dagster run from its
 * failure (`launchRunReexecution` FROM_FAILURE: the steps that succeeded are reused, the run config
 * is the first run's) as a new Dagster run, child of the first, tagged with this run.
 * Checks and exports are not Dagster steps yet: non-empty, they end a
 * successful run FAILURE STAGE_NOT_AVAILABLE (the loaded data and built models stay).
 */
export async function runPipelineInDagster(
  job: PipelineRunJobV2,
  o: DagsterPipelineOptions,
): Promise<SyncOutcome & { dagsterRunId: string; canceled?: boolean }> {
  const t0 = Date.now();
  const existing = (await o.client.runsTagged(RUN_TAG, job.runId)).filter((r) => r.tags[JOB_TAG] === job.jobId);
  const retryOf = job.payload.retryOf;
  let run = existing[0];
  if (!run && retryOf) {
    const parent = (await o.client.runsTagged(RUN_TAG, retryOf.runId)).find((r) => r.tags[WORKSPACE_TAG] === job.workspaceId);
    if (!parent || (parent.status !== 'FAILURE' && parent.status !== 'CANCELED')) {
      const message = parent
        ? `Run ${retryOf.runId} cannot be retried from its failure: its Dagster run ${parent.runId} is ${parent.status}, not FAILURE or CANCELED.`
        : `Run ${retryOf.runId} cannot be retried from its failure: Dagster has no run of it in this workspace. Run the pipeline again instead.`;
      return { ok: false, rows: 0, dagsterRunId: '', summary: 'not retried', error: { code: 'RETRY_NOT_POSSIBLE', message } };
    }
    // Tags are upserted over the parent's: the re-execution is this run's (datalinx/run, datalinx/job).
    run = await o.client.reexecute(parent.runId, 'FROM_FAILURE', { [RUN_TAG]: job.runId, [JOB_TAG]: job.jobId });
  }
  if (!run) {
    // Plan every source before launching, as the in-process path does: a selection that matches
    // nothing, an unreadable secret or two tables landing in one warehouse table fail the run
    // without a Dagster run. The load steps plan their source again (listing only reads).
    const steps: Parameters<SyncReporter['step']>[] = [];
    const quiet: SyncReporter = { step: async (...a) => void steps.push(a), progress: async () => undefined };
    const plan: PlannedSource[] = [];
    let failed: SyncOutcome | null = null;
    for (const def of job.payload.definition.sources) {
      const planned = await planSource(job, def, o.plan, quiet);
      if ('outcome' in planned) {
        failed = planned.outcome;
        break;
      }
      plan.push(planned);
    }
    failed ??= destinationConflict(job, plan);
    if (failed) {
      for (const s of steps) await o.report.step(...s);
      return { ...failed, dagsterRunId: '' };
    }
  }
  run ??= await o.client.launchRun({
    jobName: PIPELINE_JOB,
    runConfig: dagsterRunConfig(job),
    tags: { [WORKSPACE_TAG]: job.workspaceId, [RUN_TAG]: job.runId, [JOB_TAG]: job.jobId, 'datalinx/pipeline': job.payload.pipelineId },
  });
  const publisher = new DagsterRunPublisher(o.js, job, run.runId, 1);
  await publisher.launched(run, o.client.runUrl(run.runId));
  const mapper = new DagsterEventMapper();
  const end = await followDagsterRun(o.client, run, mapper, publisher, { pollMs: o.pollMs });
  const { definition } = job.payload;
  const inDagster = `Dagster run ${run.runId}${retryOf ? `, re-executing run ${retryOf.runId} from its failure` : ''}`;
  const loadedText = end.loaded.join(', ') || 'none';
  if (end.status !== 'SUCCESS') {
    return {
      ok: false,
      canceled: end.status === 'CANCELED',
      rows: end.rows,
      dagsterRunId: run.runId,
      summary: `${end.status === 'CANCELED' ? 'canceled' : 'failed'} in ${inDagster}; loaded: ${loadedText}`,
      error: end.error ?? { code: end.status === 'CANCELED' ? 'CANCELED' : 'DAGSTER_RUN_FAILED', message: `${inDagster} ended ${end.status}.` },
    };
  }
  const models = end.models.built ? `; ${plural(end.models.built, 'model')} built, ${plural(end.models.tests, 'test')} passed` : '';
  const summary = `${plural(end.rows, 'row')} loaded from ${plural(definition.sources.length, 'source')}${models} in ${Date.now() - t0} ms (${inDagster}): ${loadedText}`;
  const stages = [
    { step: 'checks', count: definition.checks.length, what: plural(definition.checks.length, 'check'), none: 'no checks in this pipeline' },
    { step: 'exports', count: definition.exports.length, what: plural(definition.exports.length, 'export'), none: 'no exports in this pipeline' },
  ];
  for (const s of stages)
    await publisher.step(s.step, s.count ? 'FAILURE' : 'SKIPPED', s.count ? `${s.what}: this worker version cannot run ${s.step} yet` : s.none);
  const pending = stages.filter((s) => s.count);
  if (pending.length) {
    return {
      ok: false,
      rows: end.rows,
      dagsterRunId: run.runId,
      summary: `${summary}; not run: ${pending.map((s) => s.step).join(', ')}`,
      error: {
        code: 'STAGE_NOT_AVAILABLE',
        message: `The sources were loaded (${plural(end.rows, 'row')}: ${loadedText}), but this version cannot run the pipeline's ${pending.map((s) => `${s.step} (${s.what})`).join(', ')} yet.`,
      },
    };
  }
  return { ok: true, rows: end.rows, summary, dagsterRunId: run.runId };
}
