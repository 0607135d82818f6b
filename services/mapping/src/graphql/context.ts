import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { MappingManager } from '../managers/mapping.manager';
import type { DbtProjectManager } from '../managers/dbt-project.manager';

export interface MappingContext extends RequestContext {
  mappings: MappingManager;
  dbt: DbtProjectManager;
  status: () => Promise<ServiceStatus>;
}
