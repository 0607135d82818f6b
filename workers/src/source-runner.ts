import type { JobRunner, JobRunnerOptions } from './job-runner';
import { domainFilterFor, startDomainRunner } from './domain-runner';

export { subjectsOverlap } from './domain-runner';

/** SOURCE_FILTER_SUBJECT when it is not set (`jobs.connection.>` gives `jobs.source.>`). */
export const sourceFilterFor = (mainFilterSubject: string): string => domainFilterFor(mainFilterSubject, 'source');

/**
 * The source jobs (`source.discover`, `source.sync`) on their own consumer (`<WORKER_DURABLE>-source`,
 * SOURCE_FILTER_SUBJECT), so a long discovery or sync never holds up connection tests; not started
 * when the main filter already covers source jobs (see startDomainRunner).
 */
export function startSourceRunner(o: JobRunnerOptions & { mainFilterSubject: string }): Promise<JobRunner | null> {
  return startDomainRunner('source', o);
}
