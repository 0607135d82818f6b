import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { SchemaContext } from './graphql/context';
import { CanonicalTypeManager } from './managers/canonical-type.manager';
import { CanonicalTypeDao } from './daos/canonical-type.dao';
import { CustomCanonicalTypeDao } from './daos/custom-canonical-type.dao';
import { SourceSnapshotManager } from './managers/source-snapshot.manager';
import { SourceSnapshotDao } from './daos/source-snapshot.dao';
import { TargetSchemaManager } from './managers/target-schema.manager';
import { TargetSchemaDao } from './daos/target-schema.dao';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface SchemaDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
  /** Called after a transaction that wrote to the outbox commits (kicks the relay); without it the relay's timer publishes. */
  onOutboxCommit?: () => void;
}

/** Wires the schema subgraph: DAOs → managers (one per process, the viewer passed per call) → resolvers, behind the assertion check. */
export function createSchemaServer(d: SchemaDeps) {
  const types = new CanonicalTypeDao(d.ds);
  const customTypes = new CustomCanonicalTypeDao(d.ds);
  const snapshots = new SourceSnapshotDao(d.ds);
  // One of each for the process: every method takes the viewer first.
  const canonicalTypes = new CanonicalTypeManager(types, customTypes, d.ds, d.onOutboxCommit);
  const sourceSnapshots = new SourceSnapshotManager(snapshots);
  const targetSchemas = new TargetSchemaManager(new TargetSchemaDao(d.ds), customTypes, d.ds, d.onOutboxCommit);
  return createSubgraphServer<SchemaContext>({
    name: 'schema',
    typeDefs,
    resolvers: resolvers as never,
    permissions,
    verifier: d.verifier,
    log: d.log,
    // importTargetSchema takes a schema.json of up to 768 KiB as a JSON string (escaping adds to it).
    maxBodyBytes: 2_000_000,
    readiness: {
      database: async () => checkDatabase(d.ds),
      ...(d.natsReady ? { nats: d.natsReady } : {}),
    },
    buildContext: (base) => ({
      ...base,
      canonicalTypes,
      sourceSnapshots,
      targetSchemas,
      status: () => serviceStatus(d.ds, 'schema'),
    }),
  });
}
