import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import { copyFrom } from './pg-copy';
import { CopyMeter } from './copy-meter';
import { progressTicker, SyncFailure, syncErrorOutcome, type SyncOptions, type SyncOutcome, type SyncReporter } from './outcome';
import { checkDestination, openSyncWarehouse } from './warehouse-connection';
import { checkStorage, rowGuard, withDestinationLimits } from './quota';
import { applyDriftPolicy } from './drift';
import { readState } from './checkpoint';
import { incrementalLoad, type KeysetSource, type RecordSource } from './incremental';
import { swapFullRefresh } from './full-refresh';
import { destinationTableName, META } from './sql';

export interface LoadColumn {
  name: string;
  /** The destination (PostgreSQL) type. */
  type: string;
}

/**
 * A source the generic loader reads tables from (the FILE/REST readers, MySQL): each table's
 * columns with PostgreSQL types, and its rows as COPY text-format lines (`\n`-terminated, fields
 * escaped with `encodeCopyField`), streamed with backpressure.
 */
export interface TableSource {
  /** What the sync reads (for the messages), e.g. "file people.csv". */
  readonly description: string;
  /** The table's columns, or a SyncFailure('TABLE_NOT_FOUND') naming the tables there are. */
  columns(t: SyncTableV1): Promise<LoadColumn[]>;
  /** The rows of the table, as COPY text lines. */
  lines(t: SyncTableV1, columns: LoadColumn[]): AsyncIterable<Buffer>;
  /** The row count when the source knows it cheaply (progress percentages, the row limit up front). */
  total?(t: SyncTableV1): Promise<number | undefined>;
  /** Steps to report after a table was loaded (e.g. the malformed records skipped) and a note for the run summary. */
  afterLoad?(t: SyncTableV1, label: string): Promise<string | undefined>;
  /** Maps an error of the source to the run's outcome (null: the generic handling); `t` is the table being loaded. */
  failure?(err: unknown, label: string, dest: string, t?: SyncTableV1): { code: string; message: string } | null;
  /** INCREMENTAL support: the table's primary key (empty: none) ... */
  primaryKey?(t: SyncTableV1): Promise<string[]>;
  /** ... and its rows in keyset batches (the selected `columns`, in their order). */
  keyset?(t: SyncTableV1, columns: LoadColumn[]): KeysetSource;
  /**
   * INCREMENTAL for a source that can neither filter nor order (FILE, REST_API readers): every
   * record of the table in reading order (the selected `columns`), filtered in the warehouse. Such
   * a source has no key of its own: the job's table names it (`primaryKey`).
   */
  records?(t: SyncTableV1, columns: LoadColumn[]): RecordSource;
  close(): Promise<void>;
}

/**
 * `source.sync` for a source read through a TableSource, table by table, with the PostgreSQL
 * sync's warehouse session (`openSyncWarehouse`: the platform's as the workspace role, or the
 * EXTERNAL destination as its own user; statement timeout), schema drift policy
 * (`applyDriftPolicy`), staging-table swap (`swapFullRefresh`), incremental keyset batches
 * (`incrementalLoad`: keyset batches for sources with `keyset` — MySQL —, record batches filtered by
 * the table's high-water mark for sources with `records` — FILE, REST_API), row and storage
 * limits, progress and checkpoint bookkeeping. A FILE or REST_API table has no primary key of its
 * own: INCREMENTAL ones without `primaryKey` in the job fail the run before anything is read
 * (`PRIMARY_KEY_REQUIRED`).
 */
export async function runTableSourceSync(
  jobAsSent: SourceSyncJobV1,
  o: SyncOptions,
  report: SyncReporter,
  open: () => Promise<TableSource>,
): Promise<SyncOutcome> {
  const job = withDestinationLimits(jobAsSent);
  const p = job.payload;
  checkDestination(p);
  const maxRows = job.limits?.maxRows;
  const run = { rows: 0 };
  let current = 'connect';
  const t0 = Date.now();
  const keyless = (p.config.type === 'FILE' || p.config.type === 'REST_API') && p.tables.find((t) => t.mode === 'INCREMENTAL' && !t.primaryKey?.length);
  if (keyless) {
    current = `${keyless.schema}.${keyless.name}`;
    const what = p.config.type === 'FILE' ? 'a file' : 'a REST API collection';
    return syncErrorOutcome(
      new SyncFailure(
        'PRIMARY_KEY_REQUIRED',
        `Incremental sync of ${current} needs a primary key: ${what} has no key of its own, so name the column(s) identifying a record in the pipeline's table (primaryKey, e.g. ["id"]), or sync it FULL. Nothing was loaded.`,
      ),
      current,
      t0,
      0,
      report,
    );
  }
  let opened: Awaited<ReturnType<typeof openSyncWarehouse>> | undefined;
  let source: TableSource | undefined;
  let dest = '';
  let table: SyncTableV1 | undefined;
  try {
    source = await open();
    current = 'warehouse';
    opened = await openSyncWarehouse(p, o, report);
    const { wh, ws } = opened;
    await checkStorage(wh, p.destination.schema, job.limits?.maxStorageBytes);
    const done: string[] = [];
    const notes: string[] = [];
    for (const t of p.tables) {
      current = `${t.schema}.${t.name}`;
      dest = destinationTableName(t);
      table = t;
      const s0 = Date.now();
      const mine = await readState(wh, ws, dest, job.runId);
      if (mine?.completed) {
        await report.step(`${current}: loaded`, 'SKIPPED', `already loaded by an earlier attempt of this run (${mine.rows} rows)`, 0);
        run.rows += mine.rows;
        done.push(`${current} (${mine.rows})`);
        continue;
      }
      const all = await source.columns(t);
      const clash = all.find((c) => META.includes(c.name));
      if (clash) throw new SyncFailure('RESERVED_COLUMN', `Source table ${current} has a column named ${clash.name}, which the sync adds itself.`);
      const { selected: columns, exists } = await applyDriftPolicy(wh, ws, p, dest, current, t.mode, all, report);
      if (t.mode === 'INCREMENTAL') {
        const from = source.keyset?.(t, columns) ?? source.records?.(t, columns);
        if (!from)
          throw new SyncFailure('INCREMENTAL_UNSUPPORTED', `incremental sync is not supported for ${source.description}; use FULL (table ${current}).`);
        const pk = t.primaryKey ?? (await source.primaryKey?.(t)) ?? [];
        const rows = await incrementalLoad(
          { wh, ws, p, job, dest, label: current, table: t, selected: columns, all: all.map((c) => c.name), pk, exists, mine, run, o, report },
          from,
        );
        const note = await source.afterLoad?.(t, current);
        if (note) notes.push(`${current}: ${note}`);
        done.push(`${current} (${rows})`);
        continue;
      }
      const total = await source.total?.(t);
      if (total !== undefined) rowGuard(maxRows, run.rows)(total);
      const check = rowGuard(maxRows, run.rows);
      const tick = progressTicker(report, current, total, o.progressIntervalMs);
      const meter = new CopyMeter((rows, bytes) => {
        check(rows);
        tick(rows, bytes);
      });
      const src = source;
      const t_ = t;
      await swapFullRefresh(
        wh,
        ws,
        dest,
        job.runId,
        columns,
        async (copyIn) => {
          await pipeline(Readable.from(src.lines(t_, columns)), meter, copyFrom(wh, copyIn));
          return meter.rows;
        },
        job.limits?.maxStorageBytes,
      );
      run.rows += meter.rows;
      tick(meter.rows, meter.bytes, true);
      await report.step(
        `${current}: loaded`,
        'SUCCESS',
        `full refresh of ${source.description}: ${meter.rows} rows (${meter.bytes} bytes, ${columns.length} column(s): ${columns.map((c) => `${c.name} ${c.type}`).join(', ')}) swapped into ${p.destination.schema}.${dest} in one transaction`,
        Date.now() - s0,
      );
      const note = await source.afterLoad?.(t, current);
      if (note) notes.push(`${current}: ${note}`);
      done.push(`${current} (${meter.rows})`);
    }
    return {
      ok: true,
      rows: run.rows,
      summary: `${run.rows} row(s) synced in ${Date.now() - t0} ms: ${done.join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''}`,
    };
  } catch (err) {
    const mapped = source?.failure?.(err, current, dest, table);
    if (mapped) {
      await report.step(`${current}: loaded`, 'FAILURE', mapped.message, Date.now() - t0).catch(() => undefined);
      return { ok: false, rows: run.rows, summary: `sync of ${current} failed`, error: mapped };
    }
    return await syncErrorOutcome(err, current, t0, run.rows, report);
  } finally {
    await source?.close().catch(() => undefined);
    await opened?.wh.end().catch(() => undefined);
  }
}
