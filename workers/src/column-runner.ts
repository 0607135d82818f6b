import type { JobRunner, JobRunnerOptions } from './job-runner';
import { domainFilterFor, startDomainRunner } from './domain-runner';

/** COLUMN_FILTER_SUBJECT when it is not set (`jobs.connection.*.<ws>` gives `jobs.column.*.<ws>`). */
export const defaultColumnFilter = (mainFilterSubject: string): string => domainFilterFor(mainFilterSubject, 'column');

/**
 * The column jobs (`column.canonicalize`) on their own consumer (`<WORKER_DURABLE>-column`,
 * COLUMN_FILTER_SUBJECT). They run in the warehouse as the workspace role through
 * WAREHOUSE_ADMIN_URL, so only workers that have it start this consumer; not started when the
 * main filter already covers column jobs (see startDomainRunner).
 */
export function startColumnRunner(
  o: Omit<JobRunnerOptions, 'warehouseAdminUrl'> & { warehouseAdminUrl: string; mainFilterSubject: string },
): Promise<JobRunner | null> {
  return startDomainRunner('column', o);
}
