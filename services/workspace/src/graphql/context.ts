import type { RequestContext } from '@datalinx/graphql-kit';
import type { ServiceStatus } from '@datalinx/db';
import type { WorkspaceManager } from '../managers/workspace.manager';
import type { ConnectionManager } from '../managers/connection.manager';
import type { WarehouseManager } from '../managers/warehouse.manager';
import type { PipelineManager } from '../managers/pipeline.manager';
import type { QuotaManager } from '../managers/quota.manager';
import type { FileManager } from '../files/file.manager';
import type { PromotionManager } from '../managers/promotion.manager';
import type { DiscoveryManager } from '../managers/discovery.manager';
import type { SyncManager } from '../managers/sync.manager';
import type { CanonicalizeManager } from '../managers/canonicalize.manager';

export interface WorkspaceContext extends RequestContext {
  workspaces: WorkspaceManager;
  connections: ConnectionManager;
  discovery: DiscoveryManager;
  sync: SyncManager;
  canonicalize: CanonicalizeManager;
  files: FileManager;
  warehouses: WarehouseManager;
  pipelines: PipelineManager;
  quotas: QuotaManager;
  promotions: PromotionManager;
  status: () => Promise<ServiceStatus>;
}

/** A reference to an entity another subgraph owns (or a federation representation). */
export interface EntityRef {
  __typename?: string;
  id: string;
}
