import { In, type DataSource, type EntityManager } from 'typeorm';
import type { Sealed } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { Connection, type ConnectionStatusValue } from '../entities/connection.entity';

/**
 * Connection rows; org id first. The sealed secret is only read by `sealedSecret`. Methods on
 * the DataSource run in their own `withTenant` transaction; methods taking an EntityManager run
 * in the caller's, which the manager opened with `withTenant` for the same org.
 */
export class ConnectionDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Connection[]> {
    return ids.length ? withTenant(this.ds, orgId, (em) => em.getRepository(Connection).findBy({ orgId, id: In([...ids]) })) : Promise.resolve([]);
  }

  listByWorkspaces(orgId: string, workspaceIds: readonly string[]): Promise<Connection[]> {
    return workspaceIds.length
      ? withTenant(this.ds, orgId, (em) => em.getRepository(Connection).find({ where: { orgId, workspaceId: In([...workspaceIds]) }, order: { createdAt: 'ASC' } }))
      : Promise.resolve([]);
  }

  nameTaken(em: EntityManager, orgId: string, workspaceId: string, name: string): Promise<boolean> {
    return em.getRepository(Connection).exists({ where: { orgId, workspaceId, name } });
  }

  async insert(em: EntityManager, row: Omit<Connection, 'createdAt' | 'updatedAt' | 'lastTestedAt' | 'lastError' | 'lastTestRunId' | 'status'>): Promise<void> {
    await em.getRepository(Connection).insert({ ...row, status: 'UNTESTED' });
  }

  async sealedSecret(em: EntityManager, orgId: string, id: string): Promise<Sealed | null> {
    const row = await em
      .getRepository(Connection)
      .createQueryBuilder('c')
      .select(['c.id'])
      .addSelect('c.secretSealed')
      .where('c.orgId = :orgId AND c.id = :id', { orgId, id })
      .setLock('pessimistic_write')
      .getOne();
    return row?.secretSealed ?? null;
  }

  async markTesting(em: EntityManager, orgId: string, id: string, runId: string): Promise<void> {
    await em.getRepository(Connection).update({ orgId, id }, { status: 'TESTING', lastTestRunId: runId });
  }

  /**
   * Records a finished test, but only for the connection's latest run (older results are stale).
   * The org comes from the run event: a result naming another org than the run's connection
   * touches nothing.
   */
  async recordTestResult(orgId: string, runId: string, r: { status: ConnectionStatusValue; at: Date; error: string | null }): Promise<number> {
    const res = await withTenant(this.ds, orgId, (em) =>
      em
        .getRepository(Connection)
        .createQueryBuilder()
        .update()
        .set({ status: r.status, lastTestedAt: r.at, lastError: r.error })
        .where('org_id = :orgId AND last_test_run_id = :runId', { orgId, runId })
        .execute(),
    );
    return res.affected ?? 0;
  }
}
