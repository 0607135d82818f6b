import type { DataSource } from 'typeorm';
import { Pump, type Logger } from '@datalinx/common';
import { ConsumedEventDao } from '../daos/consumed-event.dao';

export interface ConsumedEventPrunerOptions {
  ds: DataSource;
  log: Logger;
  /** How long an id is kept; longer than the streams keep the event (see envSchema's minimum). */
  retentionMs: number;
  /** Rows per DELETE (each its own short transaction, so the consumers never wait long). */
  batchSize?: number;
  intervalMs?: number;
}

/**
 * Keeps the consumers' idempotency ledger (`monitoring.consumed_event`) bounded: every
 * `intervalMs` (hourly by default) it deletes the ids recorded more than `retentionMs` ago, in
 * batches. Safe because an id only guards against a second delivery of its event, and an event
 * older than the streams' max age no longer exists to be delivered. Several monitoring instances
 * may prune at once (SKIP LOCKED).
 */
export class ConsumedEventPruner {
  private readonly pump: Pump;

  constructor(private readonly o: ConsumedEventPrunerOptions) {
    this.pump = new Pump(() => this.prune(), { intervalMs: o.intervalMs ?? 3_600_000, log: o.log, what: 'consumed-event pruner' });
  }

  start(): this {
    this.pump.start();
    return this;
  }

  /** One pass: deletes every expired id, batch by batch; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.o.retentionMs);
    const batch = this.o.batchSize ?? 10_000;
    const dao = new ConsumedEventDao(this.o.ds.manager);
    let total = 0;
    for (;;) {
      const n = await dao.pruneBefore(before, batch);
      total += n;
      if (n < batch) break;
    }
    if (total) this.o.log.info({ deleted: total, before: before.toISOString() }, 'pruned consumed-event ids older than the streams keep events');
    return total;
  }

  stop(): Promise<void> {
    return this.pump.stop();
  }
}
