import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { MappingManager } from '../managers/mapping.manager';

export interface MappingContext extends RequestContext {
  mappings: MappingManager;
  status: () => Promise<ServiceStatus>;
}
