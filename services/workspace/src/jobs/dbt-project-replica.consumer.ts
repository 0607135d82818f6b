import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { DBT_PROJECT_PUBLISHED_V1, dbtProjectPublishedV1, type DbtProjectPublishedV1 } from '@datalinx/contracts';
import { startEventReplica, type StreamConsumer } from '@datalinx/messaging';
import type { DbtProjectRefDao } from '../daos/dbt-project-ref.dao';

/** The durable name production uses (one per deployment: every instance shares the work). */
export const DBT_PROJECT_REPLICA_DURABLE = 'workspace-dbt-projects';

/**
 * Keeps `workspace.dbt_project_ref` at each workspace's latest published dbt project
 * (`mapping.dbt_project.published.v1` from EVENTS), so a dispatched pipeline run names the
 * project version it builds. Idempotent (an older or redelivered version changes nothing); an
 * invalid event is terminated. `accept` lets a caller skip events (the test platform shares the stream).
 */
export function startDbtProjectReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: DbtProjectRefDao;
  log: Logger;
  durable?: string;
  accept?: (ev: DbtProjectPublishedV1) => Promise<boolean>;
}): Promise<StreamConsumer<DbtProjectPublishedV1>> {
  return startEventReplica({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    durable: o.durable ?? DBT_PROJECT_REPLICA_DURABLE,
    subject: DBT_PROJECT_PUBLISHED_V1,
    contract: dbtProjectPublishedV1,
    event: 'dbt_project.published',
    what: 'dbt project events',
    concurrency: 2,
    accept: o.accept,
    record: async (ev) => ({ orgId: ev.orgId, workspaceId: ev.workspaceId, version: ev.version, recorded: await o.dao.record(ev) }),
  });
}
