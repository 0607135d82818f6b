import { Kvm, type KV } from '@nats-io/kv';
import { API_COUNTS_KV_BUCKET, API_COUNTS_KV_OPTIONS, apiCountKey, epochMinute } from '@datalinx/contracts';
import { systemClock, type Clock } from '@datalinx/common';
import type { Nats } from '@datalinx/messaging';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests admitted in this window, this one included when allowed. */
  used: number;
  /** Seconds until the next window starts (what Retry-After says). */
  retryAfterSeconds: number;
}

interface Waiter {
  limit: number;
  resolve: (d: { allowed: boolean; used: number }) => void;
  reject: (err: unknown) => void;
}

/** One window's counter as this process last saw it, and the requests waiting for it. */
interface WindowState {
  key: string;
  minute: number;
  /** Last known value and its KV revision (undefined: not read or created yet). */
  value?: number;
  revision?: number;
  waiting: Waiter[];
  busy: boolean;
}

const isConflict = (err: unknown) => {
  const e = err as { code?: number; message?: string };
  // JetStream "wrong last sequence" (10071; 10164 when the subject is unknown): someone else wrote first.
  return e?.code === 10071 || e?.code === 10164 || /wrong last sequence/i.test(e?.message ?? '');
};

const MAX_ATTEMPTS = 20;

/**
 * API requests per minute per workspace, shared by every gateway instance: a fixed one-minute
 * window per workspace, counted in the `dlx-api-counts` KV bucket
 * (`count.<orgId>.<workspaceId>.<epochMinute>`) with compare-and-set — `create` for the first
 * request of a window, `update(key, value, revision)` after, re-read and retried when another
 * instance wrote in between. Only admitted requests are counted, so the count never passes the
 * limit and a refused client does not push its own window further.
 *
 * Latency: one KV round trip per request in the common case — this process remembers the
 * revision it last wrote, so it updates without reading first (a conflict costs one extra
 * read). Requests of one workspace arriving while a write is in flight are batched into the
 * next write (one round trip for all of them), so concurrency does not turn into CAS storms.
 */
export class ApiRateLimiter {
  private readonly windows = new Map<string, WindowState>();

  constructor(
    private readonly kv: KV,
    /** Where the one-minute window is read from: the process's clock in production, a hand-moved one in tests. */
    private readonly clock: Clock = systemClock,
  ) {}

  static async open(nc: Nats['nc'], o: { replicas?: number; clock?: Clock } = {}): Promise<ApiRateLimiter> {
    const kv = await new Kvm(nc).create(API_COUNTS_KV_BUCKET, {
      ...API_COUNTS_KV_OPTIONS,
      replicas: o.replicas ?? Number(process.env.NATS_STREAM_REPLICAS ?? 1),
    });
    return new ApiRateLimiter(kv, o.clock);
  }

  /** Counts one request of `workspaceId` (caller of `orgId`) against `limit`, or refuses it. */
  async consume(orgId: string, workspaceId: string, limit: number): Promise<RateDecision> {
    const t = this.clock.now().getTime();
    const minute = epochMinute(t);
    const retryAfterSeconds = Math.max(1, Math.ceil(((minute + 1) * 60_000 - t) / 1000));
    const key = apiCountKey(orgId, workspaceId, minute);
    let w = this.windows.get(key);
    if (!w) {
      this.forgetOldWindows(minute);
      w = { key, minute, waiting: [], busy: false };
      this.windows.set(key, w);
    }
    const d = await new Promise<{ allowed: boolean; used: number }>((resolve, reject) => {
      w.waiting.push({ limit, resolve, reject });
      if (!w.busy) void this.flush(w);
    });
    return { ...d, limit, retryAfterSeconds };
  }

  private forgetOldWindows(minute: number): void {
    for (const [k, w] of this.windows) if (w.minute < minute && !w.busy && !w.waiting.length) this.windows.delete(k);
  }

  /** Applies every waiting request of the window in as few compare-and-set writes as it takes. */
  private async flush(w: WindowState): Promise<void> {
    w.busy = true;
    try {
      while (w.waiting.length) {
        const batch = w.waiting.splice(0);
        try {
          await this.apply(w, batch);
        } catch (err) {
          // Unknown state now: read it again next time.
          w.value = undefined;
          w.revision = undefined;
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      w.busy = false;
    }
  }

  private async apply(w: WindowState, batch: Waiter[]): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const before = w.value ?? 0;
      // Admit, in arrival order, those whose limit the count leaves room for.
      const admitted: Waiter[] = [];
      let count = before;
      for (const b of batch) {
        if (count < b.limit) {
          admitted.push(b);
          count++;
        }
      }
      if (!admitted.length && w.revision !== undefined) {
        // Nothing to write: the known count is already at the limit (counts only grow, so a stale
        // value is never too high).
        for (const b of batch) b.resolve({ allowed: false, used: before });
        return;
      }
      try {
        if (w.revision === undefined) {
          // First request of the window seen here: create the entry, unless another instance did.
          w.revision = await this.kv.create(w.key, String(count));
        } else {
          w.revision = await this.kv.update(w.key, String(count), w.revision);
        }
        w.value = count;
      } catch (err) {
        if (!isConflict(err)) throw err;
        const e = await this.kv.get(w.key);
        if (e && e.operation === 'PUT') {
          w.value = Number(e.string()) || 0;
          w.revision = e.revision;
        } else {
          w.value = undefined;
          w.revision = undefined;
        }
        continue;
      }
      let n = before;
      for (const b of batch) {
        if (admitted.includes(b)) b.resolve({ allowed: true, used: ++n });
        else b.resolve({ allowed: false, used: count });
      }
      return;
    }
    throw new Error(`API request counter ${w.key} kept changing under ${MAX_ATTEMPTS} attempts`);
  }
}
