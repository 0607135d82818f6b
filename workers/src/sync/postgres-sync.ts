import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import type { ConnectionSecrets, SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import { connectPostgres, explainPgError, type PostgresTarget } from '../connectors/postgres';
import { copyFrom, copyTo } from './pg-copy';
import { CopyMeter } from './copy-meter';
import { connectFailure, progressTicker, SyncFailure, syncErrorOutcome, type SyncOptions, type SyncOutcome, type SyncReporter } from './outcome';
import { checkDestination, openSyncWarehouse, syncConnect } from './warehouse-connection';
import { checkStorage, rowGuard, withDestinationLimits } from './quota';
import { applyDriftPolicy } from './drift';
import { readState, type State } from './checkpoint';
import { incrementalLoad } from './incremental';
import { swapFullRefresh } from './full-refresh';
import { destinationTableName, keysetAfter, META, qi } from './sql';

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

/** The job's PostgreSQL source with its password (connected with `connectPostgres`). */
function sourceTarget(job: SourceSyncJobV1, secrets: ConnectionSecrets): PostgresTarget {
  const c = job.payload.config;
  if (c.type !== 'POSTGRES') throw new PermanentJobError(`${c.type} sources are not synced by the PostgreSQL sync`, 'SOURCE_TYPE_UNSUPPORTED');
  return { ...c, password: secrets.password };
}

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
        await swapFullRefresh(
          wh,
          ws,
          dest,
          job.runId,
          selected,
          async (copyIn) => {
            await pipeline(copyTo(src, `COPY (SELECT ${selected.map((c) => c.expr).join(', ')} FROM ${from}) TO STDOUT`), meter, copyFrom(wh, copyIn));
            return meter.rows;
          },
          job.limits?.maxStorageBytes,
        );
        run.rows += meter.rows;
        tick(meter.rows, meter.bytes, true);
        await report.step(
          `${label}: loaded`,
          'SUCCESS',
          `full refresh: ${meter.rows} rows (${meter.bytes} bytes) swapped into ${p.destination.schema}.${dest} in one transaction`,
          Date.now() - s0,
        );
        return meter.rows;
      } finally {
        await src.query('COMMIT').catch(() => undefined);
      }
    }

    async function incremental(
      t: SyncTableV1,
      label: string,
      dest: string,
      selected: SourceColumn[],
      all: SourceColumn[],
      exists: boolean,
      mine: State | null,
    ): Promise<number> {
      const byName = new Map(all.map((c) => [c.name, c]));
      const pk = t.primaryKey ?? (await sourcePrimaryKey(src, t.schema, t.name));
      const from = `${qi(t.schema)}.${qi(t.name)}`;
      const where = (keys: string[], position: (string | null)[] | null) => keysetAfter(keys, position, (k) => byName.get(k)!.type);
      return incrementalLoad(
        { wh, ws, p, job, dest, label, table: t, selected, all: all.map((c) => c.name), pk, exists, mine, run, o, report },
        {
          count: async (keys, position) =>
            Number((await src.query<{ n: string }>(`SELECT count(*) AS n FROM ${from} WHERE ${where(keys, position)}`)).rows[0].n),
          batch: (keys, position, limit) =>
            copyTo(
              src,
              `COPY (SELECT ${selected.map((c) => c.expr).join(', ')} FROM ${from} WHERE ${where(keys, position)} ORDER BY ${keys.map(qi).join(', ')} LIMIT ${limit}) TO STDOUT`,
            ),
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
