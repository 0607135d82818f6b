import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { SOURCE_SNAPSHOT_CREATED_V1, sourceSnapshotCreatedV1, type SourceSnapshotCreatedV1 } from '@datalinx/contracts';
import { startEventReplica, type StreamConsumer } from '@datalinx/messaging';
import type { SourceSnapshotRefDao } from '../daos/source-snapshot-ref.dao';

/** The durable name production uses (one per deployment: every instance shares the work). */
export const SOURCE_SNAPSHOT_REPLICA_DURABLE = 'workspace-source-snapshots';

/**
 * Keeps `workspace.source_snapshot_ref` / `source_table_ref` at each connection's latest source
 * snapshot: consumes `schema.source_snapshot.created.v1` from EVENTS (durable pull consumer) and
 * records each part in the event's tenant, so `syncConnection` checks tables and columns against
 * what discovery found without reading the schema service's tables. Idempotent (a redelivered
 * part, or a part of a version older than the latest, changes nothing); an invalid event is
 * terminated. A snapshot is usable here a moment after discovery ends (the schema service's relay,
 * then this consumer). `accept` lets a caller skip events (the test platform shares the stream).
 */
export function startSourceSnapshotReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: SourceSnapshotRefDao;
  log: Logger;
  durable?: string;
  accept?: (ev: SourceSnapshotCreatedV1) => Promise<boolean>;
}): Promise<StreamConsumer<SourceSnapshotCreatedV1>> {
  return startEventReplica({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    durable: o.durable ?? SOURCE_SNAPSHOT_REPLICA_DURABLE,
    subject: SOURCE_SNAPSHOT_CREATED_V1,
    contract: sourceSnapshotCreatedV1,
    event: 'source_snapshot.created',
    what: 'source snapshot events',
    concurrency: 2,
    accept: o.accept,
    record: async (ev) => ({
      orgId: ev.orgId,
      connectionId: ev.connectionId,
      version: ev.version,
      part: `${ev.part}/${ev.parts}`,
      outcome: await o.dao.apply(ev),
    }),
  });
}
