import { In, type DataSource } from 'typeorm';
import { CanonicalType } from '../entities/canonical-type.entity';

export interface CanonicalTypeFilter {
  category?: string;
  /** Case-insensitive substring of name, label or description; matched literally. */
  search?: string;
}

/**
 * Canonical type rows. They are global reference data (no tenant column), so these methods take
 * no org id; tenant-scoped custom types will get their own org-first methods.
 */
export class CanonicalTypeDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<CanonicalType[]> {
    return ids.length ? this.ds.getRepository(CanonicalType).findBy({ id: In([...ids]) }) : Promise.resolve([]);
  }

  findByNames(names: readonly string[]): Promise<CanonicalType[]> {
    return names.length ? this.ds.getRepository(CanonicalType).findBy({ name: In([...names]) }) : Promise.resolve([]);
  }

  list(filter: CanonicalTypeFilter): Promise<CanonicalType[]> {
    const qb = this.ds.getRepository(CanonicalType).createQueryBuilder('t').orderBy('t.category', 'ASC').addOrderBy('t.name', 'ASC');
    if (filter.category !== undefined) qb.andWhere('t.category = :category', { category: filter.category });
    if (filter.search !== undefined) {
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      qb.andWhere(`(t.name ILIKE :like ESCAPE '\\' OR t.label ILIKE :like ESCAPE '\\' OR t.description ILIKE :like ESCAPE '\\')`, { like });
    }
    return qb.getMany();
  }
}
