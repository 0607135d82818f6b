import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { WORKSPACE_CREATED_V1, workspaceCreatedV1, type WorkspaceCreatedV1 } from '@datalinx/contracts';
import { startWorkspaceReplica, type StreamConsumer } from '@datalinx/messaging';
import type { WorkspaceRefDao } from '../daos/workspace-ref.dao';

export { WORKSPACE_CREATED_V1, workspaceCreatedV1, type WorkspaceCreatedV1 };

/**
 * Keeps mapping.workspace_ref in step with the workspace service (the shared replica consumer of
 * @datalinx/messaging), so `createMapping` can refuse a workspace of another org (or none).
 */
export function startWorkspaceEventsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: WorkspaceRefDao;
  log: Logger;
  durable: string;
  accept?: (ev: WorkspaceCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<WorkspaceCreatedV1>> {
  return startWorkspaceReplica({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    durable: o.durable,
    record: (orgId, ws) => o.dao.upsert(orgId, ws),
    ...(o.accept ? { accept: o.accept } : {}),
  });
}
