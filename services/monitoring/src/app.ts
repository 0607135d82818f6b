import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { MonitoringContext } from './graphql/context';
import { RunManager } from './managers/run.manager';
import { RunDao } from './daos/run.dao';
import { RunStepDao } from './daos/run-step.dao';
import { AuditLogManager } from './managers/audit-log.manager';
import { AuditLogDao } from './daos/audit-log.dao';
import type { RunCanceler } from './managers/run-canceler';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface MonitoringDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
  /** How cancelRun reaches the workers (`natsRunCanceler` over the service's NATS connection). */
  canceler?: RunCanceler;
}

/** Wires the monitoring subgraph: DAOs → managers (one per process, the viewer passed per call) → resolvers, behind the assertion check. */
export function createMonitoringServer(d: MonitoringDeps) {
  const runs = new RunDao(d.ds);
  const steps = new RunStepDao(d.ds);
  const auditLog = new AuditLogDao(d.ds);
  // One of each for the process: every method takes the viewer first.
  const runManager = new RunManager(runs, steps, d.canceler);
  const auditManager = new AuditLogManager(auditLog);
  return createSubgraphServer<MonitoringContext>({
    name: 'monitoring',
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
      runs: runManager,
      audit: auditManager,
      status: () => serviceStatus(d.ds, 'monitoring'),
    }),
  });
}
