import { In, type DataSource, type EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { CustomCanonicalType } from '../entities/custom-canonical-type.entity';

/**
 * An organization's custom canonical types. Org-first methods; every query runs in a
 * `withTenant` transaction, so row-level security also keeps other orgs' rows out.
 */
export class CustomCanonicalTypeDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<CustomCanonicalType[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) => em.getRepository(CustomCanonicalType).findBy({ orgId, id: In([...ids]) }));
  }

  findByNames(orgId: string, names: readonly string[]): Promise<CustomCanonicalType[]> {
    if (!names.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) => em.getRepository(CustomCanonicalType).findBy({ orgId, name: In([...names]) }));
  }

  list(orgId: string, filter: { category?: string; search?: string }): Promise<CustomCanonicalType[]> {
    return withTenant(this.ds, orgId, (em) => {
      const qb = em.getRepository(CustomCanonicalType).createQueryBuilder('t').where('t.org_id = :orgId', { orgId });
      if (filter.category !== undefined) qb.andWhere('t.category = :category', { category: filter.category });
      if (filter.search !== undefined) {
        const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        qb.andWhere(`(t.name ILIKE :like ESCAPE '\\' OR t.label ILIKE :like ESCAPE '\\' OR t.description ILIKE :like ESCAPE '\\')`, { like });
      }
      return qb.getMany();
    });
  }

  /**
   * Inserts the type in the caller's tenant transaction (`em`, opened with `withTenant` for the
   * same org: the manager writes the type's event to the outbox in it); null when the org already
   * has one of that name.
   */
  async create(em: EntityManager, orgId: string, row: Omit<CustomCanonicalType, 'id' | 'orgId' | 'createdAt'>): Promise<CustomCanonicalType | null> {
    const inserted: CustomCanonicalType[] = await em.query(
      `INSERT INTO "schema".custom_canonical_type (org_id, name, label, description, category, parent_id, parent_custom_id, pattern, examples, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (org_id, name) DO NOTHING RETURNING id`,
      [orgId, row.name, row.label, row.description, row.category, row.parentId, row.parentCustomId, row.pattern, row.examples, row.createdBy],
    );
    if (!inserted.length) return null;
    return em.getRepository(CustomCanonicalType).findOneByOrFail({ orgId, id: inserted[0]!.id });
  }
}
