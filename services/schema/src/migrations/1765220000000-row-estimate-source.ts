import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: a table's `row_estimate` alone cannot tell a planner's estimate from an exact count, nor
 * say why there is none (a never-analyzed PostgreSQL table used to show null with no reason).
 * Discovery now reports how it got the number; a snapshot keeps it per table.
 *
 * - `row_estimate_source`: STATISTICS | EXACT_COUNT | FILE_READ | UNKNOWN (the contract's
 *   `rowEstimateSource`). Rows of earlier snapshots get STATISTICS when they have a number and
 *   UNKNOWN otherwise, with a note saying they predate the distinction.
 * - The column defaults to UNKNOWN (a writer that says nothing claims nothing).
 * - `row_estimate_note`: the worker's sentence on how the number was obtained or why there is none.
 * - Reversible: down drops both columns (the estimates themselves stay).
 */
export class RowEstimateSource1765220000000 implements MigrationInterface {
  name = 'RowEstimateSource1765220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE schema.source_table
      ADD COLUMN row_estimate_source text NOT NULL DEFAULT 'UNKNOWN' CHECK (row_estimate_source IN ('STATISTICS','EXACT_COUNT','FILE_READ','UNKNOWN')),
      ADD COLUMN row_estimate_note text CHECK (length(row_estimate_note) <= 500)`);
    // Every org's rows: the table's FORCEd row-level security binds its owner too, so it is lifted
    // for this one statement, inside the migration's transaction.
    await q.query(`ALTER TABLE schema.source_table NO FORCE ROW LEVEL SECURITY`);
    await q.query(`UPDATE schema.source_table SET
      row_estimate_source = CASE WHEN row_estimate IS NULL THEN 'UNKNOWN' ELSE 'STATISTICS' END,
      row_estimate_note = 'Discovered before discovery said how it obtained row estimates.'`);
    await q.query(`ALTER TABLE schema.source_table FORCE ROW LEVEL SECURITY`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE schema.source_table DROP COLUMN row_estimate_note, DROP COLUMN row_estimate_source`);
  }
}
