import { formatBytes, planMysqlEstimate, planPostgresEstimate } from '../src/discovery/row-estimate';
import { scopeMatchesNothing } from '../src/discovery/profile';

/**
 * How discovery decides a table's row estimate before reading anything (the e2e tests in
 * discovery.e2e.test.ts run the counts themselves): statistics when the source has them, an
 * exact count for a small table without, UNKNOWN with the reason otherwise.
 */
describe('row estimate plans', () => {
  const MB = 1024 * 1024;

  it.each([
    ['analyzed table', { relkind: 'r', reltuples: 1234.4, bytes: 10 * MB }, { estimate: { rowEstimate: 1234, rowEstimateSource: 'STATISTICS' } }],
    ['analyzed empty table', { relkind: 'r', reltuples: 0, bytes: 0 }, { estimate: { rowEstimate: 0, rowEstimateSource: 'STATISTICS' } }],
    ['never analyzed, small', { relkind: 'r', reltuples: -1, bytes: 8192 }, { count: { bytes: 8192 } }],
    ['never analyzed, exactly at the bound', { relkind: 'r', reltuples: -1, bytes: 64 * MB }, { count: { bytes: 64 * MB } }],
    ['never analyzed partitioned table, small', { relkind: 'p', reltuples: -1, bytes: 3 * 8192 }, { count: { bytes: 3 * 8192 } }],
    ['never analyzed materialized view, small', { relkind: 'm', reltuples: -1, bytes: 8192 }, { count: { bytes: 8192 } }],
  ])('PostgreSQL: %s', (_what, row, want) => {
    expect(planPostgresEstimate(row, 64 * MB)).toMatchObject(want);
  });

  it('PostgreSQL: a never-analyzed table over the bound is UNKNOWN, saying its size, the bound and what to do', () => {
    const plan = planPostgresEstimate({ relkind: 'r', reltuples: -1, bytes: 1288 * MB }, 64 * MB);
    expect(plan).toEqual({
      estimate: {
        rowEstimate: null,
        rowEstimateSource: 'UNKNOWN',
        rowEstimateNote:
          'Never analyzed (no statistics), and 1.3 GB on disk is more than the 64 MB discovery counts exactly. Run ANALYZE on it for an estimate.',
      },
    });
  });

  it('PostgreSQL: statistics of 0 rows for a table with pages on disk are stale: counted when small, else kept with a warning', () => {
    expect(planPostgresEstimate({ relkind: 'r', reltuples: 0, bytes: 8192 }, 64 * MB)).toEqual({
      count: {
        bytes: 8192,
        why: 'statistics say 0 rows but it has pages on disk, and it is small enough to count',
        lacking: 'Statistics say 0 rows but it has pages on disk',
      },
    });
    expect(planPostgresEstimate({ relkind: 'r', reltuples: 0, bytes: 100 * MB }, 64 * MB)).toEqual({
      estimate: {
        rowEstimate: 0,
        rowEstimateSource: 'STATISTICS',
        rowEstimateNote: "PostgreSQL's statistics say 0 rows, but the table has 100 MB on disk: they are probably stale. Run ANALYZE on it.",
      },
    });
  });

  it('PostgreSQL: views, foreign tables and a bound of 0 are never counted', () => {
    expect(planPostgresEstimate({ relkind: 'v', reltuples: -1, bytes: null }, 64 * MB)).toMatchObject({
      estimate: { rowEstimateSource: 'UNKNOWN', rowEstimateNote: expect.stringMatching(/^A view/) },
    });
    expect(planPostgresEstimate({ relkind: 'f', reltuples: -1, bytes: null }, 64 * MB)).toMatchObject({
      estimate: { rowEstimateSource: 'UNKNOWN', rowEstimateNote: expect.stringMatching(/^A foreign table/) },
    });
    expect(planPostgresEstimate({ relkind: 'f', reltuples: 10, bytes: null }, 64 * MB)).toMatchObject({
      estimate: { rowEstimate: 10, rowEstimateSource: 'STATISTICS' },
    });
    expect(planPostgresEstimate({ relkind: 'r', reltuples: -1, bytes: 8192 }, 0)).toMatchObject({
      estimate: { rowEstimateSource: 'UNKNOWN', rowEstimateNote: expect.stringMatching(/exact counting is off/) },
    });
  });

  it('MySQL: a small table is counted (TABLE_ROWS is an InnoDB estimate), a big one keeps TABLE_ROWS, a view is UNKNOWN', () => {
    expect(planMysqlEstimate({ view: false, tableRows: 0, dataBytes: 16384 }, 64 * MB)).toEqual({
      count: { bytes: 16384, why: 'small enough to count; TABLE_ROWS is only an estimate', lacking: 'TABLE_ROWS is only an estimate' },
    });
    expect(planMysqlEstimate({ view: false, tableRows: 5_000_000, dataBytes: 900 * MB }, 64 * MB)).toMatchObject({
      estimate: { rowEstimate: 5_000_000, rowEstimateSource: 'STATISTICS' },
    });
    expect(planMysqlEstimate({ view: false, tableRows: null, dataBytes: null }, 64 * MB)).toMatchObject({
      estimate: { rowEstimate: null, rowEstimateSource: 'UNKNOWN' },
    });
    expect(planMysqlEstimate({ view: true, tableRows: null, dataBytes: null }, 64 * MB)).toMatchObject({
      estimate: { rowEstimateSource: 'UNKNOWN', rowEstimateNote: expect.stringMatching(/^A view/) },
    });
  });

  it('sizes print as pg_size_pretty does', () => {
    expect([0, 1023, 1024, 8192, 1536 * 1024, 64 * MB, 1288 * MB].map(formatBytes)).toEqual([
      '0 bytes',
      '1023 bytes',
      '1 kB',
      '8 kB',
      '1.5 MB',
      '64 MB',
      '1.3 GB',
    ]);
  });
});

describe('a discovery scope that matches nothing', () => {
  const readable = ['customer', 'invoice', 'refund', 'audit_log', 'order_line', 'payment'].map((name) => ({ schema: 'public', name }));

  it('is no error without a scope, or when something matched', () => {
    expect(scopeMatchesNothing({}, readable, 0)).toBeNull();
    expect(scopeMatchesNothing({ tables: [], patterns: [] }, readable, 0)).toBeNull();
    expect(scopeMatchesNothing({ tables: ['public.customer'] }, readable, 1)).toBeNull();
  });

  it('names the scope, a few tables the connection can read, and the naming rules', () => {
    expect(scopeMatchesNothing({ tables: ['public.Customer'], patterns: ['inv*x'] }, readable, 0)).toBe(
      'The discovery scope (tables "public.Customer" and patterns "inv*x") matches none of the tables this connection can read: it can read 6 tables, e.g. ' +
        '"public.customer", "public.invoice", "public.refund", "public.audit_log", "public.order_line" and 1 more. Names are schema.table (or a bare table name, in any schema), ' +
        'matched case-sensitively; patterns use * and ?. Nothing was recorded: the latest snapshot stays as it was. Fix the scope, or discover without one.',
    );
    expect(scopeMatchesNothing({ patterns: ['x*'] }, [], 0)).toMatch(/it can read no table at all \(check the user's privileges/);
  });
});
