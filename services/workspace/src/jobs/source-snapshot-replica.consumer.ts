import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { SOURCE_SNAPSHOT_CREATED_V1, STREAMS, sourceSnapshotCreatedV1, type SourceSnapshotCreatedV1 } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { SourceSnapshotRefDao } from '../daos/source-snapshot-ref.dao';

/** The durable name production uses (one per deployment: every instance shares the work). */
export const SOURCE_SNAPSHOT_REPLICA_DURABLE = 'workspace-source-snapshots';

function parse(_subject: string, data: Uint8Array): SourceSnapshotCreatedV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('invalid source_snapshot.created event: not JSON');
  }
  const parsed = sourceSnapshotCreatedV1.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid source_snapshot.created event: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Keeps `workspace.source_snapshot_ref` / `source_table_ref` at each connection's latest source
 * snapshot: consumes `schema.source_snapshot.created.v1` from EVENTS (durable pull consumer) and
 * records each part in the event's tenant, so `syncConnection` checks tables and columns against
 * what discovery found without reading the schema service's tables. Idempotent (a redelivered
 * part, or a part of a version older than the latest, changes nothing); an invalid event is
 * terminated. A snapshot is usable here a moment after discovery ends (the schema service's relay,
 * then this consumer). `accept` lets a caller skip events (the test platform shares the stream).
 */
export async function startSourceSnapshotReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: SourceSnapshotRefDao;
  log: Logger;
  durable?: string;
  accept?: (ev: SourceSnapshotCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<SourceSnapshotCreatedV1>> {
  const consumer = new StreamConsumer<SourceSnapshotCreatedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable ?? SOURCE_SNAPSHOT_REPLICA_DURABLE,
    filterSubject: SOURCE_SNAPSHOT_CREATED_V1,
    concurrency: 2,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: 'source snapshot events',
    parse,
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      const outcome = await o.dao.apply(ev);
      return { orgId: ev.orgId, connectionId: ev.connectionId, version: ev.version, part: `${ev.part}/${ev.parts}`, outcome };
    },
  });
  await consumer.start();
  return consumer;
}
