import type { RowEstimateSource } from '@datalinx/contracts';

/** A table's row count as discovery reports it: the number, how it was obtained, and a sentence on it. */
export interface RowEstimate {
  rowEstimate: number | null;
  rowEstimateSource: RowEstimateSource;
  rowEstimateNote: string | null;
}

/**
 * What a catalog knows before counting: an estimate, or that the table may be counted exactly
 * (`count`: its size on disk, why it is counted, and what the estimate lacks if the count fails).
 */
export type EstimatePlan = { estimate: RowEstimate } | { count: { bytes: number; why: string; lacking: string } };

const NEVER_ANALYZED = 'Never analyzed (no statistics)';

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
  // 0 rows by the statistics but pages on disk: statistics from before the rows came (or, before
  // PostgreSQL 14, no statistics at all): counted when small, else kept with a warning.
  if (r.reltuples === 0 && r.bytes !== null && r.bytes > 0) {
    if (maxBytes > 0 && r.bytes <= maxBytes) {
      return {
        count: {
          bytes: r.bytes,
          why: 'statistics say 0 rows but it has pages on disk, and it is small enough to count',
          lacking: 'Statistics say 0 rows but it has pages on disk',
        },
      };
    }
    return {
      estimate: {
        rowEstimate: 0,
        rowEstimateSource: 'STATISTICS',
        rowEstimateNote: `PostgreSQL's statistics say 0 rows, but the table has ${formatBytes(r.bytes)} on disk: they are probably stale. Run ANALYZE on it.`,
      },
    };
  }
  if (r.reltuples >= 0) {
    return {
      estimate: {
        rowEstimate: Math.round(r.reltuples),
        rowEstimateSource: 'STATISTICS',
        rowEstimateNote: "PostgreSQL's statistics (reltuples, from the last ANALYZE or VACUUM).",
      },
    };
  }
  if (r.relkind === 'f')
    return {
      estimate: unknownEstimate(
        'A foreign table that was never analyzed: its rows are on another server, so discovery does not count them. Run ANALYZE on it for an estimate.',
      ),
    };
  if (r.bytes === null) return { estimate: unknownEstimate('Never analyzed, and its size on disk is unknown. Run ANALYZE on it for an estimate.') };
  if (maxBytes <= 0)
    return { estimate: unknownEstimate(`${NEVER_ANALYZED}, and exact counting is off for this discovery. Run ANALYZE on it for an estimate.`) };
  if (r.bytes > maxBytes) {
    return {
      estimate: unknownEstimate(
        `${NEVER_ANALYZED}, and ${formatBytes(r.bytes)} on disk is more than the ${formatBytes(maxBytes)} discovery counts exactly. Run ANALYZE on it for an estimate.`,
      ),
    };
  }
  return { count: { bytes: r.bytes, why: 'never analyzed, and small enough to count', lacking: NEVER_ANALYZED } };
}

/**
 * MySQL / MariaDB: TABLE_ROWS is exact for MyISAM but only a sampled (and cached) estimate for
 * InnoDB, so a table whose data is at most `maxBytes` is counted exactly; a bigger one keeps
 * TABLE_ROWS as its estimate. Views are never counted.
 */
export function planMysqlEstimate(r: { view: boolean; tableRows: number | null; dataBytes: number | null }, maxBytes: number): EstimatePlan {
  if (r.view) return { estimate: unknownEstimate('A view: discovery does not run its query to count its rows.') };
  if (maxBytes > 0 && r.dataBytes !== null && r.dataBytes <= maxBytes) {
    return { count: { bytes: r.dataBytes, why: 'small enough to count; TABLE_ROWS is only an estimate', lacking: 'TABLE_ROWS is only an estimate' } };
  }
  if (r.tableRows !== null)
    return {
      estimate: {
        rowEstimate: r.tableRows,
        rowEstimateSource: 'STATISTICS',
        rowEstimateNote: 'information_schema.TABLES.TABLE_ROWS (an estimate for InnoDB tables).',
      },
    };
  return { estimate: unknownEstimate('The server reports no row count for this table.') };
}

/** The estimate of a table counted exactly with `count(*)`, as its plan said why. */
export const exactCount = (rows: number, plan: { bytes: number; why: string }): RowEstimate => ({
  rowEstimate: rows,
  rowEstimateSource: 'EXACT_COUNT',
  rowEstimateNote: `Counted exactly (${plan.why}; ${formatBytes(plan.bytes)} on disk).`,
});

/** A count that did not finish within its statement timeout, or failed. */
export const countTimedOut = (timeoutMs: number, plan: { lacking: string }): RowEstimate =>
  unknownEstimate(`${plan.lacking}, and counting its rows took longer than ${timeoutMs} ms, so it was stopped.`);
export const countFailed = (plan: { lacking: string }, err: Error): RowEstimate =>
  unknownEstimate(`${plan.lacking}, and counting its rows failed: ${err.message.slice(0, 200)}`);

/** The count plan of a table the catalog said to count. */
export const countPlanOf = (t: { estimate: EstimatePlan }) => ('count' in t.estimate ? t.estimate.count : { bytes: 0, why: 'counted', lacking: 'No estimate' });
