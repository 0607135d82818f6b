import { JobRunner, type JobRunnerOptions } from './job-runner';

/**
 * The warehouse jobs (`warehouse.provision`, `warehouse.purge`) on a second durable pull consumer
 * of JOBS. JOBS is a work queue, so consumers' filter subjects must not overlap: the connection
 * consumer takes `jobs.connection.>` (WORKER_FILTER_SUBJECT), this one `jobs.warehouse.>`
 * (WAREHOUSE_FILTER_SUBJECT). Its own consumer also means a slow provision never holds up
 * connection tests, and only workers that have WAREHOUSE_ADMIN_URL take warehouse jobs: a worker
 * without it leaves them queued for one that has it.
 */
export async function startWarehouseRunner(o: Omit<JobRunnerOptions, 'warehouseAdminUrl'> & { warehouseAdminUrl: string }): Promise<JobRunner> {
  const runner = new JobRunner({ ...o, durable: `${o.durable}-warehouse` });
  await runner.start();
  return runner;
}
