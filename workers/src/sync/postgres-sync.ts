import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { QuotaExceededError } from '@datalinx/common';
import {
  externalWarehouseSchemaName,
  isExternalDestination,
  warehouseRoleName,
  warehouseSchemaName,
  type ConnectionSecrets,
  type ExternalWarehouseDestination,
  type SourceSyncJobV1,
  type SourceSyncPayloadV1,
  type SyncTableV1,
} from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import { connectPostgres, explainPgError, type PostgresTarget } from '../connectors/postgres';
import { ConnectionFailure, isPermanentConnectCode } from '../connectors/failures';
import type { StepResult } from '../connectors/steps';
import { copyFrom, copyTo } from './pg-copy';
import { CopyMeter } from './copy-meter';

/** What the sync reports on RUNS (RunReporter; the benchmark passes a silent one). */
export interface SyncReporter {
  step(step: string, status: 'SUCCESS' | 'FAILURE' | 'SKIPPED', message: string, durationMs: number): Promise<void>;
  progress(step: string, p: { rows: number; bytes: number; totalRows?: number }): Promise<void>;
}

export interface SyncOutcome {
  ok: boolean;
  summary: string;
  error?: { code: string; message: string };
  rows: number;
}

export interface SyncOptions extends WarehouseAccess {
  /** The source connection's secrets (opened by the job runner). */
  secrets: ConnectionSecrets;
  /** Test knob (SYNC_BATCH_DELAY_MS): pause after every committed incremental batch. */
  batchDelayMs?: number;
  /** Minimum interval between progress events of a table (default 1000 ms). */
  progressIntervalMs?: number;
}

/** A failure that ends the run (reported FAILURE with this code), not retried. */
export class SyncFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Quotes an identifier (names from the job or the catalog are arbitrary text: quoting makes them inert). */
export function qi(name: string): string {
  if (name.includes('\0')) throw new SyncFailure('INVALID_IDENTIFIER', 'an identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}
/** A string literal (standard_conforming_strings is on in every session this module opens). */
export const lit = (v: string) => {
  if (v.includes('\0')) throw new SyncFailure('INVALID_VALUE', 'a value contains a NUL character');
  return `'${v.replace(/'/g, "''")}'`;
};

const STATE_TABLE = '_dlx_sync_state';
export const META = ['_dlx_run_id', '_dlx_synced_at'];

/** `raw_<schema>__<table>` in the workspace schema; long names keep a prefix and a hash (room for the `__dlx_staging` suffix). */
export function destinationTableName(t: Pick<SyncTableV1, 'schema' | 'name'>): string {
  const name = `raw_${t.schema}__${t.name}`;
  if (Buffer.byteLength(name) <= 48) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${Buffer.from(name).subarray(0, 38).toString('utf8').replace(/\uFFFD+$/, '')}_${hash}`;
}

interface SourceColumn {
  name: string;
  /** The destination type (the source's own type for built-in types). */
  type: string;
  /** The select expression (a cast to text for types the warehouse does not have). */
  expr: string;
}

/** Source columns with faithful types: built-in types as declared (typmods included), domains as their base type, enums and other user types as text. */
async function sourceColumns(src: Client, schema: string, table: string): Promise<SourceColumn[]> {
  const { rows } = await src.query<{ name: string; type: string; builtin: boolean; base: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            tn.nspname = 'pg_catalog' AS builtin,
            CASE WHEN t.typtype = 'd' AND bn.nspname = 'pg_catalog' THEN format_type(t.typbasetype, t.typtypmod) END AS base
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_namespace tn ON tn.oid = t.typnamespace
       LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
       LEFT JOIN pg_namespace bn ON bn.oid = bt.typnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  return rows.map((r) => {
    if (r.builtin) return { name: r.name, type: r.type, expr: qi(r.name) };
    if (r.base) return { name: r.name, type: r.base, expr: qi(r.name) };
    return { name: r.name, type: 'text', expr: `${qi(r.name)}::text` };
  });
}

async function sourcePrimaryKey(src: Client, schema: string, table: string): Promise<string[]> {
  const { rows } = await src.query<{ name: string }>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary
      ORDER BY k.ord`,
    [schema, table],
  );
  return rows.map((r) => r.name);
}

async function destinationColumns(wh: Client, schema: string, table: string): Promise<string[] | null> {
  const { rows } = await wh.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return rows.length ? rows.map((r) => r.name) : null;
}

/** The job's PostgreSQL source with its password (connected with `connectPostgres`). */
function sourceTarget(job: SourceSyncJobV1, secrets: ConnectionSecrets): PostgresTarget {
  const c = job.payload.config;
  if (c.type !== 'POSTGRES') throw new PermanentJobError(`${c.type} sources are not synced by the PostgreSQL sync`, 'SOURCE_TYPE_UNSUPPORTED');
  return { ...c, password: secrets.password };
}

/** How the sync's sessions connect (sources and external warehouses): no query timeout here, the warehouse session sets its own statement_timeout. */
const syncConnect = (applicationName: string) => ({ applicationName, connectTimeoutMs: 15_000 });

const isTransient = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return !code || /^(08|57P0|53|40001|40P01|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)/.test(code);
};

/**
 * Refuses warehouse names that are not the expected shapes (they are quoted into DDL): a
 * platform destination's generated schema and role, an external destination's plain schema name.
 */
export function checkDestination(p: Pick<SourceSyncPayloadV1, 'destination'>): void {
  const d = p.destination;
  const ok = isExternalDestination(d)
    ? externalWarehouseSchemaName.safeParse(d.schema).success && d.external.config.type === 'POSTGRES'
    : warehouseSchemaName.safeParse(d.schema).success && warehouseRoleName.safeParse(d.role).success;
  if (!ok) throw new PermanentJobError('refusing an unexpected warehouse schema or role name', 'INVALID_WAREHOUSE_NAME');
}

/**
 * A connection that failed (a source's, an external warehouse's) as the run reports it: the code
 * and message connection.test gives for the same cause (../connectors/failures.ts). A failure a
 * retry cannot fix (a refused destination, an unknown host, a wrong password, TLS…) ends the run
 * (SyncFailure); any other (nothing listening, no answer, DNS not answering) is a
 * ConnectionFailure, retried by the runner, whose last attempt reports the same code.
 */
export function connectFailure(why: StepResult, message = why.message): SyncFailure | ConnectionFailure {
  const code = why.code ?? 'CONNECTION_FAILED';
  const transient = 'transient' in why ? Boolean(why.transient) : !isPermanentConnectCode(code);
  return transient ? new ConnectionFailure(code, message, true) : new SyncFailure(code, message);
}

/** How a worker reaches a job's warehouse: the platform's through WAREHOUSE_ADMIN_URL, an external one with its own (opened) secrets. */
export interface WarehouseAccess {
  /** WAREHOUSE_ADMIN_URL (PLATFORM destinations only). */
  warehouseAdminUrl?: string;
  /** EXTERNAL destinations: the destination connection's secrets, opened by the job runner (never logged). */
  destinationSecrets?: ConnectionSecrets;
}

/** A connected warehouse session: the client, and for an EXTERNAL destination how it was reached (for the step message). */
export interface WarehouseConnection {
  wh: Client;
  /** EXTERNAL only: `<database> on <host>:<port> as <user> (TLS | unencrypted …)`. */
  external?: string;
}

/**
 * Opens the job's warehouse session (not yet prepared; see `prepareWarehouse`). PLATFORM: the
 * WAREHOUSE_ADMIN_URL session (a worker without it throws a plain Error: the job is retried, another
 * worker may have it). EXTERNAL: the destination connection's user, password and TLS settings.
 * An external destination goes through the network policy like any tenant's connection (the
 * platform's WAREHOUSE_ADMIN_URL does not: it is the operator's). A refusal (by the policy: a
 * platform endpoint or a private address; by the server: wrong password, no such database,
 * pg_hba, certificate) is a SyncFailure with connection.test's code and advice; an unreachable
 * server is a ConnectionFailure with its code (transient: retried).
 */
export async function connectWarehouse(d: SourceSyncPayloadV1['destination'], o: WarehouseAccess, applicationName = 'datalinx-sync'): Promise<WarehouseConnection> {
  if (!isExternalDestination(d)) {
    if (!o.warehouseAdminUrl) throw new Error('this worker has no WAREHOUSE_ADMIN_URL: it cannot write to the platform warehouse');
    const wh = new Client({ connectionString: o.warehouseAdminUrl, application_name: applicationName, connectionTimeoutMillis: 15_000 });
    try {
      await wh.connect();
    } catch (err) {
      await wh.end().catch(() => undefined);
      throw err;
    }
    return { wh };
  }
  const c = d.external.config;
  try {
    const { client, tls } = await connectPostgres({ ...c, password: o.destinationSecrets?.password }, syncConnect(applicationName));
    return { wh: client, external: `database ${c.database} on ${c.host}:${c.port} as ${c.user} (${tls ? 'TLS' : c.sslMode === 'prefer' ? 'unencrypted: the server offers no TLS' : 'unencrypted'})` };
  } catch (err) {
    const why = explainPgError(err as Error & { code?: string }, c);
    throw connectFailure(why, `The workspace's external warehouse (destination connection ${d.external.connectionId}) refused the connection: ${why.message} Fix the destination connection's settings (updateConnection), then run again.`);
  }
}

/**
 * Prepares a connected warehouse session, with the payload's statement timeout on every
 * statement. PLATFORM: switches to the workspace role (`SET ROLE`): from here on every statement
 * has that role's privileges. EXTERNAL: the session stays the destination connection's user (the
 * customer's role) and the schema is created if missing (`ensureExternalSchema`). Returns the
 * quoted schema (its `_dlx_sync_state` table created if missing).
 */
export async function prepareWarehouse(wh: Client, p: Pick<SourceSyncPayloadV1, 'destination' | 'statementTimeoutMs'>): Promise<string> {
  await wh.query('SET standard_conforming_strings = on');
  const d = p.destination;
  if (!isExternalDestination(d)) await wh.query(`SET ROLE ${qi(d.role)}`);
  await wh.query(`SET statement_timeout = ${Math.floor(p.statementTimeoutMs)}`);
  if (isExternalDestination(d)) await ensureExternalSchema(wh, d);
  const ws = qi(d.schema);
  await ensureStateTable(wh, ws);
  return ws;
}

/**
 * An external warehouse's schema: created when missing (`CREATE SCHEMA IF NOT EXISTS`, which
 * needs CREATE on the database), otherwise the user needs USAGE and CREATE on it. Checked first
 * (PostgreSQL checks CREATE on the database even when the schema exists), so a destination user
 * that was granted an existing schema works, and a missing privilege fails the run with
 * PERMISSION_DENIED naming the GRANT to run. Returns whether the schema was created.
 */
export async function ensureExternalSchema(wh: Client, d: ExternalWarehouseDestination): Promise<boolean> {
  const { user, database } = d.external.config;
  const { rows } = await wh.query<{ exists: boolean; usage: boolean; create: boolean; can_create: boolean }>(
    `SELECT n.oid IS NOT NULL AS exists,
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS usage, coalesce(has_schema_privilege(n.oid, 'CREATE'), false) AS create,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [d.schema],
  );
  const r = rows[0];
  const createDenied = () =>
    new SyncFailure(
      'PERMISSION_DENIED',
      `The external warehouse's user "${user}" may not create schema "${d.schema}" in database "${database}", so nothing was loaded. Run GRANT CREATE ON DATABASE "${database}" TO "${user}", or create the schema yourself (CREATE SCHEMA "${d.schema}") and GRANT USAGE, CREATE ON SCHEMA "${d.schema}" TO "${user}"; then run again.`,
    );
  if (r.exists) {
    if (r.usage && r.create) return false;
    throw new SyncFailure(
      'PERMISSION_DENIED',
      `The external warehouse's user "${user}" lacks ${[!r.usage && 'USAGE', !r.create && 'CREATE'].filter(Boolean).join(' and ')} on schema "${d.schema}" of database "${database}", so nothing was loaded. Run GRANT USAGE, CREATE ON SCHEMA "${d.schema}" TO "${user}", then run again.`,
    );
  }
  if (!r.can_create) throw createDenied();
  try {
    await wh.query(`CREATE SCHEMA IF NOT EXISTS ${qi(d.schema)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42501') throw createDenied();
    // Two runs creating it at once: one wins, the other finds it.
    if (code !== '23505' && code !== '42P06') throw err;
  }
  return true;
}

/**
 * Connects and prepares the warehouse session of a sync (`connectWarehouse` + `prepareWarehouse`).
 * EXTERNAL: reported as the step `warehouse` (where the data goes, whether the schema was created,
 * and that the platform's storage quota does not apply to the customer's own database).
 */
export async function openSyncWarehouse(p: SourceSyncPayloadV1, o: WarehouseAccess, report: SyncReporter): Promise<{ wh: Client; ws: string }> {
  const s0 = Date.now();
  const { wh, external } = await connectWarehouse(p.destination, o);
  try {
    const d = p.destination;
    const existed = isExternalDestination(d) ? await schemaExists(wh, d.schema) : true;
    const ws = await prepareWarehouse(wh, p);
    if (external) {
      await report.step(
        'warehouse',
        'SUCCESS',
        `external PostgreSQL warehouse: ${external}, schema ${d.schema}${existed ? '' : ' (created)'}; the platform's storage quota does not apply to your own database (its size is yours to watch)`,
        Date.now() - s0,
      );
    }
    return { wh, ws };
  } catch (err) {
    await wh.end().catch(() => undefined);
    throw err;
  }
}

const schemaExists = async (wh: Client, schema: string) => Boolean((await wh.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).rowCount);

/**
 * The job as the sync applies it: an EXTERNAL destination is the customer's own database, so the
 * platform's storage quota (`limits.maxStorageBytes`) is not measured or enforced there; the row
 * limit stays.
 */
export function withDestinationLimits(job: SourceSyncJobV1): SourceSyncJobV1 {
  if (!isExternalDestination(job.payload.destination) || job.limits?.maxStorageBytes === undefined) return job;
  return { ...job, limits: { maxRows: job.limits.maxRows } };
}

/** Throws QuotaExceededError when `base` rows already loaded plus `rows` exceed the run's limit. */
export function rowGuard(maxRows: number | undefined, base: number) {
  return (rows: number) => {
    if (maxRows !== undefined && base + rows > maxRows) throw new QuotaExceededError('ROWS_PER_RUN', maxRows, base + rows);
  };
}

/** Progress events of one table, at most one per `every` ms unless forced. */
export function progressTicker(report: SyncReporter, label: string, totalRows: number | undefined, every = 1000) {
  let last = 0;
  return (rows: number, bytes: number, force = false) => {
    const now = Date.now();
    if (!force && now - last < every) return;
    last = now;
    void report.progress(label, { rows, bytes, totalRows }).catch(() => undefined);
  };
}

/**
 * A FULL refresh of `dest`: one warehouse transaction creates `<dest>__dlx_staging` (the columns,
 * then `_dlx_run_id` and `_dlx_synced_at` filled by defaults that are dropped before the swap),
 * lets `load` stream COPY text rows into it (it gets the `COPY … FROM STDIN` statement and
 * returns the rows loaded), drops the old table, renames the staging table and records the run
 * as completed in `_dlx_sync_state`. Readers see the old rows or the new ones; on any error
 * (thrown by `load` included) the transaction is rolled back and the old table stays. With
 * `maxStorageBytes`, the schema's size after the swap is measured before the commit: over the
 * quota, QUOTA_EXCEEDED STORAGE_BYTES and nothing is swapped in (the staging table is rolled back).
 */
export async function swapFullRefresh(
  wh: Client,
  ws: string,
  dest: string,
  runId: string,
  columns: { name: string; type: string }[],
  load: (copyFromStdin: string) => Promise<number>,
  maxStorageBytes?: number,
): Promise<number> {
  const table = `${ws}.${qi(dest)}`;
  const staging = `${ws}.${qi(`${dest}__dlx_staging`)}`;
  const syncedAt = new Date().toISOString();
  await wh.query('BEGIN');
  try {
    await wh.query(`DROP TABLE IF EXISTS ${staging}`);
    // The run columns come from defaults (dropped before the swap): the COPY carries only the source's values.
    await wh.query(
      `CREATE TABLE ${staging} (${columns.map((c) => `${qi(c.name)} ${c.type}`).join(', ')}, _dlx_run_id uuid NOT NULL DEFAULT ${lit(runId)}, _dlx_synced_at timestamptz NOT NULL DEFAULT ${lit(syncedAt)})`,
    );
    const rows = await load(`COPY ${staging} (${columns.map((c) => qi(c.name)).join(', ')}) FROM STDIN`);
    await wh.query(`ALTER TABLE ${staging} ALTER COLUMN _dlx_run_id DROP DEFAULT, ALTER COLUMN _dlx_synced_at DROP DEFAULT`);
    // The swap: readers of the table wait for this commit and then see the new rows.
    await wh.query(`DROP TABLE IF EXISTS ${table}`);
    await wh.query(`ALTER TABLE ${staging} RENAME TO ${qi(dest)}`);
    // The schema as it will be after the commit (the old table is gone, the new one in): over the quota, nothing is swapped in.
    await checkStorage(wh, unquote(ws), maxStorageBytes);
    await writeState(wh, ws, dest, runId, { cursor: [], keys: [], rows, completed: true });
    await wh.query('COMMIT');
    return rows;
  } catch (err) {
    await wh.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * The run's outcome for an error that ended a sync (the failing step reported first): quota and
 * sync failures and other permanent errors become a FAILURE with a code; permanent job errors and
 * transient errors (connections) are rethrown for the runner.
 */
export async function syncErrorOutcome(err: unknown, current: string, t0: number, runRows: number, report: SyncReporter): Promise<SyncOutcome> {
  if (err instanceof PermanentJobError || err instanceof ConnectionFailure) throw err;
  if (err instanceof QuotaExceededError) {
    const storage = err.quota === 'STORAGE_BYTES';
    await report.step(`${current}: ${storage ? 'storage quota' : 'loaded'}`, 'FAILURE', err.message, Date.now() - t0).catch(() => undefined);
    return { ok: false, rows: runRows, summary: storage ? 'storage quota exceeded' : 'row limit reached', error: { code: 'QUOTA_EXCEEDED', message: err.message } };
  }
  if (err instanceof SyncFailure) {
    if (err.code !== 'SCHEMA_DRIFT') await report.step(`${current}: loaded`, 'FAILURE', err.message, Date.now() - t0).catch(() => undefined);
    return { ok: false, rows: runRows, summary: `sync of ${current} failed`, error: { code: err.code, message: err.message } };
  }
  if (isTransient(err)) throw err;
  const e = err as Error & { code: string };
  await report.step(`${current}: loaded`, 'FAILURE', e.message, Date.now() - t0).catch(() => undefined);
  return { ok: false, rows: runRows, summary: `sync of ${current} failed`, error: { code: `PG_${e.code}`, message: e.message } };
}

/** A table's checkpoint of one run in `_dlx_sync_state`; `records` only for record-stream loads (RecordSource). */
export type State = { cursor: (string | null)[]; keys: string[]; rows: number; completed: boolean; runId: string; records?: RecordProgress | null };

/**
 * `source.sync`, PostgreSQL → the workspace's PostgreSQL warehouse schema (ARCHITECTURE.md §7).
 *
 * Every warehouse statement runs as the workspace role (`SET ROLE`) with a statement timeout.
 * Rows are streamed with COPY (source `COPY (SELECT …) TO STDOUT` → warehouse `COPY … FROM
 * STDIN`, backpressure end to end, nothing buffered beyond the streams' high-water marks); the
 * run id and sync time are staging-table defaults (FULL) or constants of the upsert
 * (INCREMENTAL), so data is never parsed on the way.
 *
 * FULL: one warehouse transaction creates `<table>__dlx_staging`, loads it, drops the old table
 * and renames the staging table: readers see the old rows or the new ones, never a part.
 * INCREMENTAL (`incrementalLoad`): batches of `batchRows` rows in (cursor, primary key) order; each batch is copied
 * into an unlogged batch table, upserted into the table by primary key, and its last (cursor,
 * key) is written to `_dlx_sync_state` in the same transaction. A crash loses at most the
 * uncommitted batch; a redelivered job (same run) resumes from its checkpoint, a new run from the
 * table's latest checkpoint. Rows whose cursor is NULL are not picked up incrementally.
 *
 * Transient errors (connections) are thrown for the runner to retry; everything else ends the
 * run with a code (SCHEMA_DRIFT, QUOTA_EXCEEDED — ROWS_PER_RUN or STORAGE_BYTES —, TABLE_NOT_FOUND,
 * PRIMARY_KEY_REQUIRED, PG_<sqlstate>).
 */
export async function runSourceSync(jobAsSent: SourceSyncJobV1, o: SyncOptions, report: SyncReporter): Promise<SyncOutcome> {
  const job = withDestinationLimits(jobAsSent);
  const p = job.payload;
  checkDestination(p);
  const maxRows = job.limits?.maxRows;
  const run = { rows: 0 };
  const source = sourceTarget(job, o.secrets);
  let connected: Client | undefined;
  let opened: Client | undefined;
  let current = 'connect';
  const t0 = Date.now();
  try {
    const src = (
      await connectPostgres(source, syncConnect('datalinx-sync')).catch((err: Error) => {
        throw connectFailure(explainPgError(err, source));
      })
    ).client;
    connected = src;
    await src.query('SET standard_conforming_strings = on');
    current = 'warehouse';
    // From here on, every warehouse statement has the workspace role's (or the external destination user's) privileges and a timeout.
    const { wh, ws } = await openSyncWarehouse(p, o, report);
    opened = wh;
    await checkStorage(wh, p.destination.schema, job.limits?.maxStorageBytes);
    const guard = (base: number) => rowGuard(maxRows, base);
    const progress = (label: string, totalRows: number | undefined) => progressTicker(report, label, totalRows, o.progressIntervalMs);

    const done: string[] = [];
    for (const t of p.tables) {
      current = `${t.schema}.${t.name}`;
      const rows = await syncTable(t);
      done.push(`${current} (${rows})`);
    }
    return { ok: true, rows: run.rows, summary: `${run.rows} row(s) synced in ${Date.now() - t0} ms: ${done.join(', ')}` };

    async function syncTable(t: SyncTableV1): Promise<number> {
      const label = `${t.schema}.${t.name}`;
      const dest = destinationTableName(t);
      const cols = await sourceColumns(src, t.schema, t.name);
      if (!cols.length) throw new SyncFailure('TABLE_NOT_FOUND', `Source table ${label} does not exist or has no columns the connection's user can see.`);
      const clash = cols.find((c) => META.includes(c.name));
      if (clash) throw new SyncFailure('RESERVED_COLUMN', `Source table ${label} has a column named ${clash.name}, which the sync adds itself.`);

      // Checkpoint of this run (a redelivery), or already completed by an earlier attempt.
      const mine = await readState(wh, ws, dest, job.runId);
      if (mine?.completed) {
        await report.step(`${label}: loaded`, 'SKIPPED', `already loaded by an earlier attempt of this run (${mine.rows} rows)`, 0);
        run.rows += mine.rows;
        return mine.rows;
      }

      const { selected, exists } = await applyDriftPolicy(wh, ws, p, dest, label, t.mode, cols, report);
      return t.mode === 'FULL' ? fullRefresh(t, label, dest, selected) : incremental(t, label, dest, selected, cols, exists, mine);
    }

    async function fullRefresh(t: SyncTableV1, label: string, dest: string, selected: SourceColumn[]): Promise<number> {
      const s0 = Date.now();
      const from = `${qi(t.schema)}.${qi(t.name)}`;
      // One snapshot for the count and the copy.
      await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const total = Number((await src.query<{ n: string }>(`SELECT count(*) AS n FROM ${from}`)).rows[0].n);
        guard(run.rows)(total);
        const tick = progress(label, total);
        const check = guard(run.rows);
        const meter = new CopyMeter((rows, bytes) => {
          check(rows);
          tick(rows, bytes);
        });
        await swapFullRefresh(wh, ws, dest, job.runId, selected, async (copyIn) => {
          await pipeline(copyTo(src, `COPY (SELECT ${selected.map((c) => c.expr).join(', ')} FROM ${from}) TO STDOUT`), meter, copyFrom(wh, copyIn));
          return meter.rows;
        }, job.limits?.maxStorageBytes);
        run.rows += meter.rows;
        tick(meter.rows, meter.bytes, true);
        await report.step(`${label}: loaded`, 'SUCCESS', `full refresh: ${meter.rows} rows (${meter.bytes} bytes) swapped into ${p.destination.schema}.${dest} in one transaction`, Date.now() - s0);
        return meter.rows;
      } finally {
        await src.query('COMMIT').catch(() => undefined);
      }
    }

    async function incremental(t: SyncTableV1, label: string, dest: string, selected: SourceColumn[], all: SourceColumn[], exists: boolean, mine: State | null): Promise<number> {
      const byName = new Map(all.map((c) => [c.name, c]));
      const pk = t.primaryKey ?? (await sourcePrimaryKey(src, t.schema, t.name));
      const from = `${qi(t.schema)}.${qi(t.name)}`;
      const where = (keys: string[], position: (string | null)[] | null) =>
        `${qi(keys[0])} IS NOT NULL${position ? ` AND (${keys.map(qi).join(', ')}) > (${position.map((v, i) => `${lit(v!)}::${byName.get(keys[i])!.type}`).join(', ')})` : ''}`;
      return incrementalLoad(
        { wh, ws, p, job, dest, label, table: t, selected, all: all.map((c) => c.name), pk, exists, mine, run, o, report },
        {
          count: async (keys, position) => Number((await src.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} WHERE ${where(keys, position)}`)).rows[0].n),
          batch: (keys, position, limit) =>
            copyTo(src, `COPY (SELECT ${selected.map((c) => c.expr).join(', ')} FROM ${from} WHERE ${where(keys, position)} ORDER BY ${keys.map(qi).join(', ')} LIMIT ${limit}) TO STDOUT`),
        },
      );
    }
  } catch (err) {
    return await syncErrorOutcome(err, current, t0, run.rows, report);
  } finally {
    await connected?.end().catch(() => undefined);
    await opened?.end().catch(() => undefined);
  }
}

const unquote = (quoted: string) => quoted.slice(1, -1).replace(/""/g, '"');

/** Bytes used by the warehouse schema's tables (pg_total_relation_size: heap, TOAST and indexes), as the session sees them. */
export async function schemaBytes(wh: Client, schema: string): Promise<number> {
  const { rows } = await wh.query<{ n: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
    [schema],
  );
  return Number(rows[0].n);
}

/** Throws QuotaExceededError STORAGE_BYTES when the schema is larger than `maxBytes` (no limit: nothing measured). */
export async function checkStorage(wh: Client, schema: string, maxBytes: number | undefined): Promise<void> {
  if (maxBytes === undefined) return;
  const used = await schemaBytes(wh, schema);
  if (used > maxBytes) throw new QuotaExceededError('STORAGE_BYTES', maxBytes, used);
}

/** How often an incremental sync measures its schema: every this many batches, or after this many bytes copied. */
const STORAGE_CHECK_BATCHES = 10;
const STORAGE_CHECK_BYTES = 64 * 1024 * 1024;

/**
 * Schema drift of a source table against its destination table, decided by the pipeline's
 * policy and reported as the step `<label>: schema drift`: BLOCK fails the run (SCHEMA_DRIFT)
 * naming the new columns, IGNORE loads only the destination's columns, PROPAGATE loads them all
 * (an incremental sync adds them to the table; a full refresh recreates it). Returns the columns
 * to load and whether the destination table exists.
 */
export async function applyDriftPolicy<C extends { name: string; type: string }>(
  wh: Client,
  ws: string,
  p: SourceSyncPayloadV1,
  dest: string,
  label: string,
  mode: SyncTableV1['mode'],
  cols: C[],
  report: SyncReporter,
): Promise<{ selected: C[]; exists: boolean }> {
  const s0 = Date.now();
  const byName = new Map(cols.map((c) => [c.name, c]));
  let selected = cols;
  const existing = await destinationColumns(wh, p.destination.schema, dest);
  let message: string;
  if (!existing) message = `no destination table yet: ${dest} created with ${cols.length} column(s)`;
  else {
    const added = cols.filter((c) => !existing.includes(c.name)).map((c) => c.name);
    const removed = existing.filter((c) => !byName.has(c) && !META.includes(c));
    const gone = removed.length ? `; column(s) no longer in the source: ${removed.join(', ')}${mode === 'FULL' ? ' (dropped by the refresh)' : ' (left NULL for new rows)'}` : '';
    if (!added.length) message = `no new columns${gone}`;
    else if (p.driftPolicy === 'BLOCK') {
      const msg = `new source column(s) ${added.join(', ')} in ${label}: the pipeline's schema drift policy is BLOCK, so nothing was loaded. Review the columns, then change the policy or the mapping.`;
      await report.step(`${label}: schema drift`, 'FAILURE', msg, Date.now() - s0);
      throw new SyncFailure('SCHEMA_DRIFT', msg);
    } else if (p.driftPolicy === 'IGNORE') {
      selected = cols.filter((c) => existing.includes(c.name));
      message = `new source column(s) ${added.join(', ')} ignored (policy IGNORE)${gone}`;
    } else {
      if (mode === 'INCREMENTAL') {
        for (const a of added) await wh.query(`ALTER TABLE ${ws}.${qi(dest)} ADD COLUMN ${qi(a)} ${byName.get(a)!.type}`);
      }
      message = `new source column(s) ${added.join(', ')} propagated (policy PROPAGATE)${gone}`;
    }
  }
  await report.step(`${label}: schema drift`, 'SUCCESS', message, Date.now() - s0);
  return { selected, exists: existing !== null };
}

/** Where an incremental sync reads its rows: keyset batches of a source table. */
export interface KeysetSource {
  /** The rows whose cursor (`keys[0]`) is not NULL and whose (keys) come after `position` (null: from the start). */
  count(keys: string[], position: (string | null)[] | null): Promise<number>;
  /** At most `limit` of those rows in (keys) order, as COPY text lines of the selected columns. */
  batch(keys: string[], position: (string | null)[] | null, limit: number): Readable | AsyncIterable<Buffer>;
}

/**
 * Where an incremental sync reads the rows of a source that can neither filter nor order them
 * (the FILE and REST_API readers): every record, in reading order, batch by batch. Which records
 * are loaded (cursor above the table's high-water mark, one per key) is decided in the warehouse,
 * on each batch, with the columns' PostgreSQL types.
 */
export interface RecordSource {
  /** What is read, for the step messages (e.g. "file people.csv"). */
  readonly description: string;
  /**
   * Whether an attempt can skip the records an earlier attempt of the run consumed: the input is
   * the same, in the same order (an uploaded file is immutable). Otherwise a redelivery reads
   * from the start again and the upsert by key keeps the table free of duplicates.
   */
  readonly replayable: boolean;
  /** Starts reading after the first `skip` records (read and dropped); each `batch(limit)` gives the next (at most) `limit` records as COPY text lines of the selected columns, none at the end. */
  open(skip: number): { batch(limit: number): AsyncIterable<Buffer> };
}

const isRecordSource = (s: KeysetSource | RecordSource): s is RecordSource => 'open' in s;

/**
 * What a record-stream load (RecordSource) keeps in its checkpoint besides the greatest cursor
 * loaded so far (the state's `cursor[0]`, the run's high-water mark once it completes). Stored in
 * the `progress` column of `_dlx_sync_state` (NULL for keyset and FULL loads).
 */
export interface RecordProgress {
  /** The mark the run loads above: the last completed run's greatest cursor (null: every record). */
  since: string | null;
  /** Records read so far (a replayable source's redelivery skips them). */
  consumed: number;
  /** Records not picked up: a NULL cursor, a NULL key column, a cursor not above `since`, superseded by a record with the same key and a greater cursor. */
  nullCursor: number;
  nullKey: number;
  notNewer: number;
  superseded: number;
}

export interface IncrementalTarget {
  wh: Client;
  /** The quoted workspace schema. */
  ws: string;
  p: SourceSyncPayloadV1;
  job: SourceSyncJobV1;
  dest: string;
  label: string;
  table: SyncTableV1;
  /** The columns loaded (after the drift policy) and every source column's name. */
  selected: { name: string; type: string }[];
  all: string[];
  /** The primary key (the job's, else the source's; empty: PRIMARY_KEY_REQUIRED). */
  pk: string[];
  exists: boolean;
  /** This run's checkpoint (a redelivery). */
  mine: State | null;
  /** The run's row count (committed rows are added as they commit). */
  run: { rows: number };
  o: SyncOptions;
  report: SyncReporter;
}

/** How one incremental load reads its batches and advances its checkpoint (keyset or record stream). */
interface BatchPlan {
  /** The next batch (COPY text lines of the selected columns; none: the end). */
  next(limit: number): Readable | AsyncIterable<Buffer>;
  /** In the batch's transaction, the batch table filled: the upsert into the table. Returns the rows it wrote. */
  apply(meter: CopyMeter, syncedAt: string): Promise<number>;
  /** Rows of the batch checked against the row limit while they are copied (keyset: every row copied is written). */
  guardCopy: boolean;
  checkpoint(completed: boolean): Omit<State, 'runId'>;
  /** Progress: rows read so far, and the total when known. */
  progress(): number;
  totalRows?: number;
  /** The `loaded` step's message. */
  summary(batches: number): string;
}

/**
 * An INCREMENTAL table load, whatever the source: batches of `batchRows` rows, each copied into an
 * unlogged batch table, upserted into the table by primary key (with the run id and sync time),
 * its checkpoint written to `_dlx_sync_state` in the same transaction. Keyset sources (PostgreSQL,
 * MySQL) give batches in (cursor, primary key) order after the checkpoint's position; record
 * sources (FILE, REST_API readers) give every record and the warehouse keeps those whose cursor is
 * above the last completed run's high-water mark (`recordPlan`). A redelivered job (same run)
 * resumes from its checkpoint, a new run continues after the table's latest one. The run's row
 * limit is checked on every batch, its storage limit before the commit of the first batch and then
 * every STORAGE_CHECK_BATCHES batches or STORAGE_CHECK_BYTES bytes (the batch over the quota is
 * rolled back). Returns the table's rows loaded by this run (earlier attempts included).
 */
export async function incrementalLoad(x: IncrementalTarget, source: KeysetSource | RecordSource): Promise<number> {
  const { wh, ws, p, job, dest, label, selected, pk, o, report } = x;
  const s0 = Date.now();
  const records = isRecordSource(source);
  if (!pk.length) {
    throw new SyncFailure(
      'PRIMARY_KEY_REQUIRED',
      records
        ? `Incremental sync of ${label} needs a primary key: ${source.description} has no key of its own, so name the key columns of ${label} in the pipeline (primaryKey; its columns: ${x.all.join(', ')}), or sync it FULL.`
        : `Incremental sync of ${label} needs a primary key: the table has none, so name its key columns in the pipeline.`,
    );
  }
  const cursor = x.table.cursorColumn!;
  const keys = [cursor, ...pk.filter((k) => k !== cursor)];
  for (const k of keys) {
    if (!x.all.includes(k)) throw new SyncFailure('COLUMN_NOT_FOUND', `Column ${k} (cursor or primary key) is not in source table ${label}.`);
    if (!selected.some((c) => c.name === k)) throw new SyncFailure('COLUMN_NOT_FOUND', `Column ${k} (cursor or primary key) is not in the destination table ${dest}.`);
  }
  // A record source infers its types anew from each file or response: the table keeps its own.
  const cols = records && x.exists ? await tableTypes(x) : selected;
  const cursorType = cols.find((c) => c.name === cursor)!.type;
  // The warehouse takes the greatest cursor of each batch: a type without an ordering cannot be a cursor.
  if (records && /^(jsonb?|boolean)$/.test(cursorType)) {
    throw new SyncFailure('CURSOR_INVALID', `Column ${cursor} of ${label} is ${cursorType}, which cannot be a cursor: name a column that grows when a record changes (a timestamp, a number), or sync ${label} FULL.`);
  }
  const table = `${ws}.${qi(dest)}`;
  const batchTable = `${ws}.${qi(`${dest}__dlx_batch`)}`;
  const colList = selected.map((c) => qi(c.name));
  const colDefs = cols.map((c) => `${qi(c.name)} ${c.type}`).join(', ');
  if (!x.exists) await wh.query(`CREATE TABLE IF NOT EXISTS ${table} (${colDefs}, _dlx_run_id uuid NOT NULL, _dlx_synced_at timestamptz NOT NULL, PRIMARY KEY (${pk.map(qi).join(', ')}))`);
  else await ensurePrimaryKey(wh, p.destination.schema, dest, pk);
  await wh.query(`DROP TABLE IF EXISTS ${batchTable}`);
  // A record batch keeps its reading order (`_dlx_ord`): of two records with the same key and cursor, the later one wins.
  await wh.query(`CREATE UNLOGGED TABLE ${batchTable} (${colDefs}${records ? ', _dlx_ord bigint GENERATED ALWAYS AS IDENTITY' : ''})`);

  const upsert = {
    into: `INSERT INTO ${table} AS t (${[...colList, ...META].join(', ')})`,
    values: (syncedAt: string) => `${colList.join(', ')}, ${lit(job.runId)}::uuid, ${lit(syncedAt)}::timestamptz`,
    onConflict: `ON CONFLICT (${pk.map(qi).join(', ')}) DO UPDATE SET ${[...selected.filter((c) => !pk.includes(c.name)).map((c) => qi(c.name)), ...META].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  };
  const plan = records ? await recordPlan(x, keys, cursorType, source, batchTable, upsert) : await keysetPlan(x, keys, source, batchTable, upsert);
  const maxStorage = job.limits?.maxStorageBytes;
  const tick = progressTicker(report, label, plan.totalRows, o.progressIntervalMs);
  let bytes = 0;
  let batches = 0;
  let sinceCheck = { batches: STORAGE_CHECK_BATCHES, bytes: 0 };
  for (;;) {
    const syncedAt = new Date().toISOString();
    const check = rowGuard(job.limits?.maxRows, x.run.rows);
    const meter = new CopyMeter(plan.guardCopy ? (rows) => check(rows) : undefined);
    await wh.query('BEGIN');
    try {
      await wh.query(`TRUNCATE ${batchTable}`);
      await pipeline(plan.next(p.batchRows), meter, copyFrom(wh, `COPY ${batchTable} (${colList.join(', ')}) FROM STDIN`));
      if (meter.rows === 0) {
        // The table's last measure before the run is marked complete (the batches since the last check are committed).
        if (sinceCheck.batches > 0) await checkStorage(wh, p.destination.schema, maxStorage);
        await writeState(wh, ws, dest, job.runId, plan.checkpoint(true));
        await wh.query('COMMIT');
        break;
      }
      const written = await plan.apply(meter, syncedAt);
      check(written);
      const last = meter.rows < p.batchRows;
      sinceCheck = { batches: sinceCheck.batches + 1, bytes: sinceCheck.bytes + meter.bytes };
      if (maxStorage !== undefined && (last || sinceCheck.batches >= STORAGE_CHECK_BATCHES || sinceCheck.bytes >= STORAGE_CHECK_BYTES)) {
        await wh.query(`TRUNCATE ${batchTable}`);
        await checkStorage(wh, p.destination.schema, maxStorage);
        sinceCheck = { batches: 0, bytes: 0 };
      }
      await writeState(wh, ws, dest, job.runId, plan.checkpoint(last));
      await wh.query('COMMIT');
      x.run.rows += written;
      bytes += meter.bytes;
      batches++;
      tick(plan.progress(), bytes, true);
      if (last) break;
      if (o.batchDelayMs) await new Promise((r) => setTimeout(r, o.batchDelayMs));
    } catch (err) {
      await wh.query('ROLLBACK').catch(() => undefined);
      // Not left holding a batch (it would count against the storage quota); a retry creates it again.
      await wh.query(`DROP TABLE IF EXISTS ${batchTable}`).catch(() => undefined);
      throw err;
    }
  }
  await wh.query(`DROP TABLE IF EXISTS ${batchTable}`);
  tick(plan.progress(), bytes, true);
  const final = plan.checkpoint(true);
  await report.step(`${label}: loaded`, 'SUCCESS', plan.summary(batches), Date.now() - s0);
  return final.rows;
}

/**
 * The columns to load with the existing table's types where the source's inferred type differs
 * (a column of whole numbers that now holds a fraction, a timestamp column with a stray value):
 * the batch table parses the values as the table's type, so a value that does not fit fails the
 * batch instead of being rounded or cast on the way in. Reported as the step `<label>: column types`.
 */
async function tableTypes(x: IncrementalTarget): Promise<{ name: string; type: string }[]> {
  const { rows } = await x.wh.query<{ name: string; type: string }>(
    `SELECT s.name, format_type(a.atttypid, a.atttypmod) AS type
       FROM unnest($2::text[], $3::text[]) AS s(name, type)
       JOIN pg_attribute a ON a.attrelid = to_regclass($1) AND a.attname = s.name AND a.attnum > 0 AND NOT a.attisdropped
      WHERE a.atttypid <> to_regtype(s.type)`,
    [`${x.ws}.${qi(x.dest)}`, x.selected.map((c) => c.name), x.selected.map((c) => c.type)],
  );
  if (!rows.length) return x.selected;
  const table = new Map(rows.map((r) => [r.name, r.type]));
  await x.report.step(
    `${x.label}: column types`,
    'SUCCESS',
    `loaded with the table's types (a value that does not fit fails the batch; sync FULL to take the new types): ${rows.map((r) => `${r.name} read as ${x.selected.find((c) => c.name === r.name)!.type}, loaded as ${r.type}`).join('; ')}`,
    0,
  );
  return x.selected.map((c) => ({ name: c.name, type: table.get(c.name) ?? c.type }));
}

type Upsert = { into: string; values: (syncedAt: string) => string; onConflict: string };

/**
 * Keyset batches (PostgreSQL, MySQL): the source gives the rows after the position in (cursor,
 * primary key) order, every row of a batch is upserted, and the batch's last (cursor, key) is the
 * next position. The run's rows to load are counted up front (the row limit, progress percentages).
 */
async function keysetPlan(x: IncrementalTarget, keys: string[], source: KeysetSource, batchTable: string, upsert: Upsert): Promise<BatchPlan> {
  const { wh, ws, dest, label, selected, report } = x;
  // Where to start: this run's checkpoint (a redelivery) or the table's latest one.
  let state: State | null = x.mine && !x.mine.records && sameKeys(x.mine.keys, keys) ? x.mine : null;
  if (state) {
    await report.step(`${label}: resumed`, 'SUCCESS', `resumed from checkpoint ${describe(keys, state.cursor)} after ${state.rows} rows committed by an earlier attempt`, 0);
  } else {
    const prev = await readLatestState(wh, ws, dest);
    state = prev && sameKeys(prev.keys, keys) ? { ...prev, rows: 0, completed: false } : null;
    await report.step(`${label}: checkpoint`, 'SUCCESS', state?.cursor.length ? `continuing after the checkpoint of run ${prev!.runId}: ${describe(keys, state.cursor)}` : 'no checkpoint: syncing from the start', 0);
  }
  let position = state?.cursor.length ? state.cursor : null;
  let loaded = state?.rows ?? 0;
  const resumedRows = loaded;
  x.run.rows += loaded;
  const total = await source.count(keys, position);
  rowGuard(x.job.limits?.maxRows, x.run.rows)(total);
  return {
    next: (limit) => source.batch(keys, position, limit),
    guardCopy: true,
    apply: async (meter, syncedAt) => {
      await wh.query(`${upsert.into} SELECT ${upsert.values(syncedAt)} FROM ${batchTable} ${upsert.onConflict}`);
      const lastRow = meter.lastRow()!;
      position = keys.map((k) => lastRow[selected.findIndex((c) => c.name === k)]);
      loaded += meter.rows;
      return meter.rows;
    },
    checkpoint: (completed) => ({ cursor: position ?? [], keys, rows: loaded, completed }),
    progress: () => loaded,
    totalRows: loaded + total,
    summary: (batches) =>
      `incremental: ${loaded} rows upserted into ${x.p.destination.schema}.${dest} by (${x.pk.join(', ')}) (${loaded - resumedRows} in ${batches} batch(es) by this attempt); checkpoint ${position ? describe(keys, position) : 'none (no rows)'}`,
  };
}

/**
 * Record batches (FILE, REST_API): the source gives every record in reading order; of each batch
 * the warehouse upserts the records whose cursor is above `since` — the greatest cursor loaded by
 * the table's last *completed* record run (a failed run's greatest cursor is no mark: records
 * below it may not have been read) — compared with the column's PostgreSQL type, one per key (the
 * greatest cursor, the later record on ties; a record never replaces a loaded row with a greater
 * cursor, so batch boundaries do not matter). Records with a NULL cursor or key column are not
 * picked up (counted). The checkpoint holds the records consumed and the greatest cursor loaded
 * so far; the completed run's greatest cursor is the next run's mark. A redelivery of a replayable
 * source (an immutable file) skips the records consumed: it redoes at most one batch; otherwise it
 * reads from the start again.
 */
async function recordPlan(x: IncrementalTarget, keys: string[], cursorType: string, source: RecordSource, batchTable: string, upsert: Upsert): Promise<BatchPlan> {
  const { wh, ws, dest, label, pk, report } = x;
  const cursor = keys[0];
  const zero = { consumed: 0, nullCursor: 0, nullKey: 0, notNewer: 0, superseded: 0 };
  const mine = x.mine?.records && x.mine.keys[0] === cursor ? x.mine : null;
  let since: string | null;
  let max: string | null;
  let counts = { ...zero };
  let loaded = 0;
  if (mine) {
    since = mine.records!.since;
    if (source.replayable) {
      const r = mine.records!;
      counts = { consumed: r.consumed, nullCursor: r.nullCursor, nullKey: r.nullKey, notNewer: r.notNewer, superseded: r.superseded };
      loaded = mine.rows;
      max = mine.cursor[0] ?? since;
      await report.step(
        `${label}: resumed`,
        'SUCCESS',
        `resumed after ${counts.consumed} records of ${source.description} read and ${loaded} rows upserted by an earlier attempt: the input does not change, so those records are skipped and at most one batch is redone`,
        0,
      );
    } else {
      max = since;
      await report.step(
        `${label}: resumed`,
        'SUCCESS',
        `resumed: ${source.description} cannot be read from where an earlier attempt stopped (after ${mine.records!.consumed} records, ${mine.rows} rows upserted), so it is read again from the start; the upsert by (${pk.join(', ')}) keeps the table free of duplicates`,
        0,
      );
    }
  } else {
    const prev = await readLatestState(wh, ws, dest, 'records');
    since = prev && prev.keys[0] === cursor ? (prev.cursor[0] ?? null) : null;
    max = since;
    await report.step(
      `${label}: checkpoint`,
      'SUCCESS',
      since !== null ? `high-water mark of run ${prev!.runId}: loading the records whose ${cursor} > ${since}` : `no high-water mark: loading every record whose ${cursor} is not NULL`,
      0,
    );
  }
  const resumedRows = loaded;
  x.run.rows += loaded;
  const reading = source.open(counts.consumed);
  const c = qi(cursor);
  const keyed = pk.map((k) => `${qi(k)} IS NOT NULL`).join(' AND ');
  const above = since === null ? 'true' : `${c} > ${lit(since)}::${cursorType}`;
  const picked = `${c} IS NOT NULL AND ${keyed} AND ${above}`;
  return {
    next: (limit) => reading.batch(limit),
    guardCopy: false,
    apply: async (meter, syncedAt) => {
      const { rows } = await wh.query<{ null_cursor: string; null_key: string; not_newer: string; picked: string; max: string | null }>(
        `SELECT count(*) FILTER (WHERE ${c} IS NULL) AS null_cursor, count(*) FILTER (WHERE ${c} IS NOT NULL AND NOT (${keyed})) AS null_key,
                count(*) FILTER (WHERE ${c} IS NOT NULL AND ${keyed} AND NOT (${above})) AS not_newer, count(*) FILTER (WHERE ${picked}) AS picked,
                greatest(${max === null ? 'NULL' : `${lit(max)}::${cursorType}`}, max(${c}) FILTER (WHERE ${picked}))::text AS max
           FROM ${batchTable}`,
      );
      const s = rows[0];
      // One record per key (the greatest cursor, then the later one); a loaded row with a greater cursor stays.
      const res = await wh.query(
        `${upsert.into} SELECT DISTINCT ON (${pk.map(qi).join(', ')}) ${upsert.values(syncedAt)} FROM ${batchTable} WHERE ${picked}
          ORDER BY ${pk.map(qi).join(', ')}, ${c} DESC, _dlx_ord DESC ${upsert.onConflict} WHERE t.${c} IS NULL OR EXCLUDED.${c} >= t.${c}`,
      );
      const written = res.rowCount ?? 0;
      counts = {
        consumed: counts.consumed + meter.rows,
        nullCursor: counts.nullCursor + Number(s.null_cursor),
        nullKey: counts.nullKey + Number(s.null_key),
        notNewer: counts.notNewer + Number(s.not_newer),
        superseded: counts.superseded + Number(s.picked) - written,
      };
      max = s.max;
      loaded += written;
      return written;
    },
    checkpoint: (completed) => ({ cursor: max === null ? [] : [max], keys, rows: loaded, completed, records: { since, ...counts } }),
    progress: () => counts.consumed,
    summary: (batches) =>
      `incremental: ${loaded} rows upserted into ${x.p.destination.schema}.${dest} by (${pk.join(', ')}) from ${counts.consumed} records of ${source.description} ` +
      `(${loaded - resumedRows} in ${batches} batch(es) by this attempt); high-water mark ${cursor}=${max ?? 'none'}${since !== null ? ` (was ${since})` : ''}; not picked up: ` +
      `${counts.nullCursor} with a NULL ${cursor}, ${counts.notNewer} not above the previous mark, ${counts.nullKey} with a NULL key column, ${counts.superseded} superseded by a record with the same key`,
  };
}

const sameKeys = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);
const describe = (keys: string[], values: (string | null)[]) => keys.map((k, i) => `${k}=${values[i]}`).join(', ');

export async function ensureStateTable(wh: Client, ws: string): Promise<void> {
  const ddl = `CREATE TABLE IF NOT EXISTS ${ws}.${STATE_TABLE} (
    table_name text NOT NULL, run_id uuid NOT NULL, keys text[] NOT NULL, cursor_values text[] NOT NULL,
    rows bigint NOT NULL, completed boolean NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    progress jsonb,
    PRIMARY KEY (table_name, run_id))`;
  try {
    await wh.query(ddl);
  } catch (err) {
    // Two runs creating it at once: one wins, the other finds it.
    if ((err as { code?: string }).code !== '23505' && (err as { code?: string }).code !== '42P07') throw err;
  }
  // Tables made before record-stream checkpoints existed (looked up first: ALTER TABLE locks the table even when there is nothing to add).
  const { rowCount } = await wh.query(`SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'progress' AND NOT attisdropped`, [`${ws}.${STATE_TABLE}`]);
  if (!rowCount) await wh.query(`ALTER TABLE ${ws}.${STATE_TABLE} ADD COLUMN IF NOT EXISTS progress jsonb`);
}

type StateRow = { keys: string[]; cursor_values: (string | null)[]; rows: string; completed: boolean; run_id: string; progress: RecordProgress | null };
const stateOf = (r: StateRow | undefined): State | null =>
  r ? { keys: r.keys, cursor: r.cursor_values, rows: Number(r.rows), completed: r.completed, runId: r.run_id, records: r.progress } : null;

export async function readState(wh: Client, ws: string, table: string, runId: string): Promise<State | null> {
  const { rows } = await wh.query<StateRow>(`SELECT keys, cursor_values, rows, completed, run_id, progress FROM ${ws}.${STATE_TABLE} WHERE table_name = $1 AND run_id = $2`, [table, runId]);
  return stateOf(rows[0]);
}

/**
 * The table's latest checkpoint a new run continues from. Keyset loads (default): the latest
 * keyset checkpoint, completed or not (every row before its position was loaded). Record loads
 * (`'records'`): the latest completed record run (its greatest cursor is a high-water mark only
 * once every record was read).
 */
export async function readLatestState(wh: Client, ws: string, table: string, kind: 'keyset' | 'records' = 'keyset'): Promise<State | null> {
  const which = kind === 'keyset' ? 'cardinality(cursor_values) > 0 AND progress IS NULL' : 'progress IS NOT NULL AND completed';
  const { rows } = await wh.query<StateRow>(
    `SELECT keys, cursor_values, rows, completed, run_id, progress FROM ${ws}.${STATE_TABLE} WHERE table_name = $1 AND ${which} ORDER BY updated_at DESC LIMIT 1`,
    [table],
  );
  return stateOf(rows[0]);
}

export async function writeState(wh: Client, ws: string, table: string, runId: string, s: Omit<State, 'runId'>): Promise<void> {
  await wh.query(
    `INSERT INTO ${ws}.${STATE_TABLE} (table_name, run_id, keys, cursor_values, rows, completed, progress) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
     ON CONFLICT (table_name, run_id) DO UPDATE SET keys = EXCLUDED.keys, cursor_values = EXCLUDED.cursor_values, rows = EXCLUDED.rows, completed = EXCLUDED.completed,
       progress = EXCLUDED.progress, updated_at = clock_timestamp()`,
    [table, runId, s.keys, s.cursor, s.rows, s.completed, s.records ? JSON.stringify(s.records) : null],
  );
}

/** A table first loaded by a FULL refresh has no key: an incremental sync needs one for its upserts. */
async function ensurePrimaryKey(wh: Client, schema: string, table: string, pk: string[]): Promise<void> {
  const { rowCount } = await wh.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary`,
    [schema, table],
  );
  if (!rowCount) await wh.query(`ALTER TABLE ${qi(schema)}.${qi(table)} ADD PRIMARY KEY (${pk.map(qi).join(', ')})`);
}
