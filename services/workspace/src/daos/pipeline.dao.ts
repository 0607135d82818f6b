import { In, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { Pipeline, type PipelineRun } from '../entities/pipeline.entity';

export interface DuePipeline {
  orgId: string;
  pipelineId: string;
  nextRunAt: Date;
}

/**
 * Pipeline rows and the run ledger; org id first. Methods on the DataSource run in their own
 * `withTenant` transaction; methods taking an EntityManager run in the caller's, which was opened
 * with `withTenant` for the same org. `due` is the one cross-tenant read, through the SECURITY
 * DEFINER function `workspace.due_pipelines` (migration DuePipelinesAt1765260000000).
 */
export class PipelineDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Pipeline[]> {
    return ids.length ? withTenant(this.ds, orgId, (em) => em.getRepository(Pipeline).findBy({ orgId, id: In([...ids]) })) : Promise.resolve([]);
  }

  /** Keyset page of one workspace, newest first, optionally filtered by a name/description search. */
  list(orgId: string, workspaceId: string, o: { first: number; after?: { createdAt: Date; id: string }; search?: string }): Promise<Pipeline[]> {
    return withTenant(this.ds, orgId, (em) => {
      const qb = em
        .getRepository(Pipeline)
        .createQueryBuilder('p')
        .where('p.orgId = :orgId AND p.workspaceId = :workspaceId', { orgId, workspaceId })
        .orderBy('p.createdAt', 'DESC')
        .addOrderBy('p.id', 'DESC')
        .limit(o.first + 1);
      if (o.search) qb.andWhere(`(p.name ILIKE :s OR p.description ILIKE :s)`, { s: `%${o.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
      if (o.after) qb.andWhere('(p.createdAt, p.id) < (:at, :aid)', { at: o.after.createdAt, aid: o.after.id });
      return qb.getMany();
    });
  }

  /** Case-insensitive, like the unique index on (workspace_id, lower(name)). */
  nameTaken(em: EntityManager, orgId: string, workspaceId: string, name: string, exceptId?: string): Promise<boolean> {
    const qb = em
      .getRepository(Pipeline)
      .createQueryBuilder('p')
      .where('p.orgId = :orgId AND p.workspaceId = :workspaceId AND lower(p.name) = lower(:name)', { orgId, workspaceId, name });
    if (exceptId) qb.andWhere('p.id <> :exceptId', { exceptId });
    return qb.getExists();
  }

  /** Kind of each given connection that belongs to the workspace (absent ids: not found there). */
  /** Kind (SOURCE / DESTINATION) and type (POSTGRES, FILE, …) of the workspace's connections among `ids`. */
  async connectionKinds(em: EntityManager, orgId: string, workspaceId: string, ids: readonly string[]): Promise<Map<string, { kind: string; type: string }>> {
    if (!ids.length) return new Map();
    const rows: Array<{ id: string; kind: string; type: string }> = await em.query(
      `SELECT id, kind, type FROM workspace.connection WHERE org_id = $1 AND workspace_id = $2 AND id = ANY($3::uuid[])`,
      [orgId, workspaceId, [...ids]],
    );
    return new Map(rows.map((r) => [r.id, { kind: r.kind, type: r.type }]));
  }

  /**
   * Locks the pipeline's workspace row (FOR NO KEY UPDATE, as QuotaPolicy.admitRun and
   * syncConnection do) before a dispatch reads the warehouse: every dispatch takes the workspace
   * lock before the warehouse lock, so two of them cannot deadlock. False when it is gone.
   */
  async lockWorkspace(em: EntityManager, orgId: string, workspaceId: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT id FROM workspace.workspace WHERE org_id = $1 AND id = $2 FOR NO KEY UPDATE`, [orgId, workspaceId]);
    return rows.length > 0;
  }

  async insert(em: EntityManager, row: Omit<Pipeline, 'id' | 'createdAt' | 'updatedAt'>): Promise<Pipeline> {
    const repo = em.getRepository(Pipeline);
    return repo.save(repo.create(row));
  }

  /** The row, locked until the caller's transaction ends (edits serialize with scheduler ticks). */
  lock(em: EntityManager, orgId: string, id: string): Promise<Pipeline | null> {
    return em.getRepository(Pipeline).createQueryBuilder('p').where('p.orgId = :orgId AND p.id = :id', { orgId, id }).setLock('pessimistic_write').getOne();
  }

  /**
   * The row locked for dispatch, or null when another scheduler instance holds it (SKIP LOCKED:
   * that instance is dispatching it right now, so this one moves on) or it is gone.
   */
  lockForDispatch(em: EntityManager, orgId: string, id: string): Promise<Pipeline | null> {
    return em
      .getRepository(Pipeline)
      .createQueryBuilder('p')
      .where('p.orgId = :orgId AND p.id = :id', { orgId, id })
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .getOne();
  }

  async update(
    em: EntityManager,
    orgId: string,
    id: string,
    patch: Partial<Pick<Pipeline, 'name' | 'description' | 'definition' | 'schedule' | 'timeZone' | 'enabled' | 'nextRunAt'>>,
  ): Promise<void> {
    await em.getRepository(Pipeline).update({ orgId, id }, patch as never);
  }

  async delete(em: EntityManager, orgId: string, id: string): Promise<boolean> {
    const res = await em.getRepository(Pipeline).delete({ orgId, id });
    return (res.affected ?? 0) > 0;
  }

  /**
   * Records a dispatched run. False when the (pipeline, scheduled_for) slot was already
   * dispatched (UNIQUE pipeline_run_slot_once): the caller must then not enqueue anything.
   */
  async insertRun(em: EntityManager, r: Omit<PipelineRun, 'id' | 'createdAt'>): Promise<boolean> {
    const rows: unknown[] = await em.query(
      `INSERT INTO workspace.pipeline_run (org_id, workspace_id, pipeline_id, trigger, scheduled_for, run_id, job_id, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ON CONSTRAINT pipeline_run_slot_once DO NOTHING RETURNING id`,
      [r.orgId, r.workspaceId, r.pipelineId, r.trigger, r.scheduledFor, r.runId, r.jobId, r.requestedBy],
    );
    return rows.length === 1;
  }

  /** The database clock (every scheduler instance and the due lookup agree on one clock). */
  async now(em: EntityManager): Promise<Date> {
    const [{ now }] = (await em.query(`SELECT clock_timestamp() AS now`)) as Array<{ now: Date }>;
    return now;
  }

  /** Due pipelines of every org (org, pipeline, next_run_at only) at `at` (null: the database clock), oldest first. */
  async due(limit: number, at: Date | null = null): Promise<DuePipeline[]> {
    const rows: Array<{ org_id: string; pipeline_id: string; next_run_at: Date }> = await this.ds.query(
      `SELECT org_id, pipeline_id, next_run_at FROM workspace.due_pipelines($1, $2)`,
      [limit, at],
    );
    return rows.map((r) => ({ orgId: r.org_id, pipelineId: r.pipeline_id, nextRunAt: r.next_run_at }));
  }
}
