import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { CANONICAL_TYPE_CREATED_V1, canonicalTypeCreatedV1, type CanonicalTypeCreatedV1 } from '@datalinx/contracts';
import { startEventReplica, type StreamConsumer } from '@datalinx/messaging';
import type { CanonicalTypeRefDao } from '../daos/canonical-type-ref.dao';

/** The durable name production uses (one per deployment: every instance shares the work). */
export const CANONICAL_TYPE_REPLICA_DURABLE = 'workspace-canonical-types';

/**
 * Keeps `workspace.canonical_type_ref` in step with the schema service's custom canonical types:
 * consumes `schema.canonical_type.created.v1` from EVENTS (durable pull consumer) and upserts the
 * type in the event's tenant, so `canonicalizeColumn` resolves a custom type's name without
 * reading the schema service's tables. Idempotent (a redelivered event changes nothing); an
 * invalid event is terminated. A type is usable here a moment after it was created (the relay,
 * then this consumer): the mutation's CANONICAL_TYPE_NOT_FOUND says so. `accept` lets a caller
 * skip events (the test platform shares the stream with other databases).
 */
export function startCanonicalTypeReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: CanonicalTypeRefDao;
  log: Logger;
  durable?: string;
  accept?: (ev: CanonicalTypeCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<CanonicalTypeCreatedV1>> {
  return startEventReplica({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    durable: o.durable ?? CANONICAL_TYPE_REPLICA_DURABLE,
    subject: CANONICAL_TYPE_CREATED_V1,
    contract: canonicalTypeCreatedV1,
    event: 'canonical_type.created',
    what: 'canonical type events',
    concurrency: 2,
    accept: o.accept,
    record: async (ev) => ({ orgId: ev.orgId, canonicalType: ev.name, recorded: await o.dao.upsert(ev) }),
  });
}
