import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { CanonicalTypeManager } from '../managers/canonical-type.manager';
import type { SourceSnapshotManager } from '../managers/source-snapshot.manager';

export interface SchemaContext extends RequestContext {
  canonicalTypes: CanonicalTypeManager;
  sourceSnapshots: SourceSnapshotManager;
  status: () => Promise<ServiceStatus>;
}
