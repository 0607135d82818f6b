import { In, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { Workspace } from '../entities/workspace.entity';

/**
 * Workspace rows; the org id always comes first and always filters. Reads run in their own
 * `withTenant` transaction; methods taking an EntityManager run in the caller's, which the
 * manager opened with `withTenant` for the same org (row-level security sees that org only).
 */
export class WorkspaceDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Workspace[]> {
    return ids.length ? withTenant(this.ds, orgId, (em) => em.getRepository(Workspace).findBy({ orgId, id: In([...ids]) })) : Promise.resolve([]);
  }

  /** Keyset page, newest first, optionally limited to some ids (the viewer's grants) and a search term. */
  list(orgId: string, o: { first: number; after?: { createdAt: Date; id: string }; search?: string; onlyIds?: string[] }): Promise<Workspace[]> {
    return withTenant(this.ds, orgId, (em) => {
      const qb = em
        .getRepository(Workspace)
        .createQueryBuilder('w')
        .where('w.orgId = :orgId', { orgId })
        .orderBy('w.createdAt', 'DESC')
        .addOrderBy('w.id', 'DESC')
        .limit(o.first + 1);
      if (o.onlyIds) qb.andWhere('w.id = ANY(:ids)', { ids: o.onlyIds });
      if (o.search) qb.andWhere(`(w.name ILIKE :s OR w.slug ILIKE :s)`, { s: `%${o.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` });
      if (o.after) qb.andWhere('(w.createdAt, w.id) < (:at, :aid)', { at: o.after.createdAt, aid: o.after.id });
      return qb.getMany();
    });
  }

  slugTaken(em: EntityManager, orgId: string, slug: string): Promise<boolean> {
    return em.getRepository(Workspace).exists({ where: { orgId, slug } });
  }

  async insert(em: EntityManager, orgId: string, v: Pick<Workspace, 'name' | 'slug' | 'environment'>): Promise<Workspace> {
    const row = em.getRepository(Workspace).create({ ...v, orgId });
    return em.getRepository(Workspace).save(row);
  }
}
