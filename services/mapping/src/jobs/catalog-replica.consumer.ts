import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { z } from 'zod';
import type { Logger } from '@datalinx/common';
import {
  CANONICAL_TYPE_CREATED_V1,
  SOURCE_SNAPSHOT_CREATED_V1,
  STREAMS,
  canonicalTypeCreatedV1,
  type CanonicalTypeCreatedV1,
  TARGET_SCHEMA_CHANGED_V1,
  sourceSnapshotCreatedV1,
  targetSchemaChangedV1,
  type SourceSnapshotCreatedV1,
  type TargetSchemaChangedV1,
} from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer, startEventReplica } from '@datalinx/messaging';
import type { CatalogDao } from '../daos/catalog.dao';
import type { DriftRecorder } from './drift';

/** Durable names production uses (one per deployment: every instance shares the work). */
export const TARGET_SCHEMA_REPLICA_DURABLE = 'mapping-target-schemas';
export const SOURCE_SNAPSHOT_REPLICA_DURABLE = 'mapping-source-snapshots';

const parser =
  <T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, what: string) =>
  (_subject: string, data: Uint8Array): T => {
    let body: unknown;
    try {
      body = decodeJson(data);
    } catch {
      throw new PermanentJobError(`invalid ${what} event: not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new PermanentJobError(`invalid ${what} event: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };

/**
 * Keeps `mapping.target_schema_ref` at each workspace's highest target schema version
 * (`schema.target_schema.changed.v1`); idempotent: an older or repeated version changes nothing.
 * `accept` lets a caller skip events (the test platform shares the stream).
 */
export async function startTargetSchemaReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: CatalogDao;
  log: Logger;
  durable?: string;
  accept?: (ev: TargetSchemaChangedV1) => Promise<boolean>;
  /** Called when a newer version was recorded (the workspace's dbt project may change). */
  workspaceChanged?: (orgId: string, workspaceId: string) => void;
}): Promise<StreamConsumer<TargetSchemaChangedV1>> {
  const consumer = new StreamConsumer<TargetSchemaChangedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable ?? TARGET_SCHEMA_REPLICA_DURABLE,
    filterSubject: TARGET_SCHEMA_CHANGED_V1,
    concurrency: 2,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: 'target schema events',
    parse: parser(targetSchemaChangedV1, 'target_schema.changed'),
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      const recorded = await o.dao.applyTargetSchema(ev);
      if (recorded) o.workspaceChanged?.(ev.orgId, ev.workspaceId);
      return { orgId: ev.orgId, workspaceId: ev.workspaceId, version: ev.version, recorded };
    },
  });
  await consumer.start();
  return consumer;
}

/**
 * Keeps `mapping.source_snapshot_ref` / `source_table_ref` at each connection's latest source
 * snapshot (`schema.source_snapshot.created.v1`, in parts); idempotent (a redelivered part, or a
 * part of a version older than the latest, changes nothing). When the last part of a version
 * arrives, drift is detected in the same transaction (mappings whose sources it removed or
 * retyped get a notice and an event), so a redelivery cannot detect it twice or miss it.
 */
export async function startSourceSnapshotReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: CatalogDao;
  drift: DriftRecorder;
  log: Logger;
  durable?: string;
  accept?: (ev: SourceSnapshotCreatedV1) => Promise<boolean>;
  afterCommit?: () => void;
  /** Called when a snapshot's last part arrived (the workspace's dbt project may change). */
  workspaceChanged?: (orgId: string, workspaceId: string) => void;
}): Promise<StreamConsumer<SourceSnapshotCreatedV1>> {
  const consumer = new StreamConsumer<SourceSnapshotCreatedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable ?? SOURCE_SNAPSHOT_REPLICA_DURABLE,
    filterSubject: SOURCE_SNAPSHOT_CREATED_V1,
    concurrency: 2,
    ackWaitMs: 60_000,
    maxDeliver: 10,
    what: 'source snapshot events',
    parse: parser(sourceSnapshotCreatedV1 as unknown as z.ZodType<SourceSnapshotCreatedV1, z.ZodTypeDef, unknown>, 'source_snapshot.created'),
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      const { outcome, drifted } = await o.dao.applySnapshotPart(ev, (em, previous, current) =>
        o.drift.record(em, ev.orgId, ev.workspaceId, previous, current),
      );
      if (drifted) o.afterCommit?.();
      if (outcome === 'COMPLETED') o.workspaceChanged?.(ev.orgId, ev.workspaceId);
      return { orgId: ev.orgId, connectionId: ev.connectionId, version: ev.version, part: `${ev.part}/${ev.parts}`, outcome, drifted };
    },
  });
  await consumer.start();
  return consumer;
}

export const CANONICAL_TYPE_REPLICA_DURABLE = 'mapping-canonical-types';

/**
 * Keeps `mapping.canonical_type_ref` in step with the organizations' own canonical types
 * (`schema.canonical_type.created.v1`), which CANONICALIZE and the generated format tests use.
 * Idempotent; an invalid event is terminated.
 */
export function startCanonicalTypeReplica(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: CatalogDao;
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
    record: async (ev) => ({ orgId: ev.orgId, canonicalType: ev.name, recorded: await o.dao.applyCanonicalType(ev) }),
  });
}
