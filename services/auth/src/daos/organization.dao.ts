import { In, type DataSource, type EntityManager } from 'typeorm';
import { Organization } from '../entities/organization.entity';

/** Organization rows. An organization is its own tenant: its id is the tenant id. */
export class OrganizationDao {
  constructor(private readonly ds: DataSource) {}

  findById(orgId: string, em: EntityManager = this.ds.manager): Promise<Organization | null> {
    return em.getRepository(Organization).findOneBy({ id: orgId });
  }

  findByIds(orgIds: readonly string[]): Promise<Organization[]> {
    return orgIds.length ? this.ds.getRepository(Organization).findBy({ id: In([...orgIds]) }) : Promise.resolve([]);
  }

  async slugTaken(slug: string): Promise<boolean> {
    return (await this.ds.getRepository(Organization).countBy({ slug })) > 0;
  }

  /** Locks the organization row (settings read-modify-write). */
  lockById(em: EntityManager, orgId: string): Promise<Organization | null> {
    return em.getRepository(Organization).createQueryBuilder('o').setLock('pessimistic_write').where('o.id = :orgId', { orgId }).getOne();
  }

  async updateSettings(em: EntityManager, orgId: string, settings: Record<string, unknown>): Promise<void> {
    await em.query(`UPDATE auth.organization SET settings = $2 WHERE id = $1`, [orgId, JSON.stringify(settings)]);
  }

  /** The slug is immutable: there is deliberately no method that updates it. */
  async insert(em: EntityManager, o: { slug: string; name: string; region: string; timeZone: string; settings: Record<string, unknown> }): Promise<Organization> {
    const repo = em.getRepository(Organization);
    const { identifiers } = await repo.insert({ ...o, settings: o.settings as never });
    return repo.findOneByOrFail({ id: identifiers[0]!.id as string });
  }
}
