import { JobRunner, type JobRunnerOptions } from './job-runner';
import { subjectsOverlap } from './source-runner';

/**
 * The column consumer's filter when COLUMN_FILTER_SUBJECT is not set: the main filter with
 * `column` as the domain (`jobs.connection.>` → `jobs.column.>`, `jobs.connection.*.<ws>` →
 * `jobs.column.*.<ws>`), so a worker scoped to one workspace stays scoped; else `jobs.column.>`.
 */
export function defaultColumnFilter(mainFilterSubject: string): string {
  const t = mainFilterSubject.split('.');
  return t[0] === 'jobs' && t[1] === 'connection' ? ['jobs', 'column', ...t.slice(2)].join('.') : 'jobs.column.>';
}

/**
 * The column jobs (`column.canonicalize`) on their own durable pull consumer of JOBS
 * (`<WORKER_DURABLE>-column`, COLUMN_FILTER_SUBJECT). JOBS is a work queue, so its filter must not
 * overlap the other consumers' (`jobs.connection.>`, `jobs.warehouse.>`, `jobs.source.>`): when
 * the main filter already covers column jobs, this consumer is not started (returns null). The
 * jobs run in the warehouse as the workspace role through WAREHOUSE_ADMIN_URL, so only workers
 * that have it start this consumer.
 */
export async function startColumnRunner(o: Omit<JobRunnerOptions, 'warehouseAdminUrl'> & { warehouseAdminUrl: string; mainFilterSubject: string }): Promise<JobRunner | null> {
  if (subjectsOverlap(o.mainFilterSubject, o.filterSubject)) return null;
  const runner = new JobRunner({ ...o, durable: `${o.durable}-column` });
  await runner.start();
  return runner;
}
