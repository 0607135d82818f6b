import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { STREAMS, auditSubject, parseAuditEvent, type AuditEventV1 } from '@datalinx/contracts';
import { PermanentJobError, StreamConsumer, decodeJson } from '@datalinx/messaging';
import type { AuditRecorder } from '../managers/audit-recorder';

export interface AuditEventsConsumerOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  recorder: AuditRecorder;
  log: Logger;
  /** Durable name; every monitoring instance shares one (they split the work). */
  durable: string;
  /** Defaults to every audit subject (`audit.>`); tests narrow it to their own orgs. */
  filterSubject?: string;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffBaseMs?: number;
}

/**
 * Validates one audit message (either accepted shape, normalized to V1). Anything that can never
 * be stored — not JSON, not the contract (a detail key naming a secret included), a subject
 * that is not `audit.<the event's org>` — is a PermanentJobError: terminated, never retried.
 */
export function parseAuditMessage(subject: string, data: Uint8Array): AuditEventV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('audit event is not JSON', 'AUDIT_EVENT_NOT_JSON');
  }
  const parsed = parseAuditEvent(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PermanentJobError(`audit event does not match the contract: ${issues}`, 'AUDIT_EVENT_INVALID');
  }
  if (subject !== auditSubject(parsed.data.orgId)) {
    throw new PermanentJobError(`audit event published on ${subject}, not on its organization's subject`, 'AUDIT_EVENT_WRONG_SUBJECT');
  }
  return parsed.data;
}

/**
 * The audit consumer: a durable pull consumer on EVENTS (`audit.>`) feeding the AuditRecorder
 * with bounded concurrency. Ack after the row committed; nak with backoff when the database
 * fails; term for invalid messages. Recording is idempotent by event id, so a redelivery or a
 * republish is harmless. Logs carry ids and actions only, never the event's details.
 */
export class AuditEventsConsumer extends StreamConsumer<AuditEventV1> {
  constructor(o: AuditEventsConsumerOptions) {
    super({
      js: o.js,
      jsm: o.jsm,
      log: o.log,
      stream: STREAMS.EVENTS.name,
      durable: o.durable,
      filterSubject: o.filterSubject ?? 'audit.>',
      concurrency: o.concurrency,
      ackWaitMs: o.ackWaitMs,
      maxDeliver: o.maxDeliver,
      backoffBaseMs: o.backoffBaseMs,
      what: 'audit events',
      parse: parseAuditMessage,
      apply: async (ev) => ({ eventId: ev.id, orgId: ev.orgId, action: ev.action, outcome: await o.recorder.record(ev) }),
    });
  }
}
