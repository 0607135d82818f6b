import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import {
  DISCOVERY_COMPLETED_V1,
  SOURCE_TABLE_DISCOVERED_V1,
  STREAMS,
  discoveryCompletedV1,
  sourceTableDiscoveredV1,
  type DiscoveryCompletedV1,
  type SourceTableDiscoveredV1,
} from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { SourceSnapshotDao } from '../daos/source-snapshot.dao';

function parser<T>(
  what: string,
  schema: {
    safeParse: (v: unknown) => { success: true; data: T } | { success: false; error: { issues: Array<{ path: (string | number)[]; message: string }> } };
  },
) {
  return (_subject: string, data: Uint8Array): T => {
    let body: unknown;
    try {
      body = decodeJson(data);
    } catch {
      throw new PermanentJobError(`invalid ${what} event: not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success)
      throw new PermanentJobError(`invalid ${what} event: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
}

export interface DiscoveryConsumers {
  stop: () => Promise<void>;
}

/**
 * Turns the workers' discovery results (EVENTS) into snapshots, each in the event's tenant:
 * `schema.source_table.discovered.v1` is staged per run (durable `<durable>-tables`), and
 * `schema.discovery.completed.v1` (durable `<durable>-completed`) builds the connection's next
 * snapshot with its diff once all `tableCount` tables are staged (until then it is retried with
 * backoff), writing its `schema.source_snapshot.created.v1` event to the outbox in the same
 * transaction. Both are idempotent: a staged table overwrites itself, a run builds one snapshot.
 * `accept` lets a caller skip events (the test platform shares the stream with other databases).
 */
export async function startDiscoveryConsumers(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: SourceSnapshotDao;
  log: Logger;
  durable: string;
  accept?: (orgId: string) => Promise<boolean>;
  /** Called after a snapshot (and its outbox event) committed: kicks the outbox relay. */
  onOutboxCommit?: () => void;
}): Promise<DiscoveryConsumers> {
  const tables = new StreamConsumer<SourceTableDiscoveredV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: `${o.durable}-tables`,
    filterSubject: SOURCE_TABLE_DISCOVERED_V1,
    concurrency: 4,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: 'discovered tables',
    parse: parser('source_table.discovered', sourceTableDiscoveredV1),
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev.orgId))) return;
      await o.dao.stage(ev);
      return { runId: ev.runId, table: `${ev.table.schema}.${ev.table.name}` };
    },
  });
  const completed = new StreamConsumer<DiscoveryCompletedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: `${o.durable}-completed`,
    filterSubject: DISCOVERY_COMPLETED_V1,
    concurrency: 2,
    ackWaitMs: 60_000,
    // Retried while the run's tables are still arriving (DiscoveryIncompleteError).
    maxDeliver: 20,
    backoffBaseMs: 200,
    what: 'discovery completions',
    parse: parser('discovery.completed', discoveryCompletedV1),
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev.orgId))) return;
      const snap = await o.dao.complete(ev);
      if (snap) o.onOutboxCommit?.();
      return { runId: ev.runId, connectionId: ev.connectionId, version: snap?.version ?? null, redelivered: !snap };
    },
  });
  await tables.start();
  await completed.start();
  return {
    stop: async () => {
      await tables.stop();
      await completed.stop();
    },
  };
}
