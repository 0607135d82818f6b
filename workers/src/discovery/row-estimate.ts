import type { RowEstimateSource } from '@datalinx/contracts';

/** A table's row count as discovery reports it: the number, how it was obtained, and a sentence on it. */
export interface RowEstimate {
  rowEstimate: number | null;
  rowEstimateSource: RowEstimateSource;
  rowEstimateNote: string | null;
}

/** What a catalog knows before counting: an estimate, or that the table may be counted exactly (`count`). */
export type EstimatePlan = { estimate: RowEstimate } | { count: { bytes: number } };

export const unknownEstimate = (note: string): RowEstimate => ({ rowEstimate: null, rowEstimateSource: 'UNKNOWN', rowEstimateNote: note });

/** `1536` → `1.5 kB`, in powers of 1024 as PostgreSQL's pg_size_pretty prints them. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`;
}

/**
 * PostgreSQL: where a relation's row estimate comes from. `reltuples` is the planner's estimate
 * from the last ANALYZE or VACUUM (-1: never analyzed, PostgreSQL 14+). Without it, a relation
 * whose size on disk (`bytes`: the main fork, every leaf partition of a partitioned table) is at
 * most `maxBytes` is counted exactly; a bigger one is never fully scanned by discovery. Views are
 * never counted (that would run their query), nor foreign tables (their rows are on another server).
 */
export function planPostgresEstimate(r: { relkind: string; reltuples: number; bytes: number | null }, maxBytes: number): EstimatePlan {
  if (r.relkind === 'v') return { estimate: unknownEstimate('A view: discovery does not run its query to count its rows.') };
  if (r.reltuples >= 0) {
    return { estimate: { rowEstimate: Math.round(r.reltuples), rowEstimateSource: 'STATISTICS', rowEstimateNote: "PostgreSQL's statistics (reltuples, from the last ANALYZE or VACUUM)." } };
  }
  if (r.relkind === 'f') return { estimate: unknownEstimate('A foreign table that was never analyzed: its rows are on another server, so discovery does not count them. Run ANALYZE on it for an estimate.') };
  if (r.bytes === null) return { estimate: unknownEstimate('Never analyzed, and its size on disk is unknown. Run ANALYZE on it for an estimate.') };
  if (maxBytes <= 0) return { estimate: unknownEstimate('Never analyzed (no statistics), and exact counting is off for this discovery. Run ANALYZE on it for an estimate.') };
  if (r.bytes > maxBytes) {
    return {
      estimate: unknownEstimate(`Never analyzed (no statistics), and ${formatBytes(r.bytes)} on disk is more than the ${formatBytes(maxBytes)} discovery counts exactly. Run ANALYZE on it for an estimate.`),
    };
  }
  return { count: { bytes: r.bytes } };
}

/**
 * MySQL / MariaDB: TABLE_ROWS is exact for MyISAM but only a sampled (and cached) estimate for
 * InnoDB, so a table whose data is at most `maxBytes` is counted exactly; a bigger one keeps
 * TABLE_ROWS as its estimate. Views are never counted.
 */
export function planMysqlEstimate(r: { view: boolean; tableRows: number | null; dataBytes: number | null }, maxBytes: number): EstimatePlan {
  if (r.view) return { estimate: unknownEstimate('A view: discovery does not run its query to count its rows.') };
  if (maxBytes > 0 && r.dataBytes !== null && r.dataBytes <= maxBytes) return { count: { bytes: r.dataBytes } };
  if (r.tableRows !== null) return { estimate: { rowEstimate: r.tableRows, rowEstimateSource: 'STATISTICS', rowEstimateNote: 'information_schema.TABLES.TABLE_ROWS (an estimate for InnoDB tables).' } };
  return { estimate: unknownEstimate('The server reports no row count for this table.') };
}

/** The estimate of a table counted exactly with `count(*)`. */
export const exactCount = (rows: number, bytes: number, why: string): RowEstimate => ({
  rowEstimate: rows,
  rowEstimateSource: 'EXACT_COUNT',
  rowEstimateNote: `Counted exactly (${why}; ${formatBytes(bytes)} on disk).`,
});

/** A count that did not finish within its statement timeout. */
export const countTimedOut = (timeoutMs: number, why: string): RowEstimate => unknownEstimate(`${why}, and counting its rows took longer than ${timeoutMs} ms, so it was stopped.`);
