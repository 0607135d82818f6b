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
 * A job domain's consumer filter when its env variable is not set: the main filter with `domain`
 * as its job domain, so a worker narrowed to one workspace (`jobs.connection.*.<id>`) stays
 * narrowed for that domain too (`jobs.<domain>.*.<id>`) and never takes, or collides with,
 * another worker's; a main filter without a specific domain gives `jobs.<domain>.>`.
 */
export function domainFilterFor(mainFilterSubject: string, domain: string): string {
  const tokens = mainFilterSubject.split('.');
  if (tokens[0] !== 'jobs' || tokens.length < 2 || tokens[1] === '*' || tokens[1] === '>') return `jobs.${domain}.>`;
  tokens[1] = domain;
  return tokens.join('.');
}

/**
 * One job domain on its own durable pull consumer of JOBS (`<WORKER_DURABLE>-<domain>`), so its
 * long jobs never hold up the main consumer's. JOBS is a work queue: consumer filters must not
 * overlap, so when the main filter already covers this domain (e.g. `jobs.*.*.<workspaceId>` for
 * an isolated worker) the main consumer runs its jobs and this one is not started (null).
 */
export async function startDomainRunner(domain: string, o: JobRunnerOptions & { mainFilterSubject: string }): Promise<JobRunner | null> {
  if (subjectsOverlap(o.mainFilterSubject, o.filterSubject)) return null;
  const runner = new JobRunner({ ...o, durable: `${o.durable}-${domain}` });
  await runner.start();
  return runner;
}
