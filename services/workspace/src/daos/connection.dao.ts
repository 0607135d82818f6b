import { In, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { CONNECTION_FAILED_V1, type ConnectionConfig, type ConnectionFailedV1, type ConnectionType } from '@datalinx/contracts';
import { Connection, type ConnectionKindValue, type ConnectionStatusValue } from '../entities/connection.entity';
import type { WorkspaceSealed } from '../secrets/keyring';

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
      ? withTenant(this.ds, orgId, (em) =>
          em.getRepository(Connection).find({ where: { orgId, workspaceId: In([...workspaceIds]) }, order: { createdAt: 'ASC' } }),
        )
      : Promise.resolve([]);
  }

  findOne(em: EntityManager, orgId: string, id: string): Promise<Connection | null> {
    return em.getRepository(Connection).findOneBy({ orgId, id });
  }

  /** Case-insensitive, like the unique index on (workspace_id, lower(name)). */
  nameTaken(em: EntityManager, orgId: string, workspaceId: string, name: string, exceptId?: string): Promise<boolean> {
    const qb = em
      .getRepository(Connection)
      .createQueryBuilder('c')
      .where('c.orgId = :orgId AND c.workspaceId = :workspaceId AND lower(c.name) = lower(:name)', { orgId, workspaceId, name });
    if (exceptId) qb.andWhere('c.id <> :exceptId', { exceptId });
    return qb.getExists();
  }

  async insert(
    em: EntityManager,
    row: Pick<Connection, 'id' | 'orgId' | 'workspaceId' | 'name' | 'kind' | 'type' | 'config' | 'secretSealed' | 'secretUpdatedAt'>,
  ): Promise<void> {
    await em.getRepository(Connection).insert({ ...row, status: 'UNTESTED' });
  }

  /** Name, kind and config; a changed config makes the last test meaningless (UNTESTED again). */
  async update(
    em: EntityManager,
    orgId: string,
    id: string,
    v: { name: string; kind: ConnectionKindValue; config: ConnectionConfig; configChanged: boolean },
  ): Promise<void> {
    await em.getRepository(Connection).update(
      { orgId, id },
      {
        name: v.name,
        kind: v.kind,
        config: v.config as never,
        ...(v.configChanged ? { status: 'UNTESTED' as const, lastError: null, statusBeforeTest: null } : {}),
      },
    );
  }

  async setSecret(em: EntityManager, orgId: string, id: string, sealed: WorkspaceSealed | null, at: Date | null): Promise<void> {
    await em.getRepository(Connection).update({ orgId, id }, { secretSealed: sealed, secretUpdatedAt: at });
  }

  async delete(em: EntityManager, orgId: string, id: string): Promise<boolean> {
    const res = await em.getRepository(Connection).delete({ orgId, id });
    return (res.affected ?? 0) > 0;
  }

  /** Whether the connection is its workspace's external warehouse (the warehouse row references it). */
  async isWarehouseOf(em: EntityManager, orgId: string, id: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT 1 FROM workspace.warehouse WHERE org_id = $1 AND connection_id = $2 FOR KEY SHARE`, [orgId, id]);
    return rows.length > 0;
  }

  /** The row with its sealed secret, locked for the caller's transaction (a test dispatch, a rotation). */
  async lockWithSecret(
    em: EntityManager,
    orgId: string,
    id: string,
    o: { skipLocked?: boolean } = {},
  ): Promise<(Connection & { secretSealed: WorkspaceSealed | null }) | null> {
    const qb = em
      .getRepository(Connection)
      .createQueryBuilder('c')
      .addSelect('c.secretSealed')
      .where('c.orgId = :orgId AND c.id = :id', { orgId, id })
      .setLock('pessimistic_write');
    if (o.skipLocked) qb.setOnLocked('skip_locked');
    return qb.getOne();
  }

  async markTesting(em: EntityManager, orgId: string, id: string, runId: string, previous: ConnectionStatusValue): Promise<void> {
    await em.getRepository(Connection).update({ orgId, id }, { status: 'TESTING', lastTestRunId: runId, statusBeforeTest: previous });
  }

  /**
   * Records a finished test, but only for the connection's latest run (older results are stale).
   * The org comes from the run event: a result naming another org than the run's connection
   * touches nothing. A connection that was HEALTHY when this test began and now failed raises
   * `workspace.connection.failed.v1` in the same transaction — only while the row is still
   * TESTING, so a redelivered result event does not raise it twice.
   */
  async recordTestResult(
    orgId: string,
    runId: string,
    r: { status: ConnectionStatusValue; at: Date; error: string | null },
  ): Promise<{ updated: number; failedEvent: boolean }> {
    return withTenant(this.ds, orgId, async (em) => {
      const row = await em
        .getRepository(Connection)
        .createQueryBuilder('c')
        .where('c.orgId = :orgId AND c.lastTestRunId = :runId', { orgId, runId })
        .setLock('pessimistic_write')
        .getOne();
      if (!row) return { updated: 0, failedEvent: false };
      const raise = r.status === 'FAILING' && row.status === 'TESTING' && row.statusBeforeTest === 'HEALTHY';
      await em.getRepository(Connection).update({ orgId, id: row.id }, { status: r.status, lastTestedAt: r.at, lastError: r.error });
      if (raise) {
        const event: ConnectionFailedV1 = {
          orgId,
          workspaceId: row.workspaceId,
          connectionId: row.id,
          name: row.name,
          type: row.type as ConnectionType,
          runId,
          error: r.error ?? 'The test failed.',
          failedAt: r.at.toISOString(),
        };
        await enqueueOutbox(em, CONNECTION_FAILED_V1, event);
      }
      return { updated: 1, failedEvent: raise };
    });
  }
}

/**
 * Connections whose periodic re-test is due (`workspace.connections_due_for_retest`, across
 * tenants: the loop then locks each one in its tenant's transaction).
 */
export async function connectionsDueForRetest(ds: DataSource, intervalS: number, batchSize: number): Promise<Array<{ org_id: string; connection_id: string }>> {
  return ds.query(`SELECT org_id, connection_id FROM workspace.connections_due_for_retest($1, $2)`, [intervalS, batchSize]);
}
