import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { MappingContext } from './graphql/context';
import { MappingManager, type MappingManagerOptions } from './managers/mapping.manager';
import { MappingDao } from './daos/mapping.dao';
import { CatalogDao } from './daos/catalog.dao';
import { DbtProjectManager } from './managers/dbt-project.manager';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface MappingDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
  /** Called after a commit that wrote outbox rows (the relay's kick). */
  afterCommit?: () => void;
  /** Asks a worker for a mapping preview (`requestPreview` over the service's NATS connection). */
  preview?: MappingManagerOptions['preview'];
  /** Called after a write changed what a workspace's mappings compile to (the dbt project publisher). */
  workspaceChanged?: MappingManagerOptions['workspaceChanged'];
}

/** Wires the mapping subgraph: DAOs → managers (one per process, the viewer passed per call) → resolvers, behind the assertion check. */
export function createMappingServer(d: MappingDeps) {
  const catalogs = new CatalogDao(d.ds);
  const mappings = new MappingManager(new MappingDao(d.ds), catalogs, {
    log: d.log.child({ component: 'MappingManager' }),
    afterCommit: d.afterCommit,
    preview: d.preview,
    workspaceChanged: d.workspaceChanged,
  });
  const dbt = new DbtProjectManager(mappings, catalogs);
  return createSubgraphServer<MappingContext>({
    name: 'mapping',
    typeDefs,
    resolvers: resolvers as never,
    permissions,
    verifier: d.verifier,
    log: d.log,
    readiness: {
      database: async () => checkDatabase(d.ds),
      ...(d.natsReady ? { nats: d.natsReady } : {}),
    },
    buildContext: (base) => ({
      ...base,
      mappings,
      dbt,
      status: () => serviceStatus(d.ds, 'mapping'),
    }),
  });
}
