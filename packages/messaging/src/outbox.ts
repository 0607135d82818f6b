import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { Pump, type Logger } from '@datalinx/common';
import type { JetStreamClient } from '@nats-io/jetstream';
import { OutboxEvent } from './outbox.entity';
import { encodeJson } from './nats';
import { parseEventBody, type EventBodyOf, type RegisteredSubject } from '@datalinx/contracts';

/**
 * Adds an event to the outbox inside the caller's transaction. Returns its id (the msgID). The
 * subject must be in the event registry of `@datalinx/contracts` and the body must pass its
 * contract: a bad body throws before anything is written (the body is stored as given).
 */
export async function enqueueOutbox<S extends RegisteredSubject>(
  em: EntityManager,
  subject: S,
  payload: EventBodyOf<S>,
  id: string = randomUUID(),
): Promise<string> {
  parseEventBody(subject, payload);
  await em
    .createQueryBuilder()
    .insert()
    .into(OutboxEvent)
    .values({ id, subject, payload: payload as never, sentAt: null, attempts: 0, lastError: null })
    .execute();
  return id;
}

export interface OutboxRelayOptions {
  batchSize?: number;
  pollIntervalMs?: number;
}

/**
 * Publishes pending outbox rows to JetStream, oldest first, and marks them sent.
 * - Rows are claimed with FOR UPDATE SKIP LOCKED, so several instances can relay at once.
 * - The row is marked sent only after JetStream acknowledged it; a crash in between republishes
 *   with the same msgID, which JetStream's duplicate window drops.
 * - `kick()` after a commit publishes at once; a timer catches anything missed (NATS down, crash).
 */
export class OutboxRelay {
  private readonly pump: Pump;
  private readonly batchSize: number;

  constructor(
    private readonly ds: DataSource,
    private readonly js: JetStreamClient,
    private readonly log: Logger,
    opts: OutboxRelayOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 100;
    this.pump = new Pump(() => this.drain(), { intervalMs: opts.pollIntervalMs ?? 1000, log, what: 'outbox relay' });
  }

  start(): this {
    this.pump.start();
    return this;
  }

  /** Publishes at once (call it after a commit that wrote to the outbox). */
  kick(): void {
    this.pump.kick();
  }

  /** Publishes until nothing is pending. Returns how many rows were sent. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const sent = await this.relayBatch();
      total += sent;
      if (sent < this.batchSize) return total;
    }
  }

  private async relayBatch(): Promise<number> {
    return this.ds
      .transaction(async (em) => {
        const rows = await em
          .createQueryBuilder(OutboxEvent, 'o')
          .where('o.sentAt IS NULL')
          .orderBy('o.seq', 'ASC')
          .limit(this.batchSize)
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .getMany();
        const sentIds: string[] = [];
        for (const row of rows) {
          try {
            await this.js.publish(row.subject, encodeJson(row.payload), { msgID: row.id, timeout: 5000 });
            sentIds.push(row.id);
          } catch (err) {
            await em.update(OutboxEvent, { id: row.id }, { attempts: () => 'attempts + 1', lastError: (err as Error).message.slice(0, 500) });
            this.log.warn({ outboxId: row.id, subject: row.subject, err: (err as Error).message }, 'outbox publish failed');
            break; // keep order: retry this row first on the next pass
          }
        }
        if (sentIds.length)
          await em
            .createQueryBuilder()
            .update(OutboxEvent)
            .set({ sentAt: () => 'now()' })
            .whereInIds(sentIds)
            .execute();
        return sentIds.length === rows.length ? rows.length : -1;
      })
      .then((n) => (n < 0 ? 0 : n));
  }

  async stop(): Promise<void> {
    await this.pump.stop();
  }
}
