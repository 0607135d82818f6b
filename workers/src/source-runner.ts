import { JobRunner, type JobRunnerOptions } from './job-runner';

/** Whether two subject filters can match a common subject (`*` one token, `>` the rest). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '>' || q === '>') return p !== undefined && q !== undefined;
    if (p === undefined || q === undefined) return false;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return true;
}

/**
 * SOURCE_FILTER_SUBJECT when it is not set: the main filter with `source` as its job domain, so a
 * worker narrowed to one workspace (`jobs.connection.*.<id>`) stays narrowed for source jobs too
 * (`jobs.source.*.<id>`) and never takes, or collides with, another worker's; the default
 * `jobs.connection.>` gives `jobs.source.>`.
 */
export function sourceFilterFor(mainFilterSubject: string): string {
  const tokens = mainFilterSubject.split('.');
  if (tokens[0] !== 'jobs' || tokens.length < 2 || tokens[1] === '*' || tokens[1] === '>') return 'jobs.source.>';
  tokens[1] = 'source';
  return tokens.join('.');
}

/**
 * The source jobs (`source.discover`, and `source.sync` when it lands) on their own durable pull
 * consumer of JOBS (`<WORKER_DURABLE>-source`, SOURCE_FILTER_SUBJECT, default `jobs.source.>`), so
 * a long discovery or sync never holds up connection tests. JOBS is a work queue: consumer
 * filters must not overlap, so when WORKER_FILTER_SUBJECT already covers source jobs (e.g.
 * `jobs.*.*.<workspaceId>` for an isolated worker) the main consumer runs them and this one is not
 * started (returns null).
 */
export async function startSourceRunner(o: JobRunnerOptions & { mainFilterSubject: string }): Promise<JobRunner | null> {
  if (subjectsOverlap(o.mainFilterSubject, o.filterSubject)) return null;
  const runner = new JobRunner({ ...o, durable: `${o.durable}-source` });
  await runner.start();
  return runner;
}
