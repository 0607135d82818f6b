import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { CANONICAL_TYPE_CREATED_V1, STREAMS, canonicalTypeCreatedV1, type CanonicalTypeCreatedV1 } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { CanonicalTypeRefDao } from '../daos/canonical-type-ref.dao';

/** The durable name production uses (one per deployment: every instance shares the work). */
export const CANONICAL_TYPE_REPLICA_DURABLE = 'workspace-canonical-types';

function parse(_subject: string, data: Uint8Array): CanonicalTypeCreatedV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('invalid canonical_type.created event: not JSON');
  }
  const parsed = canonicalTypeCreatedV1.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid canonical_type.created event: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Keeps `workspace.canonical_type_ref` in step with the schema service's custom canonical types:
 * consumes `schema.canonical_type.created.v1` from EVENTS (durable pull consumer) and upserts the
 * type in the event's tenant, so `canonicalizeColumn` resolves a custom type's name without
 * reading the schema service's tables. Idempotent (a redelivered event changes nothing); an
 * invalid event is terminated. A type is usable here a moment after it was created (the relay,
 * then this consumer): the mutation's CANONICAL_TYPE_NOT_FOUND says so. `accept` lets a caller
 * skip events (the test platform shares the stream with other databases).
 */
export async function startCanonicalTypeReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: CanonicalTypeRefDao;
  log: Logger;
  durable?: string;
  accept?: (ev: CanonicalTypeCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<CanonicalTypeCreatedV1>> {
  const consumer = new StreamConsumer<CanonicalTypeCreatedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable ?? CANONICAL_TYPE_REPLICA_DURABLE,
    filterSubject: CANONICAL_TYPE_CREATED_V1,
    concurrency: 2,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: 'canonical type events',
    parse,
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      const recorded = await o.dao.upsert(ev);
      return { orgId: ev.orgId, canonicalType: ev.name, recorded };
    },
  });
  await consumer.start();
  return consumer;
}
