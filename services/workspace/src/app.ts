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

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface WorkspaceDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  settings: ConnectionSettings;
  /** Called after a transaction that wrote to the outbox commits (kicks the relay). */
  onOutboxCommit: () => void;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
}

/** Wires the workspace subgraph: DAOs → managers (per request) → resolvers, behind the assertion check. */
export function createWorkspaceServer(d: WorkspaceDeps) {
  const workspaceDao = new WorkspaceDao(d.ds);
  const connectionDao = new ConnectionDao(d.ds);
  return createSubgraphServer<WorkspaceContext>({
    name: 'workspace',
    typeDefs,
    resolvers: resolvers as never,
    permissions,
    verifier: d.verifier,
    log: d.log,
    readiness: {
      database: async () => checkDatabase(d.ds),
      ...(d.natsReady ? { nats: d.natsReady } : {}),
    },
    buildContext: (base) => {
      const workspaces = new WorkspaceManager(base.viewer, d.ds, workspaceDao, d.onOutboxCommit);
      return {
        ...base,
        workspaces,
        connections: new ConnectionManager(base.viewer, d.ds, connectionDao, workspaces, d.settings, d.onOutboxCommit),
        status: () => serviceStatus(d.ds, 'workspace'),
      };
    },
  });
}
