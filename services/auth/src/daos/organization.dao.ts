import { In, type DataSource } from 'typeorm';
import { Organization } from '../entities/organization.entity';

/** Organization rows. An organization is its own tenant: its id is the tenant id. */
export class OrganizationDao {
  constructor(private readonly ds: DataSource) {}

  findById(orgId: string): Promise<Organization | null> {
    return this.ds.getRepository(Organization).findOneBy({ id: orgId });
  }

  findByIds(orgIds: readonly string[]): Promise<Organization[]> {
    return orgIds.length ? this.ds.getRepository(Organization).findBy({ id: In([...orgIds]) }) : Promise.resolve([]);
  }
}
