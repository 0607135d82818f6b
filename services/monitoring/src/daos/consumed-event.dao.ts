import type { EntityManager } from 'typeorm';

/** The idempotency ledger of the run-events consumer (event ids are global, not per tenant). */
export class ConsumedEventDao {
  constructor(private readonly em: EntityManager) {}

  /**
   * Records the event id; false when it was already recorded (the event was applied before).
   * A concurrent delivery of the same id waits on the primary key until the first commits.
   */
  async markConsumed(eventId: string): Promise<boolean> {
    const inserted: unknown[] = await this.em.query(
      `INSERT INTO monitoring.consumed_event (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      [eventId],
    );
    return inserted.length > 0;
  }
}
