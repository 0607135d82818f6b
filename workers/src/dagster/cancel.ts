import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from '@datalinx/common';
import { RUN_CANCEL_QUEUE, RUN_CANCEL_SUBJECT_PREFIX, runCancelRequestV1, type RunCancelReplyV1 } from '@datalinx/contracts';
import { DagsterError, DAGSTER_TERMINAL, type DagsterClient } from './client';
import { RUN_TAG, WORKSPACE_TAG } from './follow';

/**
 * Cancels a run of ours that Dagster executes: its Dagster run (tag `datalinx/run`, of the same
 * workspace) is terminated — a queued one is CANCELED at once, a started one goes CANCELING while
 * its step process is interrupted (the Pipes load gets SIGINT), then CANCELED. The worker that
 * follows the run reports both on RUNS.
 */
export async function cancelDagsterRun(client: DagsterClient, workspaceId: string, runId: string): Promise<RunCancelReplyV1> {
  const runs = (await client.runsTagged(RUN_TAG, runId)).filter((r) => r.tags[WORKSPACE_TAG] === workspaceId);
  if (!runs.length)
    return {
      ok: false,
      error: { code: 'RUN_NOT_FOUND', message: `Run ${runId} has no Dagster run (it is not a pipeline run, or it has not been launched yet).` },
    };
  const live = runs.find((r) => !DAGSTER_TERMINAL.includes(r.status));
  if (!live) return { ok: false, error: { code: 'RUN_FINISHED', message: `Run ${runId} has already finished (${runs[0]!.status}).` } };
  const after = await client.terminateRun(live.runId);
  return { ok: true, dagsterRunId: live.runId, state: after.status === 'CANCELED' ? 'CANCELED' : 'CANCELING' };
}

/** Answers `dlx.run.cancel.<workspaceId>` requests (queue group `dlx-run-cancel`: one worker answers each). */
export function startCancelResponder(o: { nc: NatsConnection; log: Logger; client: DagsterClient }): { stop(): Promise<void> } {
  const sub: Subscription = o.nc.subscribe(`${RUN_CANCEL_SUBJECT_PREFIX}.*`, {
    queue: RUN_CANCEL_QUEUE,
    callback: (err, msg) => {
      if (err) {
        o.log.warn({ err: err.message }, 'run cancel subscription error');
        return;
      }
      void (async () => {
        let reply: RunCancelReplyV1;
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          body = undefined;
        }
        const req = runCancelRequestV1.safeParse(body);
        if (!req.success || msg.subject !== `${RUN_CANCEL_SUBJECT_PREFIX}.${req.data.workspaceId}`) {
          reply = {
            ok: false,
            error: { code: 'INVALID_REQUEST', message: 'run cancel request refused: not a v1 request for the workspace its subject names' },
          };
        } else {
          try {
            reply = await cancelDagsterRun(o.client, req.data.workspaceId, req.data.runId);
          } catch (e) {
            reply = {
              ok: false,
              error: { code: 'DAGSTER_UNAVAILABLE', message: e instanceof DagsterError ? e.message : `Dagster could not be asked: ${(e as Error).message}` },
            };
          }
          o.log.info({ runId: req.data.runId, ok: reply.ok }, 'run cancel requested');
        }
        msg.respond(JSON.stringify(reply));
      })();
    },
  });
  return { stop: async () => sub.unsubscribe() };
}
