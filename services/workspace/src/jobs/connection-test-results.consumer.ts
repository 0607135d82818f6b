import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { runEvent, STREAMS, type RunEvent } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { ConnectionDao } from '../daos/connection.dao';

function parse(_subject: string, data: Uint8Array): RunEvent {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('run event is not JSON');
  }
  const parsed = runEvent.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid run event: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Keeps each connection's status in step with its latest connection.test run: consumes the
 * terminal run.state events from RUNS. Idempotent by construction — the update sets the same
 * values however often an event is delivered, and only touches the connection whose latest run
 * it is (inside the event's tenant).
 */
export async function startConnectionTestResultsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: ConnectionDao;
  log: Logger;
  durable: string;
}): Promise<StreamConsumer<RunEvent>> {
  const consumer = new StreamConsumer<RunEvent>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.RUNS.name,
    durable: o.durable,
    filterSubject: 'runs.>',
    concurrency: 4,
    ackWaitMs: 30000,
    maxDeliver: 10,
    what: 'connection test results',
    parse,
    apply: async (ev) => {
      if (ev.type !== 'run.state' || ev.kind !== 'connection.test') return;
      if (ev.state !== 'SUCCESS' && ev.state !== 'FAILURE') return;
      const updated = await o.dao.recordTestResult(ev.orgId, ev.runId, {
        status: ev.state === 'SUCCESS' ? 'HEALTHY' : 'FAILING',
        at: new Date(ev.at),
        error: ev.state === 'FAILURE' ? (ev.error?.message ?? 'The test failed.') : null,
      });
      return { runId: ev.runId, state: ev.state, updated };
    },
  });
  await consumer.start();
  return consumer;
}
