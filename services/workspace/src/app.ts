import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { WorkspaceContext } from './graphql/context';
import { WorkspaceManager } from './managers/workspace.manager';
import { ConnectionManager, type ConnectionSettings } from './managers/connection.manager';
import { WorkspaceDao } from './daos/workspace.dao';
import { ConnectionDao } from './daos/connection.dao';
import { PipelineDao } from './daos/pipeline.dao';
import { PromotionDao } from './daos/promotion.dao';
import { PromotionManager } from './managers/promotion.manager';
import { PipelineManager } from './managers/pipeline.manager';
import { QuotaManager, quotaPolicy, type QuotaDeps } from './managers/quota.manager';
import { QuotaDao } from './daos/quota.dao';
import { WarehouseDao } from './daos/warehouse.dao';
import { WarehouseJobs, WarehouseManager, warehouseSettingsFromUrl, type WarehouseSettings } from './managers/warehouse.manager';
import { Keyring } from './secrets/keyring';
import { testDispatchSettings } from './jobs/connection-test.dispatch';
import { DiscoveryManager } from './managers/discovery.manager';
import { SyncManager } from './managers/sync.manager';
import { CanonicalizeManager } from './managers/canonicalize.manager';
import { CanonicalTypeRefDao } from './daos/canonical-type-ref.dao';
import { FileDao } from './daos/file.dao';
import { FileManager } from './files/file.manager';
import { mountFileUploads, type FileStorageSettings } from './files/upload';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface WorkspaceDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  settings: ConnectionSettings;
  /** File uploads (POST /files): DLX_FILE_STORAGE_DIR and FILE_MAX_BYTES. */
  files: FileStorageSettings;
  /** Called after a transaction that wrote to the outbox commits (kicks the relay). */
  onOutboxCommit: () => void;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
  /**
   * Quota defaults, storage measurement, the gateways' API counters and the API-limit publisher
   * (production: index.ts). Omitted: the built-in defaults, storage and API usage not measured,
   * limits published through the outbox only.
   */
  quotas?: QuotaDeps;
  /** The platform warehouse (WAREHOUSE_ADMIN_URL, without its credentials). Omitted: database `datalinx_warehouse` on the system database's server. */
  warehouse?: WarehouseSettings | undefined;
}

/** Wires the workspace subgraph: DAOs → managers (per request) → resolvers, behind the assertion check. */
export function createWorkspaceServer(d: WorkspaceDeps) {
  const workspaceDao = new WorkspaceDao(d.ds);
  const connectionDao = new ConnectionDao(d.ds);
  const pipelineDao = new PipelineDao(d.ds);
  const promotionDao = new PromotionDao(d.ds);
  const quotaDao = new QuotaDao(d.ds);
  const quotas = quotaPolicy(d.ds, d.quotas);
  const warehouseDao = new WarehouseDao(d.ds);
  const canonicalTypeRefDao = new CanonicalTypeRefDao(d.ds);
  const warehouse = d.warehouse ?? warehouseSettingsFromUrl(String((d.ds.options as { url?: string }).url ?? 'postgres://localhost:5432/'), { database: 'datalinx_warehouse' });
  // One keyring for the process: it holds the previous master key too during a rotation.
  const previousKeys = d.settings.previousMasterKeys ?? [];
  const keyring = new Keyring(d.settings.masterKey, previousKeys);
  const testSettings = testDispatchSettings(d.settings, keyring);
  const fileDao = new FileDao(d.ds);
  const warehouseJobs = new WarehouseJobs(warehouseDao, keyring, d.settings.masterKey, warehouse);
  // A pipeline run's job carries its sources' configs and secrets and the warehouse destination.
  const pipelineDispatch = { connections: connectionDao, warehouses: warehouseDao, settings: testSettings, quotas };
  return createSubgraphServer<WorkspaceContext>({
    name: 'workspace',
    typeDefs,
    resolvers: resolvers as never,
    permissions,
    verifier: d.verifier,
    log: d.log,
    // Raw-body uploads (not GraphQL); the route checks the viewer assertion itself.
    routes: (app) => mountFileUploads(app, { verifier: d.verifier, workspaces: workspaceDao, files: fileDao, settings: d.files, log: d.log }),
    readiness: {
      database: async () => checkDatabase(d.ds),
      ...(d.natsReady ? { nats: d.natsReady } : {}),
    },
    buildContext: (base) => {
      const workspaces = new WorkspaceManager(base.viewer, d.ds, workspaceDao, warehouseJobs, d.onOutboxCommit);
      return {
        ...base,
        workspaces,
        connections: new ConnectionManager(base.viewer, d.ds, connectionDao, fileDao, workspaces, testSettings, d.onOutboxCommit, quotas),
        discovery: new DiscoveryManager(base.viewer, d.ds, connectionDao, testSettings, d.onOutboxCommit, quotas),
        sync: new SyncManager(base.viewer, d.ds, connectionDao, warehouseDao, workspaces, testSettings, d.onOutboxCommit, quotas),
        canonicalize: new CanonicalizeManager(base.viewer, d.ds, canonicalTypeRefDao, warehouseDao, workspaces, d.onOutboxCommit, quotas, connectionDao, testSettings),
        files: new FileManager(base.viewer, fileDao),
        quotas: new QuotaManager(base.viewer, d.ds, quotas, quotaDao, workspaces, d.quotas?.api ?? null, d.quotas?.publisher ?? null, d.onOutboxCommit),
        pipelines: new PipelineManager(base.viewer, d.ds, pipelineDao, workspaces, d.onOutboxCommit, pipelineDispatch),
        warehouses: new WarehouseManager(base.viewer, d.ds, warehouseDao, workspaces, warehouse),
        promotions: new PromotionManager(base.viewer, d.ds, promotionDao, workspaces, d.onOutboxCommit),
        status: () => serviceStatus(d.ds, 'workspace'),
      };
    },
  });
}
