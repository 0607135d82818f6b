import type { Client } from 'pg';
import { QuotaExceededError } from '@datalinx/common';
import { isExternalDestination, type SourceSyncJobV1 } from '@datalinx/contracts';

/**
 * The job as the sync applies it: an EXTERNAL destination is the customer's own database, so the
 * platform's storage quota (`limits.maxStorageBytes`) is not measured or enforced there; the row
 * limit stays.
 */
export function withDestinationLimits(job: SourceSyncJobV1): SourceSyncJobV1 {
  if (!isExternalDestination(job.payload.destination) || job.limits?.maxStorageBytes === undefined) return job;
  return { ...job, limits: { maxRows: job.limits.maxRows } };
}

/** Throws QuotaExceededError when `base` rows already loaded plus `rows` exceed the run's limit. */
export function rowGuard(maxRows: number | undefined, base: number) {
  return (rows: number) => {
    if (maxRows !== undefined && base + rows > maxRows) throw new QuotaExceededError('ROWS_PER_RUN', maxRows, base + rows);
  };
}

/** Bytes used by the warehouse schema's tables (pg_total_relation_size: heap, TOAST and indexes), as the session sees them. */
export async function schemaBytes(wh: Client, schema: string): Promise<number> {
  const { rows } = await wh.query<{ n: string }>(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')`,
    [schema],
  );
  return Number(rows[0].n);
}

/** Throws QuotaExceededError STORAGE_BYTES when the schema is larger than `maxBytes` (no limit: nothing measured). */
export async function checkStorage(wh: Client, schema: string, maxBytes: number | undefined): Promise<void> {
  if (maxBytes === undefined) return;
  const used = await schemaBytes(wh, schema);
  if (used > maxBytes) throw new QuotaExceededError('STORAGE_BYTES', maxBytes, used);
}

/** How often an incremental sync measures its schema: every this many batches, or after this many bytes copied. */
export const STORAGE_CHECK_BATCHES = 10;

export const STORAGE_CHECK_BYTES = 64 * 1024 * 1024;
