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
import { DbtProjectRefDao } from './daos/dbt-project-ref.dao';
import { WarehouseDao } from './daos/warehouse.dao';
import { WarehouseJobs, WarehouseManager, warehouseSettingsFromUrl, type WarehouseSettings } from './managers/warehouse.manager';
import { Keyring } from './secrets/keyring';
import { jobDispatchSettings } from './jobs/job-dispatch-settings';
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

/** Wires the workspace subgraph: DAOs → managers (one per process, the viewer passed per call) → resolvers, behind the assertion check. */
export function createWorkspaceServer(d: WorkspaceDeps) {
  const workspaceDao = new WorkspaceDao(d.ds);
  const connectionDao = new ConnectionDao(d.ds);
  const pipelineDao = new PipelineDao(d.ds);
  const promotionDao = new PromotionDao(d.ds);
  const quotaDao = new QuotaDao(d.ds);
  const quotas = quotaPolicy(d.ds, d.quotas);
  const warehouseDao = new WarehouseDao(d.ds);
  const canonicalTypeRefDao = new CanonicalTypeRefDao(d.ds);
  const warehouse =
    d.warehouse ?? warehouseSettingsFromUrl(String((d.ds.options as { url?: string }).url ?? 'postgres://localhost:5432/'), { database: 'datalinx_warehouse' });
  // One keyring for the process: it holds the previous master key too during a rotation.
  const previousKeys = d.settings.previousMasterKeys ?? [];
  const keyring = new Keyring(d.settings.masterKey, previousKeys);
  const dispatchSettings = jobDispatchSettings(d.settings, keyring);
  const fileDao = new FileDao(d.ds);
  const warehouseJobs = new WarehouseJobs(warehouseDao, keyring, d.settings.masterKey, warehouse);
  // A pipeline run's job carries its sources' configs and secrets and the warehouse destination.
  const pipelineDispatch = {
    connections: connectionDao,
    warehouses: warehouseDao,
    settings: dispatchSettings,
    quotas,
    dbtProjects: new DbtProjectRefDao(d.ds),
  };
  // One of each for the process: every method takes the viewer first; request-scoped loaders are per viewer.
  const workspaces = new WorkspaceManager(d.ds, workspaceDao, warehouseJobs, d.onOutboxCommit);
  const managers = {
    workspaces,
    connections: new ConnectionManager(d.ds, connectionDao, fileDao, workspaces, dispatchSettings, d.onOutboxCommit, quotas),
    discovery: new DiscoveryManager(d.ds, connectionDao, dispatchSettings, d.onOutboxCommit, quotas),
    sync: new SyncManager(d.ds, connectionDao, warehouseDao, workspaces, dispatchSettings, d.onOutboxCommit, quotas),
    canonicalize: new CanonicalizeManager(d.ds, canonicalTypeRefDao, warehouseDao, workspaces, d.onOutboxCommit, quotas, connectionDao, dispatchSettings),
    files: new FileManager(fileDao),
    quotas: new QuotaManager(d.ds, quotas, quotaDao, workspaces, d.quotas?.api ?? null, d.quotas?.publisher ?? null, d.onOutboxCommit),
    pipelines: new PipelineManager(d.ds, pipelineDao, workspaces, d.onOutboxCommit, pipelineDispatch),
    warehouses: new WarehouseManager(d.ds, warehouseDao, workspaces, warehouse),
    promotions: new PromotionManager(d.ds, promotionDao, workspaces, d.onOutboxCommit),
  };
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
    buildContext: (base) => ({ ...base, ...managers, status: () => serviceStatus(d.ds, 'workspace') }),
  });
}
