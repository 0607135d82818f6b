import { In, type DataSource } from 'typeorm';
import { User } from '../entities/user.entity';

export interface Page {
  first: number;
  after?: { createdAt: Date; id: string };
}

/** User rows; every method takes the tenant (org) id first. */
export class UserDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<User[]> {
    return ids.length ? this.ds.getRepository(User).findBy({ orgId, id: In([...ids]) }) : Promise.resolve([]);
  }

  /** Keyset page, newest first; fetches one extra row to know whether there is a next page. */
  listByOrg(orgId: string, page: Page): Promise<User[]> {
    const qb = this.ds
      .getRepository(User)
      .createQueryBuilder('u')
      .where('u.orgId = :orgId', { orgId })
      .orderBy('u.createdAt', 'DESC')
      .addOrderBy('u.id', 'DESC')
      .limit(page.first + 1);
    if (page.after) qb.andWhere('(u.createdAt, u.id) < (:at, :id)', { at: page.after.createdAt, id: page.after.id });
    return qb.getMany();
  }
}
