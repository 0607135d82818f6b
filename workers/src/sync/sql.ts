import { escapeIdentifier, escapeLiteral } from 'pg';
import { SyncFailure } from './outcome';

/*
 * The worker's PostgreSQL SQL text: quoting (pg's escapeIdentifier / escapeLiteral, the one place
 * identifiers and literals are quoted), the destination names, and the statements of a sync built
 * from names and values (pure: no session).
 */

/** Quotes an identifier (names from the job or the catalog are arbitrary text: quoting makes them inert). */
export function qi(name: string): string {
  if (name.includes('\0')) throw new SyncFailure('INVALID_IDENTIFIER', 'an identifier contains a NUL character');
  return escapeIdentifier(name);
}

/** A string literal (an `E'…'` literal when the value has a backslash, so it reads the same whatever standard_conforming_strings is). */
export function lit(v: string): string {
  if (v.includes('\0')) throw new SyncFailure('INVALID_VALUE', 'a value contains a NUL character');
  return escapeLiteral(v).trimStart();
}

/** The undoing of `qi`. */
export const unquote = (quoted: string) => quoted.slice(1, -1).replace(/""/g, '"');

/** The columns a sync adds to every destination table: the run that wrote the row, and when. */
export const META = ['_dlx_run_id', '_dlx_synced_at'];

/** The raw table a source table loads into (shared with the dbt project generated from mappings). */
export { destinationTableName } from '@datalinx/contracts';

/** A FULL refresh's staging table: the source's columns, the ones its COPY fills. */
export function stagingTableDdl(staging: string, columns: { name: string; type: string }[]): string {
  return `CREATE TABLE ${staging} (${columns.map((c) => `${qi(c.name)} ${c.type}`).join(', ')})`;
}

/**
 * The run columns of a loaded staging table: added after the COPY with constant defaults, which
 * PostgreSQL records once in the catalog (every row reads them) instead of writing them into each
 * row, so the COPY carries and stores only the source's values. The defaults are dropped before
 * the swap; the rows keep their values.
 */
export function runColumnsDdl(staging: string, runId: string, syncedAt: string): string {
  return `ALTER TABLE ${staging} ADD COLUMN _dlx_run_id uuid NOT NULL DEFAULT ${lit(runId)}, ADD COLUMN _dlx_synced_at timestamptz NOT NULL DEFAULT ${lit(syncedAt)}`;
}

/**
 * The keyset filter of an incremental batch: rows whose cursor (`keys[0]`) is not NULL and whose
 * (keys) come after `position` (null: from the start), each value cast to its column's type.
 */
export function keysetAfter(keys: string[], position: (string | null)[] | null, typeOf: (column: string) => string): string {
  const notNull = `${qi(keys[0])} IS NOT NULL`;
  if (!position) return notNull;
  return `${notNull} AND (${keys.map(qi).join(', ')}) > (${position.map((v, i) => `${lit(v!)}::${typeOf(keys[i])}`).join(', ')})`;
}

/** The parts of an incremental upsert into `table` (aliased `t`) from a batch table: the run id and sync time are constants. */
export interface Upsert {
  into: string;
  values: (syncedAt: string) => string;
  onConflict: string;
}

export function upsertInto(table: string, columns: string[], pk: string[], runId: string): Upsert {
  const colList = columns.map(qi);
  return {
    into: `INSERT INTO ${table} AS t (${[...colList, ...META].join(', ')})`,
    values: (syncedAt) => `${colList.join(', ')}, ${lit(runId)}::uuid, ${lit(syncedAt)}::timestamptz`,
    onConflict: `ON CONFLICT (${pk.map(qi).join(', ')}) DO UPDATE SET ${[...columns.filter((c) => !pk.includes(c)).map(qi), ...META].map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  };
}

/**
 * Which records of a record-stream batch are picked up: a cursor and every key column not NULL,
 * and the cursor above `since` (compared as `cursorType`; null: any). The quoted cursor, and the
 * conditions apart for the counts of what was not picked up.
 */
export function recordFilter(
  cursor: string,
  pk: string[],
  since: string | null,
  cursorType: string,
): { c: string; keyed: string; above: string; picked: string } {
  const c = qi(cursor);
  const keyed = pk.map((k) => `${qi(k)} IS NOT NULL`).join(' AND ');
  const above = since === null ? 'true' : `${c} > ${lit(since)}::${cursorType}`;
  return { c, keyed, above, picked: `${c} IS NOT NULL AND ${keyed} AND ${above}` };
}
