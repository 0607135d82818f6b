import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { WORKSPACE_CREATED_V1, workspaceCreatedV1, type WorkspaceCreatedV1 } from '@datalinx/contracts';
import { startEventReplica, type StreamConsumer } from './consumer';

/**
 * Keeps a service's replica of workspace ownership in step with the workspace service: consumes
 * `workspace.workspace.created.v1` from EVENTS and hands each (org, workspace) pair to `record`,
 * so the service can refuse a workspace id of another org (or none) without calling the workspace
 * service. Services never call each other; each keeps its own replica table under its own
 * durable consumer. `record` must be idempotent (an upsert): a redelivered event changes nothing.
 * An invalid event is terminated. `accept` lets a caller skip events (the test platform shares
 * the stream with other databases).
 */
export async function startWorkspaceReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  durable: string;
  record: (orgId: string, workspaceId: string) => Promise<boolean>;
  accept?: (ev: WorkspaceCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<WorkspaceCreatedV1>> {
  return startEventReplica({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    durable: o.durable,
    subject: WORKSPACE_CREATED_V1,
    contract: workspaceCreatedV1,
    event: 'workspace.created',
    what: 'workspace events',
    concurrency: 4,
    accept: o.accept,
    record: async (ev) => ({ orgId: ev.orgId, workspaceId: ev.workspaceId, inserted: await o.record(ev.orgId, ev.workspaceId) }),
  });
}
