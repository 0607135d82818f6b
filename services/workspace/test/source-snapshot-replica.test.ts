/**
 * The workspace service's replica of each connection's latest source snapshot, fed by
 * `schema.source_snapshot.created.v1` from EVENTS through the real consumer, on a throwaway
 * database as the runtime role: a snapshot published in parts is usable once all of them arrived
 * (in any order), a redelivered part changes nothing, a newer version replaces the older one and a
 * late older one is ignored; another org sees nothing. And the event's parts stay under their size.
 */
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import {
  SOURCE_SNAPSHOT_CREATED_V1,
  STREAMS,
  sourceSnapshotCreatedParts,
  sourceSnapshotCreatedV1,
  type SnapshotTableRef,
  type SourceSnapshotCreatedV1,
} from '@datalinx/contracts';
import { workspaceDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { SourceSnapshotRefDao } from '../src/daos/source-snapshot-ref.dao';
import { startSourceSnapshotReplica } from '../src/jobs/source-snapshot-replica.consumer';
import { SourceSnapshotRefs1765230000000 } from '../src/migrations/1765230000000-source-snapshot-refs';

const table = (name: string, columns = ['id', 'email']): SnapshotTableRef => ({
  schema: 'public',
  name,
  kind: 'TABLE',
  columns: columns.map((c) => ({ name: c, type: 'text', nullable: true })),
  primaryKey: ['id'],
});

describe('the source snapshot replica', () => {
  let db: TestDatabase;
  let app: ReturnType<typeof workspaceDataSource>;
  let nats: Nats;
  let consumer: Awaited<ReturnType<typeof startSourceSnapshotReplica>>;
  let dao: SourceSnapshotRefDao;
  const orgId = randomUUID();
  const otherOrg = randomUUID();
  const workspaceId = randomUUID();
  const connectionId = randomUUID();
  const durable = `ws-snapshots-test-${randomUUID().slice(0, 8)}`;

  /** An event of this file's connection: version `version`, part `part` of `parts`. */
  const event = (version: number, part: number, parts: number, tables: SnapshotTableRef[], tableCount = tables.length): SourceSnapshotCreatedV1 =>
    sourceSnapshotCreatedV1.parse({
      orgId,
      workspaceId,
      connectionId,
      snapshotId: randomUUID(),
      version,
      runId: randomUUID(),
      tableCount,
      part,
      parts,
      tables,
      createdAt: new Date().toISOString(),
    });
  const publish = async (ev: SourceSnapshotCreatedV1) => {
    await nats.js.publish(SOURCE_SNAPSHOT_CREATED_V1, encodeJson(ev), { msgID: randomUUID() });
  };
  /** Waits until the consumer has acked everything published so far (a positive signal, no sleeping). */
  async function settled(): Promise<void> {
    for (const until = Date.now() + 20_000; ;) {
      const info = await nats.jsm.consumers.info(STREAMS.EVENTS.name, durable);
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
      if (Date.now() > until) throw new Error('the replica consumer did not settle in 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const latestNames = async (org = orgId) => {
    const snap = await dao.latest(app, org, connectionId);
    return snap ? { version: snap.version, tables: snap.tables.map((t) => t.name) } : null;
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    app = await workspaceDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 2).initialize();
    dao = new SourceSnapshotRefDao(app);
    nats = await connectNats(process.env.NATS_URL!, 'snapshot-replica-test');
    await ensureStreams(nats.jsm);
    // Only what this file publishes from now on (EVENTS is shared with every test file).
    await nats.jsm.consumers.add(STREAMS.EVENTS.name, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: SOURCE_SNAPSHOT_CREATED_V1,
    });
    consumer = await startSourceSnapshotReplica({
      js: nats.js,
      jsm: nats.jsm,
      dao,
      log: createLogger('replica-test', 'silent'),
      durable,
      accept: async (ev) => ev.orgId === orgId,
    });
  }, 60_000);

  afterAll(async () => {
    await consumer?.stop();
    await nats?.jsm.consumers.delete(STREAMS.EVENTS.name, durable).catch(() => undefined);
    await nats?.close();
    await app?.destroy();
    await db?.drop();
  });

  it('a snapshot in two parts is usable once both arrived, in any order; a redelivered part changes nothing', async () => {
    const [p1, p2] = [event(1, 1, 2, [table('customer')], 3), event(1, 2, 2, [table('invoice'), table('refund')], 3)];
    await publish(p2!);
    await settled();
    expect(await latestNames()).toBeNull();
    await publish(p1!);
    await settled();
    expect(await latestNames()).toEqual({ version: 1, tables: ['customer', 'invoice', 'refund'] });
    await publish({ ...p1!, tables: [table('planted')] });
    await settled();
    expect(await latestNames()).toEqual({ version: 1, tables: ['customer', 'invoice', 'refund'] });
    // Row-level security: another org sees nothing of it.
    expect(await latestNames(otherOrg)).toBeNull();
  });

  it('a newer version replaces the older one (its rows go); a late older version is ignored', async () => {
    await publish(event(3, 1, 1, [table('customer', ['id', 'email', 'phone'])]));
    await settled();
    expect(await latestNames()).toEqual({ version: 3, tables: ['customer'] });
    const snap = await dao.latest(app, orgId, connectionId);
    expect(snap!.tables[0]!.columns.map((c) => c.name)).toEqual(['id', 'email', 'phone']);
    await publish(event(2, 1, 1, [table('stale')]));
    await settled();
    expect(await latestNames()).toEqual({ version: 3, tables: ['customer'] });
    const admin = workspaceDataSource(db.url, 1);
    await admin.initialize();
    try {
      expect(
        await admin.query(`SELECT version, complete FROM workspace.source_snapshot_ref WHERE connection_id = $1 ORDER BY version`, [connectionId]),
      ).toEqual([{ version: 3, complete: true }]);
      expect(await admin.query(`SELECT DISTINCT version FROM workspace.source_table_ref WHERE connection_id = $1`, [connectionId])).toEqual([{ version: 3 }]);
    } finally {
      await admin.destroy();
    }
  });
});

describe('sourceSnapshotCreatedParts', () => {
  const base = {
    orgId: randomUUID(),
    workspaceId: randomUUID(),
    connectionId: randomUUID(),
    snapshotId: randomUUID(),
    version: 4,
    runId: randomUUID(),
    createdAt: new Date().toISOString(),
  };

  it('one part for a small snapshot (also an empty one)', () => {
    expect(sourceSnapshotCreatedParts(base, [table('a')]).map((p) => [p.part, p.parts, p.tableCount, p.tables.length])).toEqual([[1, 1, 1, 1]]);
    expect(sourceSnapshotCreatedParts(base, []).map((p) => [p.part, p.parts, p.tableCount, p.tables.length])).toEqual([[1, 1, 0, 0]]);
  });

  it('slices of at most maxBytes of tables, every table exactly once, each part valid', () => {
    const tables = Array.from({ length: 50 }, (_, i) =>
      table(
        `t${String(i).padStart(2, '0')}`,
        Array.from({ length: 20 }, (__, c) => `column_${c}`),
      ),
    );
    const parts = sourceSnapshotCreatedParts(base, tables, 8 * 1024);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((p) => p.tables.map((t) => t.name))).toEqual(tables.map((t) => t.name));
    for (const p of parts) {
      expect(sourceSnapshotCreatedV1.parse(p)).toEqual(p);
      expect(p).toMatchObject({ parts: parts.length, tableCount: 50 });
      expect(new TextEncoder().encode(JSON.stringify(p.tables)).length).toBeLessThanOrEqual(8 * 1024 + 100);
    }
  });
});

describe('migration SourceSnapshotRefs1765230000000', () => {
  it('is reversible: down drops both replica tables, up recreates them with their tenant isolation', async () => {
    const scratch = await createTestDatabase();
    await migrate(scratch.url);
    const admin = await workspaceDataSource(scratch.url, 2).initialize();
    const runner = admin.createQueryRunner();
    const replicaTables = async () =>
      admin.query(
        `SELECT relname, relrowsecurity AS rls, relforcerowsecurity AS forced FROM pg_class WHERE relnamespace = 'workspace'::regnamespace AND relname LIKE 'source_%_ref' ORDER BY 1`,
      );
    try {
      const isolated = [
        { relname: 'source_snapshot_ref', rls: true, forced: true },
        { relname: 'source_table_ref', rls: true, forced: true },
      ];
      expect(await replicaTables()).toEqual(isolated);
      await new SourceSnapshotRefs1765230000000().down(runner);
      expect(await replicaTables()).toEqual([]);
      await new SourceSnapshotRefs1765230000000().up(runner);
      expect(await replicaTables()).toEqual(isolated);
    } finally {
      await runner.release();
      await admin.destroy();
      await scratch.drop();
    }
  });
});
