import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { Run } from '../entities/run.entity';
import { RunStep } from '../entities/run-step.entity';

export type StepReport = Pick<RunStep, 'runId' | 'seq' | 'name' | 'status' | 'message' | 'durationMs' | 'attempt' | 'at'>;

/**
 * Run steps. Steps carry no tenant column: every method joins their run on the org id (and the
 * row-level security policy goes through the run the same way). On a DataSource or inside the
 * caller's `withTenant` transaction, like `RunDao`.
 */
export class RunStepDao {
  constructor(private readonly db: DataSource | EntityManager) {}

  /** Steps of several runs at once (one query for a whole page of runs), in step order. */
  listByRunIds(orgId: string, runIds: readonly string[]): Promise<RunStep[]> {
    if (!runIds.length) return Promise.resolve([]);
    return inTenant(this.db, orgId, (em) =>
      em
        .getRepository(RunStep)
        .createQueryBuilder('s')
        .innerJoin(Run, 'r', 'r.id = s.runId')
        .where('r.orgId = :orgId', { orgId })
        .andWhere('s.runId IN (:...runIds)', { runIds: [...runIds] })
        .orderBy('s.runId')
        .addOrderBy('s.seq')
        .getMany(),
    );
  }

  /**
   * One row per (run, seq): inserts the step, or overwrites it when this report comes from the
   * same or a newer attempt (a redelivered job re-runs its steps; an older attempt never wins).
   * Writes only when the run belongs to `orgId`. Returns whether a row was written.
   */
  async upsertNewestAttempt(orgId: string, s: StepReport): Promise<boolean> {
    const written: unknown[] = await inTenant(this.db, orgId, (em) =>
      em.query(
        `INSERT INTO monitoring.run_step AS cur (run_id, seq, name, status, message, duration_ms, attempt, at)
       SELECT $2, $3, $4, $5, $6, $7, $8, $9
        WHERE EXISTS (SELECT 1 FROM monitoring.run WHERE id = $2 AND org_id = $1)
       ON CONFLICT (run_id, seq) DO UPDATE
         SET name = EXCLUDED.name, status = EXCLUDED.status, message = EXCLUDED.message,
             duration_ms = EXCLUDED.duration_ms, attempt = EXCLUDED.attempt, at = EXCLUDED.at
       WHERE (cur.attempt, cur.at) <= (EXCLUDED.attempt, EXCLUDED.at)
       RETURNING run_id`,
        [orgId, s.runId, s.seq, s.name, s.status, s.message, s.durationMs, s.attempt, s.at],
      ),
    );
    return written.length > 0;
  }
}
