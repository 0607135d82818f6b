import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import type { SourceSyncJobV1, SourceSyncPayloadV1, SyncTableV1 } from '@datalinx/contracts';
import { copyFrom } from './pg-copy';
import { CopyMeter } from './copy-meter';
import { progressTicker, SyncFailure, type SyncOptions, type SyncReporter } from './outcome';
import { checkStorage, rowGuard, STORAGE_CHECK_BATCHES, STORAGE_CHECK_BYTES } from './quota';
import { lit, qi, recordFilter, upsertInto, type Upsert } from './sql';
import { describe, keysetContinuation, keysetResumable, readLatestState, recordMark, recordResumable, writeState, type State } from './checkpoint';

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
    if (!selected.some((c) => c.name === k))
      throw new SyncFailure('COLUMN_NOT_FOUND', `Column ${k} (cursor or primary key) is not in the destination table ${dest}.`);
  }
  // A record source infers its types anew from each file or response: the table keeps its own.
  const cols = records && x.exists ? await tableTypes(x) : selected;
  const cursorType = cols.find((c) => c.name === cursor)!.type;
  // The warehouse takes the greatest cursor of each batch: a type without an ordering cannot be a cursor.
  if (records && /^(jsonb?|boolean)$/.test(cursorType)) {
    throw new SyncFailure(
      'CURSOR_INVALID',
      `Column ${cursor} of ${label} is ${cursorType}, which cannot be a cursor: name a column that grows when a record changes (a timestamp, a number), or sync ${label} FULL.`,
    );
  }
  const table = `${ws}.${qi(dest)}`;
  const batchTable = `${ws}.${qi(`${dest}__dlx_batch`)}`;
  const colList = selected.map((c) => qi(c.name));
  const colDefs = cols.map((c) => `${qi(c.name)} ${c.type}`).join(', ');
  if (!x.exists)
    await wh.query(
      `CREATE TABLE IF NOT EXISTS ${table} (${colDefs}, _dlx_run_id uuid NOT NULL, _dlx_synced_at timestamptz NOT NULL, PRIMARY KEY (${pk.map(qi).join(', ')}))`,
    );
  else await ensurePrimaryKey(wh, p.destination.schema, dest, pk);
  await wh.query(`DROP TABLE IF EXISTS ${batchTable}`);
  // A record batch keeps its reading order (`_dlx_ord`): of two records with the same key and cursor, the later one wins.
  await wh.query(`CREATE UNLOGGED TABLE ${batchTable} (${colDefs}${records ? ', _dlx_ord bigint GENERATED ALWAYS AS IDENTITY' : ''})`);

  const upsert = upsertInto(
    table,
    selected.map((c) => c.name),
    pk,
    job.runId,
  );
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

/**
 * Keyset batches (PostgreSQL, MySQL): the source gives the rows after the position in (cursor,
 * primary key) order, every row of a batch is upserted, and the batch's last (cursor, key) is the
 * next position. The run's rows to load are counted up front (the row limit, progress percentages).
 */
async function keysetPlan(x: IncrementalTarget, keys: string[], source: KeysetSource, batchTable: string, upsert: Upsert): Promise<BatchPlan> {
  const { wh, ws, dest, label, selected, report } = x;
  // Where to start: this run's checkpoint (a redelivery) or the table's latest one.
  let state = keysetResumable(x.mine, keys);
  if (state) {
    await report.step(
      `${label}: resumed`,
      'SUCCESS',
      `resumed from checkpoint ${describe(keys, state.cursor)} after ${state.rows} rows committed by an earlier attempt`,
      0,
    );
  } else {
    const prev = await readLatestState(wh, ws, dest);
    state = keysetContinuation(prev, keys);
    await report.step(
      `${label}: checkpoint`,
      'SUCCESS',
      state?.cursor.length ? `continuing after the checkpoint of run ${prev!.runId}: ${describe(keys, state.cursor)}` : 'no checkpoint: syncing from the start',
      0,
    );
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
async function recordPlan(
  x: IncrementalTarget,
  keys: string[],
  cursorType: string,
  source: RecordSource,
  batchTable: string,
  upsert: Upsert,
): Promise<BatchPlan> {
  const { wh, ws, dest, label, pk, report } = x;
  const cursor = keys[0];
  const zero = { consumed: 0, nullCursor: 0, nullKey: 0, notNewer: 0, superseded: 0 };
  const mine = recordResumable(x.mine, cursor);
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
    since = recordMark(prev, cursor);
    max = since;
    await report.step(
      `${label}: checkpoint`,
      'SUCCESS',
      since !== null
        ? `high-water mark of run ${prev!.runId}: loading the records whose ${cursor} > ${since}`
        : `no high-water mark: loading every record whose ${cursor} is not NULL`,
      0,
    );
  }
  const resumedRows = loaded;
  x.run.rows += loaded;
  const reading = source.open(counts.consumed);
  const { c, keyed, above, picked } = recordFilter(cursor, pk, since, cursorType);
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

/** A table first loaded by a FULL refresh has no key: an incremental sync needs one for its upserts. */
async function ensurePrimaryKey(wh: Client, schema: string, table: string, pk: string[]): Promise<void> {
  const { rowCount } = await wh.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary`,
    [schema, table],
  );
  if (!rowCount) await wh.query(`ALTER TABLE ${qi(schema)}.${qi(table)} ADD PRIMARY KEY (${pk.map(qi).join(', ')})`);
}
