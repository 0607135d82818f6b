import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { IdentityManager } from '../managers/identity.manager';

export interface AuthContext extends RequestContext {
  identity: IdentityManager;
  status: () => Promise<ServiceStatus>;
}
