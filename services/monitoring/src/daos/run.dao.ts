import { In, type DataSource, type EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import type { RunState } from '@datalinx/contracts';
import { Run } from '../entities/run.entity';

export interface Page {
  first: number;
  after?: { createdAt: Date; id: string };
}

export interface RunFilter {
  kind?: string;
  state?: RunState;
}

/** What a run row is created with when its first event arrives (state comes from run.state only). */
export interface NewRun {
  id: string;
  workspaceId: string;
  jobId: string;
  kind: string;
  subjectId: string;
  createdAt: Date;
}

export type RunPatch = Partial<
  Pick<Run, 'state' | 'attempts' | 'errorCode' | 'errorMessage' | 'summary' | 'createdAt' | 'startedAt' | 'finishedAt' | 'dagsterRunId' | 'dagsterRunUrl'>
>;

/**
 * Run rows; every method takes the tenant (org) id first. Built on a DataSource (plain reads:
 * each call is its own `withTenant` transaction) or on the EntityManager of a transaction the
 * caller opened with `withTenant` for that org (the consumer's), see `inTenant`.
 */
export class RunDao {
  constructor(private readonly db: DataSource | EntityManager) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Run[]> {
    return ids.length ? inTenant(this.db, orgId, (em) => em.getRepository(Run).findBy({ orgId, id: In([...ids]) })) : Promise.resolve([]);
  }

  /** Keyset page, newest first; fetches one extra row to know whether there is a next page. */
  listByWorkspace(orgId: string, workspaceId: string, page: Page, filter: RunFilter = {}): Promise<Run[]> {
    return inTenant(this.db, orgId, (em) => {
      const qb = em
        .getRepository(Run)
        .createQueryBuilder('r')
        .where('r.orgId = :orgId', { orgId })
        .andWhere('r.workspaceId = :workspaceId', { workspaceId })
        .orderBy('r.createdAt', 'DESC')
        .addOrderBy('r.id', 'DESC')
        .limit(page.first + 1);
      if (filter.kind) qb.andWhere('r.kind = :kind', { kind: filter.kind });
      if (filter.state) qb.andWhere('r.state = :state', { state: filter.state });
      if (page.after) qb.andWhere('(r.createdAt, r.id) < (:at, :id)', { at: page.after.createdAt, id: page.after.id });
      return qb.getMany();
    });
  }

  /**
   * Creates the run as QUEUED with no attempt seen yet, unless a row with this id exists (any
   * tenant: the primary key sees past row-level security, and the caller's `lockById` then
   * finds no run of its org).
   */
  async insertIfMissing(orgId: string, r: NewRun): Promise<void> {
    await inTenant(this.db, orgId, (em) =>
      em.query(
        `INSERT INTO monitoring.run (id, org_id, workspace_id, job_id, kind, subject_id, state, attempts, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'QUEUED', 0, $7, now())
         ON CONFLICT (id) DO NOTHING`,
        [r.id, orgId, r.workspaceId, r.jobId, r.kind, r.subjectId, r.createdAt],
      ),
    );
  }

  /** The run, locked until the surrounding transaction ends (serializes the events of one run). */
  lockById(orgId: string, id: string): Promise<Run | null> {
    return inTenant(this.db, orgId, (em) =>
      em.getRepository(Run).createQueryBuilder('r').setLock('pessimistic_write').where('r.orgId = :orgId AND r.id = :id', { orgId, id }).getOne(),
    );
  }

  async update(orgId: string, id: string, patch: RunPatch): Promise<void> {
    await inTenant(this.db, orgId, (em) => em.getRepository(Run).update({ orgId, id }, { ...patch, updatedAt: () => 'now()' }));
  }
}
