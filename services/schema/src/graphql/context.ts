import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { CanonicalTypeManager } from '../managers/canonical-type.manager';
import type { SourceSnapshotManager } from '../managers/source-snapshot.manager';
import type { TargetSchemaManager } from '../managers/target-schema.manager';

export interface SchemaContext extends RequestContext {
  canonicalTypes: CanonicalTypeManager;
  sourceSnapshots: SourceSnapshotManager;
  targetSchemas: TargetSchemaManager;
  status: () => Promise<ServiceStatus>;
}
