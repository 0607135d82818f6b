import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import type { DataSource } from 'typeorm';
import { createLogger } from '@datalinx/common';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { ConsumedEventPruner } from '../src/managers/consumed-event-pruner';
import { RunRecorder } from '../src/managers/run-recorder';
import { envSchema } from '../src/env';
import { newRunRef, stateEvent } from './support/run-events';

const DAY = 86_400_000;

/** The idempotency ledger stays bounded: ids older than the retention go, newer ones still deduplicate. */
describe('ConsumedEventPruner', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let app: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
  });

  afterAll(async () => {
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  it('deletes ids older than the retention, in batches, as the runtime role, and keeps the rest working', async () => {
    const recorder = new RunRecorder(app);
    const recent = stateEvent(newRunRef(), 'STARTED');
    expect(await recorder.record(recent)).toBe('applied');
    // 25 old ids (as if consumed 40 days ago) and the recent one.
    await ds.query(
      `INSERT INTO monitoring.consumed_event (event_id, consumed_at) SELECT 'old-' || g, now() - interval '40 days' FROM generate_series(1, 25) g`,
    );
    await ds.query(`INSERT INTO monitoring.consumed_event (event_id, consumed_at) VALUES ('edge', now() - interval '30 days')`);

    const pruner = new ConsumedEventPruner({ ds: app, log: createLogger('test', 'silent'), retentionMs: 31 * DAY, batchSize: 10 });
    expect(await pruner.prune()).toBe(25);
    const left = (await ds.query(`SELECT event_id FROM monitoring.consumed_event ORDER BY event_id`)) as Array<{ event_id: string }>;
    expect(left.map((r) => r.event_id)).toEqual(['edge', recent.eventId].sort());
    // The recent event is still recognized as applied.
    expect(await recorder.record(recent)).toBe('duplicate');
    expect(await pruner.prune()).toBe(0);
  });

  it('refuses a retention shorter than the streams keep events', () => {
    const retention = envSchema.shape.CONSUMED_EVENT_RETENTION_DAYS;
    expect(retention.safeParse('7').success).toBe(false);
    expect(retention.safeParse('30').success).toBe(false);
    expect(retention.parse('31')).toBe(31);
    expect(retention.parse(undefined)).toBe(31);
  });
});
