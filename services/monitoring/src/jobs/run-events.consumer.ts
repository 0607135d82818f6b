import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { STREAMS, runEvent, runSubject, type RunEvent } from '@datalinx/contracts';
import { PermanentJobError, StreamConsumer, decodeJson } from '@datalinx/messaging';
import type { RunRecorder } from '../managers/run-recorder';

export interface RunEventsConsumerOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  recorder: RunRecorder;
  log: Logger;
  /** Durable name; every monitoring instance shares one (they split the work). */
  durable: string;
  /** Defaults to every run subject (`runs.>`); tests narrow it to their own workspace. */
  filterSubject?: string;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffBaseMs?: number;
}

/**
 * Validates one RUNS message against the versioned contract. Anything that can never be applied
 * (not JSON, unknown type/version, a subject that does not name the payload's workspace and run)
 * is a PermanentJobError: the worker terminates it instead of retrying it forever.
 */
export function parseRunEvent(subject: string, data: Uint8Array): RunEvent {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('run event is not JSON', 'RUN_EVENT_NOT_JSON');
  }
  const parsed = runEvent.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentJobError(`run event does not match the contract: ${issues}`, 'RUN_EVENT_INVALID');
  }
  if (subject !== runSubject(parsed.data.workspaceId, parsed.data.runId)) {
    throw new PermanentJobError(`run event published on ${subject}, not on its run's subject`, 'RUN_EVENT_WRONG_SUBJECT');
  }
  return parsed.data;
}

/**
 * The RUNS consumer: a durable pull consumer feeding the RunRecorder with bounded concurrency.
 * Ack after the event's transaction committed; nak with backoff when the database fails
 * (transient); term for invalid messages and events the recorder rejects. Recording is
 * idempotent, so a redelivery after a crash between commit and ack is harmless.
 */
export class RunEventsConsumer extends StreamConsumer<RunEvent> {
  constructor(o: RunEventsConsumerOptions) {
    super({
      js: o.js,
      jsm: o.jsm,
      log: o.log,
      stream: STREAMS.RUNS.name,
      durable: o.durable,
      filterSubject: o.filterSubject ?? 'runs.>',
      concurrency: o.concurrency,
      ackWaitMs: o.ackWaitMs,
      maxDeliver: o.maxDeliver,
      backoffBaseMs: o.backoffBaseMs,
      what: 'run events',
      parse: parseRunEvent,
      apply: async (ev) => ({ eventId: ev.eventId, runId: ev.runId, type: ev.type, outcome: await o.recorder.record(ev) }),
    });
  }
}
