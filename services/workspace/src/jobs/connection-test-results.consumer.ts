import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { runEvent, STREAMS } from '@datalinx/contracts';
import { decodeJson, ensureDurableConsumer, PermanentJobError, PullWorker } from '@datalinx/messaging';
import type { ConnectionDao } from '../daos/connection.dao';

/**
 * Keeps each connection's status in step with its latest connection.test run: consumes the
 * terminal run.state events from RUNS. Idempotent by construction — the update sets the same
 * values however often an event is delivered, and only touches the connection whose latest run
 * it is.
 */
export async function startConnectionTestResultsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: ConnectionDao;
  log: Logger;
  durable: string;
}): Promise<PullWorker> {
  const consumer = { stream: STREAMS.RUNS.name, durable: o.durable, filterSubject: 'runs.>', ackWaitMs: 30000, maxDeliver: 10 };
  await ensureDurableConsumer(o.jsm, consumer);
  const worker = new PullWorker({
    js: o.js,
    consumer,
    concurrency: 4,
    log: o.log.child({ consumer: o.durable }),
    handle: async (msg) => {
      const parsed = runEvent.safeParse(decodeJson(msg.data));
      if (!parsed.success) throw new PermanentJobError(`invalid run event: ${parsed.error.issues[0]?.message}`);
      const ev = parsed.data;
      if (ev.type !== 'run.state' || ev.kind !== 'connection.test') return;
      if (ev.state !== 'SUCCESS' && ev.state !== 'FAILURE') return;
      const n = await o.dao.recordTestResult(ev.orgId, ev.runId, {
        status: ev.state === 'SUCCESS' ? 'HEALTHY' : 'FAILING',
        at: new Date(ev.at),
        error: ev.state === 'FAILURE' ? (ev.error?.message ?? 'The test failed.') : null,
      });
      o.log.debug({ runId: ev.runId, state: ev.state, updated: n }, 'connection test result recorded');
    },
  });
  await worker.start();
  return worker;
}
