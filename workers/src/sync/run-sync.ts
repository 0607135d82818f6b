import type { SourceSyncJobV1 } from '@datalinx/contracts';
import { runSourceSync } from './postgres-sync';
import type { SyncOutcome, SyncReporter } from './outcome';
import { runMysqlSync } from './mysql-sync';
import { runReaderSync, type ReaderSyncOptions } from './reader-sync';

/**
 * A `source.sync` by its source's type: PostgreSQL (COPY out of the source), MySQL/MariaDB
 * (keyset reads), FILE and REST_API (the readers). What a `source.sync` job and each source of a
 * `pipeline.run` both call.
 */
export function runSync(job: SourceSyncJobV1, o: ReaderSyncOptions, report: SyncReporter): Promise<SyncOutcome> {
  const type = job.payload.config.type;
  return type === 'POSTGRES' ? runSourceSync(job, o, report) : type === 'MYSQL' ? runMysqlSync(job, o, report) : runReaderSync(job, o, report);
}
