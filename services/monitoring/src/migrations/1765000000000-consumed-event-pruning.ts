import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why: `consumed_event` (the consumers' idempotency ledger) grew by one row per RUNS and audit
 * event, forever. An id only matters while its event can still be delivered, and RUNS and EVENTS
 * keep messages 30 days (max_age in @datalinx/messaging's ensureStreams); the pruner
 * (managers/consumed-event-pruner.ts) deletes rows older than that. This index lets it find them
 * without scanning the ledger.
 */
export class ConsumedEventPruning1765000000000 implements MigrationInterface {
  name = 'ConsumedEventPruning1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX consumed_event_consumed_at_idx ON monitoring.consumed_event (consumed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX monitoring.consumed_event_consumed_at_idx`);
  }
}
