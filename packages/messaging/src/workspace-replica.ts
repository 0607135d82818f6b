import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { STREAMS, WORKSPACE_CREATED_V1, workspaceCreatedV1, type WorkspaceCreatedV1 } from '@datalinx/contracts';
import { decodeJson } from './nats';
import { PermanentJobError, StreamConsumer } from './consumer';

function parse(_subject: string, data: Uint8Array): WorkspaceCreatedV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('invalid workspace.created event: not JSON');
  }
  const parsed = workspaceCreatedV1.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid workspace.created event: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

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
  const consumer = new StreamConsumer<WorkspaceCreatedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable,
    filterSubject: WORKSPACE_CREATED_V1,
    concurrency: 4,
    ackWaitMs: 30000,
    maxDeliver: 10,
    what: 'workspace events',
    parse,
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      const inserted = await o.record(ev.orgId, ev.workspaceId);
      return { orgId: ev.orgId, workspaceId: ev.workspaceId, inserted };
    },
  });
  await consumer.start();
  return consumer;
}
