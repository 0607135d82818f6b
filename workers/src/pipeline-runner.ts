import type { JobRunner, JobRunnerOptions } from './job-runner';
import { domainFilterFor, startDomainRunner } from './domain-runner';

/** PIPELINE_FILTER_SUBJECT when it is not set (`jobs.connection.*.<ws>` gives `jobs.pipeline.*.<ws>`). */
export const defaultPipelineFilter = (mainFilterSubject: string): string => domainFilterFor(mainFilterSubject, 'pipeline');

/**
 * The pipeline jobs (`pipeline.run`) on their own consumer (`<WORKER_DURABLE>-pipeline`,
 * PIPELINE_FILTER_SUBJECT), so a run loading several sources never holds up connection tests or
 * source jobs. With DAGSTER_URL a job launches and follows a Dagster run (./jobs/pipeline-run.ts
 * runPipelineInDagster), whose steps load and build; without it the load runs in this process. A run loads into the warehouse as the workspace role through WAREHOUSE_ADMIN_URL,
 * so only workers that have it start this consumer; not started when the main filter already
 * covers pipeline jobs (see startDomainRunner).
 */
export function startPipelineRunner(
  o: Omit<JobRunnerOptions, 'warehouseAdminUrl'> & { warehouseAdminUrl: string; mainFilterSubject: string },
): Promise<JobRunner | null> {
  return startDomainRunner('pipeline', o);
}
