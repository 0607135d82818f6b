import { runCancelReplyV1, runCancelSubject, type RunCancelReplyV1 } from '@datalinx/contracts';

/** Asks the data plane to cancel a run (the workers with Dagster terminate its Dagster run). */
export type RunCanceler = (run: { workspaceId: string; id: string }) => Promise<RunCancelReplyV1>;

const UNAVAILABLE = (message: string): RunCancelReplyV1 => ({ ok: false, error: { code: 'DAGSTER_UNAVAILABLE', message } });

/**
 * A core NATS request on `dlx.run.cancel.<workspaceId>` (runCancelRequestV1), answered by one
 * worker that has Dagster. No worker listening, no answer in `timeoutMs`, or a reply that is not
 * a runCancelReplyV1 give a DAGSTER_UNAVAILABLE reply.
 */
/** What the canceler needs of a NATS connection (core request/reply). */
export interface NatsRequester {
  request(subject: string, payload: string, opts: { timeout: number }): Promise<{ json(): unknown }>;
}

export function natsRunCanceler(nc: NatsRequester, timeoutMs = 15_000): RunCanceler {
  return async (run) => {
    let body: unknown;
    try {
      const msg = await nc.request(runCancelSubject(run.workspaceId), JSON.stringify({ v: 1, workspaceId: run.workspaceId, runId: run.id }), {
        timeout: timeoutMs,
      });
      body = msg.json();
    } catch (err) {
      const why = /503|no responders/i.test(String((err as Error).message)) ? 'no worker with Dagster is running' : 'no worker answered in time';
      return UNAVAILABLE(`The run could not be canceled now: ${why}. Try again in a moment.`);
    }
    const reply = runCancelReplyV1.safeParse(body);
    return reply.success ? reply.data : UNAVAILABLE('The run could not be canceled now: the worker sent an unexpected reply.');
  };
}
