import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { Workspace, type EnvironmentValue } from '../entities/workspace.entity';

export interface WorkspaceListFilter {
  first: number;
  after?: { createdAt: Date; id: string };
  search?: string;
  onlyIds?: string[];
  environment?: EnvironmentValue;
  /** true: only archived; false: only active; undefined: both. */
  archived?: boolean;
}

/**
 * Workspace rows; the org id always comes first and always filters. Deleted (soft-deleted)
 * workspaces are invisible to every read here: no caller can reach one by id or list.
 * Reads run in their own `withTenant` transaction; methods taking an EntityManager run in the
 * caller's, which the manager opened with `withTenant` for the same org (row-level security
 * sees that org only).
 */
export class WorkspaceDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Workspace[]> {
    return ids.length
      ? withTenant(this.ds, orgId, (em) => em.getRepository(Workspace).findBy({ orgId, id: In([...ids]), deletedAt: IsNull() }))
      : Promise.resolve([]);
  }

  /** Keyset page, newest first, optionally limited to some ids (the viewer's grants), a search term, an environment, archived or not. */
  list(orgId: string, o: WorkspaceListFilter): Promise<Workspace[]> {
    return withTenant(this.ds, orgId, (em) => {
      const qb = em
        .getRepository(Workspace)
        .createQueryBuilder('w')
        .where('w.orgId = :orgId AND w.deletedAt IS NULL', { orgId })
        .orderBy('w.createdAt', 'DESC')
        .addOrderBy('w.id', 'DESC')
        .limit(o.first + 1);
      if (o.onlyIds) qb.andWhere('w.id = ANY(:ids)', { ids: o.onlyIds });
      if (o.search) qb.andWhere(`(w.name ILIKE :s OR w.slug ILIKE :s)`, { s: `%${o.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
      if (o.environment) qb.andWhere('w.environment = :env', { env: o.environment });
      if (o.archived !== undefined) qb.andWhere(o.archived ? 'w.archivedAt IS NOT NULL' : 'w.archivedAt IS NULL');
      if (o.after) qb.andWhere('(w.createdAt, w.id) < (:at, :aid)', { at: o.after.createdAt, aid: o.after.id });
      return qb.getMany();
    });
  }

  /** Only live workspaces hold a slug (a deleted one's slug may be used again). */
  slugTaken(em: EntityManager, orgId: string, slug: string): Promise<boolean> {
    return em.getRepository(Workspace).exists({ where: { orgId, slug, deletedAt: IsNull() } });
  }

  async insert(em: EntityManager, orgId: string, v: Pick<Workspace, 'name' | 'slug' | 'environment'> & { description?: string }): Promise<Workspace> {
    const row = em.getRepository(Workspace).create({ ...v, orgId });
    return em.getRepository(Workspace).save(row);
  }

  /** The live workspace, locked for the rest of the caller's transaction (lifecycle changes serialize on it). */
  lockLive(em: EntityManager, orgId: string, id: string): Promise<Workspace | null> {
    return em
      .getRepository(Workspace)
      .createQueryBuilder('w')
      .where('w.orgId = :orgId AND w.id = :id AND w.deletedAt IS NULL', { orgId, id })
      .setLock('pessimistic_write')
      .getOne();
  }

  async update(
    em: EntityManager,
    orgId: string,
    id: string,
    v: Partial<Pick<Workspace, 'name' | 'description' | 'environment' | 'archivedAt' | 'deletedAt'>>,
  ): Promise<Workspace> {
    await em.getRepository(Workspace).update({ orgId, id }, v);
    return em.getRepository(Workspace).findOneByOrFail({ orgId, id });
  }
}

/**
 * Locks a live workspace row the way QuotaPolicy.admitRun does (FOR NO KEY UPDATE: an archive cannot
 * slip in before the caller's run commits). Null when it does not exist or is deleted.
 */
export async function lockLiveWorkspaceForRun(em: EntityManager, orgId: string, id: string): Promise<{ archivedAt: Date | null } | null> {
  const [ws] = (await em.query(`SELECT archived_at FROM workspace.workspace WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR NO KEY UPDATE`, [
    orgId,
    id,
  ])) as Array<{ archived_at: Date | null }>;
  return ws ? { archivedAt: ws.archived_at } : null;
}
