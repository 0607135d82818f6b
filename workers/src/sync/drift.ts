import type { Client } from 'pg';
import type { SourceSyncPayloadV1, SyncTableV1 } from '@datalinx/contracts';
import { SyncFailure, type SyncReporter } from './outcome';
import { META, qi } from './sql';

async function destinationColumns(wh: Client, schema: string, table: string): Promise<string[] | null> {
  const { rows } = await wh.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return rows.length ? rows.map((r) => r.name) : null;
}

/** What the drift policy decided for one table: BLOCK (`blocked`: the run fails), or the columns to load and the columns to add to an incremental table. */
export type DriftDecision<C> = { blocked: true; message: string } | { blocked: false; selected: C[]; add: C[]; message: string };

/**
 * Schema drift of a source table against its destination table's columns (`existing`, null: no
 * table yet), decided by the policy: BLOCK fails the run naming the new columns, IGNORE loads only
 * the destination's columns, PROPAGATE loads them all (an incremental sync adds them to the table;
 * a full refresh recreates it). Columns gone from the source are named (a refresh drops them, an
 * incremental sync leaves them NULL for new rows).
 */
export function decideDrift<C extends { name: string }>(
  existing: string[] | null,
  cols: C[],
  policy: SourceSyncPayloadV1['driftPolicy'],
  mode: SyncTableV1['mode'],
  dest: string,
  label: string,
): DriftDecision<C> {
  if (!existing) return { blocked: false, selected: cols, add: [], message: `no destination table yet: ${dest} created with ${cols.length} column(s)` };
  const names = new Set(cols.map((c) => c.name));
  const added = cols.filter((c) => !existing.includes(c.name));
  const removed = existing.filter((c) => !names.has(c) && !META.includes(c));
  const gone = removed.length
    ? `; column(s) no longer in the source: ${removed.join(', ')}${mode === 'FULL' ? ' (dropped by the refresh)' : ' (left NULL for new rows)'}`
    : '';
  const list = added.map((c) => c.name).join(', ');
  if (!added.length) return { blocked: false, selected: cols, add: [], message: `no new columns${gone}` };
  if (policy === 'BLOCK') {
    return {
      blocked: true,
      message: `new source column(s) ${list} in ${label}: the pipeline's schema drift policy is BLOCK, so nothing was loaded. Review the columns, then change the policy or the mapping.`,
    };
  }
  if (policy === 'IGNORE')
    return {
      blocked: false,
      selected: cols.filter((c) => existing.includes(c.name)),
      add: [],
      message: `new source column(s) ${list} ignored (policy IGNORE)${gone}`,
    };
  return {
    blocked: false,
    selected: cols,
    add: mode === 'INCREMENTAL' ? added : [],
    message: `new source column(s) ${list} propagated (policy PROPAGATE)${gone}`,
  };
}

/**
 * Applies `decideDrift` to a table of the warehouse, reported as the step `<label>: schema drift`
 * (BLOCK: FAILURE and SyncFailure SCHEMA_DRIFT). Returns the columns to load and whether the
 * destination table exists.
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
  const existing = await destinationColumns(wh, p.destination.schema, dest);
  const d = decideDrift(existing, cols, p.driftPolicy, mode, dest, label);
  if (d.blocked) {
    await report.step(`${label}: schema drift`, 'FAILURE', d.message, Date.now() - s0);
    throw new SyncFailure('SCHEMA_DRIFT', d.message);
  }
  for (const a of d.add) await wh.query(`ALTER TABLE ${ws}.${qi(dest)} ADD COLUMN ${qi(a.name)} ${a.type}`);
  await report.step(`${label}: schema drift`, 'SUCCESS', d.message, Date.now() - s0);
  return { selected: d.selected, exists: existing !== null };
}
