import type { Client } from 'pg';
import { checkStorage } from './quota';
import { qi, runColumnsDdl, stagingTableDdl, unquote } from './sql';
import { writeState } from './checkpoint';

/**
 * A FULL refresh of `dest`: one warehouse transaction creates `<dest>__dlx_staging` with the
 * columns, lets `load` stream COPY text rows into it (it gets the `COPY … FROM STDIN` statement and
 * returns the rows loaded), adds `_dlx_run_id` and `_dlx_synced_at` (constant defaults, kept in the
 * catalog rather than written into every row, then dropped), drops the old table, renames the
 * staging table and records the run as completed in `_dlx_sync_state`. Readers see the old rows or
 * the new ones; on any error (thrown by `load` included) the transaction is rolled back and the old
 * table stays. With `maxStorageBytes`, the schema's size after the swap is measured before the
 * commit: over the quota, QUOTA_EXCEEDED STORAGE_BYTES and nothing is swapped in (the staging table
 * is rolled back).
 */
export async function swapFullRefresh(
  wh: Client,
  ws: string,
  dest: string,
  runId: string,
  columns: { name: string; type: string }[],
  load: (copyFromStdin: string) => Promise<number>,
  maxStorageBytes?: number,
): Promise<number> {
  const table = `${ws}.${qi(dest)}`;
  const staging = `${ws}.${qi(`${dest}__dlx_staging`)}`;
  const syncedAt = new Date().toISOString();
  await wh.query('BEGIN');
  try {
    await wh.query(`DROP TABLE IF EXISTS ${staging}`);
    await wh.query(stagingTableDdl(staging, columns));
    const rows = await load(`COPY ${staging} (${columns.map((c) => qi(c.name)).join(', ')}) FROM STDIN`);
    await wh.query(runColumnsDdl(staging, runId, syncedAt));
    await wh.query(`ALTER TABLE ${staging} ALTER COLUMN _dlx_run_id DROP DEFAULT, ALTER COLUMN _dlx_synced_at DROP DEFAULT`);
    // The swap: readers of the table wait for this commit and then see the new rows.
    await wh.query(`DROP TABLE IF EXISTS ${table}`);
    await wh.query(`ALTER TABLE ${staging} RENAME TO ${qi(dest)}`);
    // The schema as it will be after the commit (the old table is gone, the new one in): over the quota, nothing is swapped in.
    await checkStorage(wh, unquote(ws), maxStorageBytes);
    await writeState(wh, ws, dest, runId, { cursor: [], keys: [], rows, completed: true });
    await wh.query('COMMIT');
    return rows;
  } catch (err) {
    await wh.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
