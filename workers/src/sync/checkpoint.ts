import type { Client } from 'pg';

/*
 * Incremental checkpoints: `_dlx_sync_state` in the warehouse schema, one row per (table, run),
 * written in the transaction of the batch it describes; and the pure rules for where a run starts.
 */

export const STATE_TABLE = '_dlx_sync_state';

/** A table's checkpoint of one run in `_dlx_sync_state`; `records` only for record-stream loads (RecordSource). */
export type State = { cursor: (string | null)[]; keys: string[]; rows: number; completed: boolean; runId: string; records?: RecordProgress | null };

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

export const sameKeys = (a: string[], b: string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

/** `k1=v1, k2=v2` (a checkpoint's position, for step messages). */
export const describe = (keys: string[], values: (string | null)[]) => keys.map((k, i) => `${k}=${values[i]}`).join(', ');

/**
 * Keyset loads: this run's own checkpoint (a redelivery) resumes when it is a keyset checkpoint
 * over the same keys; otherwise null (the run starts anew).
 */
export const keysetResumable = (mine: State | null, keys: string[]): State | null => (mine && !mine.records && sameKeys(mine.keys, keys) ? mine : null);

/** Keyset loads: a new run continues after the table's latest checkpoint over the same keys (its rows counted from 0), else from the start (null). */
export const keysetContinuation = (latest: State | null, keys: string[]): State | null =>
  latest && sameKeys(latest.keys, keys) ? { ...latest, rows: 0, completed: false } : null;

/** Record loads: this run's own record checkpoint over the same cursor column (a redelivery), else null. */
export const recordResumable = (mine: State | null, cursor: string): State | null => (mine?.records && mine.keys[0] === cursor ? mine : null);

/** Record loads: the high-water mark a new run loads above: the latest completed record run's greatest cursor, over the same cursor column (null: every record). */
export const recordMark = (latest: State | null, cursor: string): string | null => (latest && latest.keys[0] === cursor ? (latest.cursor[0] ?? null) : null);

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
  const { rowCount } = await wh.query(`SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'progress' AND NOT attisdropped`, [
    `${ws}.${STATE_TABLE}`,
  ]);
  if (!rowCount) await wh.query(`ALTER TABLE ${ws}.${STATE_TABLE} ADD COLUMN IF NOT EXISTS progress jsonb`);
}

export type StateRow = { keys: string[]; cursor_values: (string | null)[]; rows: string; completed: boolean; run_id: string; progress: RecordProgress | null };

export const stateOf = (r: StateRow | undefined): State | null =>
  r ? { keys: r.keys, cursor: r.cursor_values, rows: Number(r.rows), completed: r.completed, runId: r.run_id, records: r.progress } : null;

export async function readState(wh: Client, ws: string, table: string, runId: string): Promise<State | null> {
  const { rows } = await wh.query<StateRow>(
    `SELECT keys, cursor_values, rows, completed, run_id, progress FROM ${ws}.${STATE_TABLE} WHERE table_name = $1 AND run_id = $2`,
    [table, runId],
  );
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
