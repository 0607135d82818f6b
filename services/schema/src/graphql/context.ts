import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { CanonicalTypeManager } from '../managers/canonical-type.manager';

export interface SchemaContext extends RequestContext {
  canonicalTypes: CanonicalTypeManager;
  status: () => Promise<ServiceStatus>;
}
