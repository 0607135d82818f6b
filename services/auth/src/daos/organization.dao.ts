import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import { Organization } from '../entities/organization.entity';
import { identifierTaken } from './tenant-lookup';

/**
 * Organization rows. An organization is its own tenant: its id is the tenant id, and row-level
 * security shows a transaction only the organization it is scoped to.
 */
export class OrganizationDao {
  constructor(private readonly ds: DataSource) {}

  findById(orgId: string, em: EntityManager = this.ds.manager): Promise<Organization | null> {
    return inTenant(em, orgId, (tx) => tx.getRepository(Organization).findOneBy({ id: orgId }));
  }

  /** Each organization is read in its own tenant transaction (a request asks for one or two at most). */
  async findByIds(orgIds: readonly string[]): Promise<Organization[]> {
    const found = await Promise.all([...new Set(orgIds)].map((id) => this.findById(id)));
    return found.filter((o): o is Organization => o !== null);
  }

  /** Slugs are unique across the platform: a yes/no across every tenant (auth.identifier_taken). */
  slugTaken(slug: string): Promise<boolean> {
    return identifierTaken(this.ds, 'slug', slug);
  }

  /** Locks the organization row (settings read-modify-write). */
  lockById(em: EntityManager, orgId: string): Promise<Organization | null> {
    return em.getRepository(Organization).createQueryBuilder('o').setLock('pessimistic_write').where('o.id = :orgId', { orgId }).getOne();
  }

  async updateSettings(em: EntityManager, orgId: string, settings: Record<string, unknown>): Promise<void> {
    await em.query(`UPDATE auth.organization SET settings = $2 WHERE id = $1`, [orgId, JSON.stringify(settings)]);
  }

  /** The slug is immutable: there is deliberately no method that updates it. */
  /**
   * The new organization's id is chosen by the caller: sign-up opens its transaction with
   * `withTenant(ds, id, …)` first, because row-level security admits the row only under its own id.
   */
  async insert(
    em: EntityManager,
    o: { id: string; slug: string; name: string; region: string; timeZone: string; settings: Record<string, unknown> },
  ): Promise<Organization> {
    const repo = em.getRepository(Organization);
    await repo.insert({ ...o, settings: o.settings as never });
    return repo.findOneByOrFail({ id: o.id });
  }
}
