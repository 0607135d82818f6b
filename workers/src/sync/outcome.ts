import { QuotaExceededError } from '@datalinx/common';
import type { ConnectionSecrets } from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import { ConnectionFailure, isPermanentConnectCode } from '../connectors/failures';
import type { StepResult } from '../connectors/steps';
import type { WarehouseAccess } from './warehouse-connection';

/*
 * What every sync (PostgreSQL, MySQL, the readers) reports and how it ends: the reporter, the
 * outcome, the failures that end a run with a code, and the progress ticker.
 */

/** What the sync reports on RUNS (RunReporter; the benchmark passes a silent one). */
export interface SyncReporter {
  step(step: string, status: 'SUCCESS' | 'FAILURE' | 'SKIPPED', message: string, durationMs: number): Promise<void>;
  progress(step: string, p: { rows: number; bytes: number; totalRows?: number }): Promise<void>;
}

export interface SyncOutcome {
  ok: boolean;
  summary: string;
  error?: { code: string; message: string };
  rows: number;
}

export interface SyncOptions extends WarehouseAccess {
  /** The source connection's secrets (opened by the job runner). */
  secrets: ConnectionSecrets;
  /** Test knob (SYNC_BATCH_DELAY_MS): pause after every committed incremental batch. */
  batchDelayMs?: number;
  /** Minimum interval between progress events of a table (default 1000 ms). */
  progressIntervalMs?: number;
}

/** A failure that ends the run (reported FAILURE with this code), not retried. */
export class SyncFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const isTransient = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return !code || /^(08|57P0|53|40001|40P01|ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)/.test(code);
};

/**
 * A connection that failed (a source's, an external warehouse's) as the run reports it: the code
 * and message connection.test gives for the same cause (../connectors/failures.ts). A failure a
 * retry cannot fix (a refused destination, an unknown host, a wrong password, TLS…) ends the run
 * (SyncFailure); any other (nothing listening, no answer, DNS not answering) is a
 * ConnectionFailure, retried by the runner, whose last attempt reports the same code.
 */
export function connectFailure(why: StepResult, message = why.message): SyncFailure | ConnectionFailure {
  const code = why.code ?? 'CONNECTION_FAILED';
  const transient = 'transient' in why ? Boolean(why.transient) : !isPermanentConnectCode(code);
  return transient ? new ConnectionFailure(code, message, true) : new SyncFailure(code, message);
}

/** Progress events of one table, at most one per `every` ms unless forced. */
export function progressTicker(report: SyncReporter, label: string, totalRows: number | undefined, every = 1000) {
  let last = 0;
  return (rows: number, bytes: number, force = false) => {
    const now = Date.now();
    if (!force && now - last < every) return;
    last = now;
    void report.progress(label, { rows, bytes, totalRows }).catch(() => undefined);
  };
}

/**
 * The run's outcome for an error that ended a sync (the failing step reported first): quota and
 * sync failures and other permanent errors become a FAILURE with a code; permanent job errors and
 * transient errors (connections) are rethrown for the runner.
 */
export async function syncErrorOutcome(err: unknown, current: string, t0: number, runRows: number, report: SyncReporter): Promise<SyncOutcome> {
  if (err instanceof PermanentJobError || err instanceof ConnectionFailure) throw err;
  if (err instanceof QuotaExceededError) {
    const storage = err.quota === 'STORAGE_BYTES';
    await report.step(`${current}: ${storage ? 'storage quota' : 'loaded'}`, 'FAILURE', err.message, Date.now() - t0).catch(() => undefined);
    return {
      ok: false,
      rows: runRows,
      summary: storage ? 'storage quota exceeded' : 'row limit reached',
      error: { code: 'QUOTA_EXCEEDED', message: err.message },
    };
  }
  if (err instanceof SyncFailure) {
    if (err.code !== 'SCHEMA_DRIFT') await report.step(`${current}: loaded`, 'FAILURE', err.message, Date.now() - t0).catch(() => undefined);
    return { ok: false, rows: runRows, summary: `sync of ${current} failed`, error: { code: err.code, message: err.message } };
  }
  if (isTransient(err)) throw err;
  const e = err as Error & { code: string };
  await report.step(`${current}: loaded`, 'FAILURE', e.message, Date.now() - t0).catch(() => undefined);
  return { ok: false, rows: runRows, summary: `sync of ${current} failed`, error: { code: `PG_${e.code}`, message: e.message } };
}
