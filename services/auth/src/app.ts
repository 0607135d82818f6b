import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { AuthContext } from './graphql/context';
import { IdentityManager } from './managers/identity.manager';
import { OrganizationDao } from './daos/organization.dao';
import { UserDao } from './daos/user.dao';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface AuthDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
}

/** Wires the auth subgraph: DAOs → managers (per request) → resolvers, behind the assertion check. */
export function createAuthServer(d: AuthDeps) {
  const orgs = new OrganizationDao(d.ds);
  const users = new UserDao(d.ds);
  return createSubgraphServer<AuthContext>({
    name: 'auth',
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
      identity: new IdentityManager(base.viewer, orgs, users),
      status: () => serviceStatus(d.ds, 'auth'),
    }),
  });
}
