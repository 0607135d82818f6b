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

  /**
   * Deletes up to `limit` ids recorded before `before` (oldest first; the consumed_at index finds
   * them) and returns how many went. SKIP LOCKED: a concurrent pruner of another instance takes
   * other rows instead of waiting.
   */
  async pruneBefore(before: Date, limit: number): Promise<number> {
    const [{ n }] = (await this.em.query(
      `WITH gone AS (
         DELETE FROM monitoring.consumed_event WHERE event_id IN (
           SELECT event_id FROM monitoring.consumed_event WHERE consumed_at < $1 ORDER BY consumed_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ) RETURNING 1
       ) SELECT count(*)::int AS n FROM gone`,
      [before, limit],
    )) as Array<{ n: number }>;
    return n;
  }
}
