import type { KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';

export interface KvMirrorOptions {
  log: Logger;
  /** Names the bucket in log lines and errors, e.g. 'identity'. */
  what: string;
  onPut: (key: string, value: string) => void;
  onDelete: (key: string) => void;
  /** Fields for the "loaded" log line (e.g. how many entries the owner holds). */
  loadedFields?: () => Record<string, unknown>;
}

/**
 * Keeps a gateway's in-memory copy of a NATS KV bucket current: `start()` replays the bucket and
 * resolves once the copy has caught up with the bucket's last revision (or fails after the sync
 * timeout); afterwards every change arrives through the watch. When the watch ends underneath it
 * (connection closed for good?) the mirror reports not ready — its owner's readiness fails closed
 * — and restarts the watch from the last revision it applied. The owner decides what an entry
 * means (`onPut` / `onDelete`); the revocation view and the API-limit view are both one of these.
 */
export class KvMirror {
  private watcher?: Awaited<ReturnType<KV['watch']>>;
  private lastRevision = 0;
  private stopped = false;
  private synced = false;

  constructor(
    private readonly kv: KV,
    private readonly o: KvMirrorOptions,
  ) {}

  get ready(): boolean {
    return this.synced && !this.stopped;
  }

  /** Revision of the last change applied (tests wait for a write to arrive). */
  get revision(): number {
    return this.lastRevision;
  }

  async start(syncTimeoutMs: number): Promise<void> {
    const log = this.o.log;
    const status = await this.kv.status();
    const state = status.streamInfo.state;
    const target = state.messages === 0 ? 0 : state.last_seq;
    let markSynced!: () => void;
    const synced = new Promise<void>((r) => (markSynced = r));
    if (target <= this.lastRevision) markSynced();
    const iter = await this.kv.watch(this.lastRevision > 0 ? { resumeFromRevision: this.lastRevision + 1 } : {});
    this.watcher = iter;
    void (async () => {
      for await (const e of iter) {
        if (e.operation === 'PUT') this.o.onPut(e.key, e.string());
        else this.o.onDelete(e.key);
        this.lastRevision = Math.max(this.lastRevision, e.revision);
        if (this.lastRevision >= target) markSynced();
      }
      if (!this.stopped) {
        this.synced = false;
        log.warn({ revision: this.lastRevision }, `${this.o.what} watch ended; restarting`);
        setTimeout(
          () => void this.start(syncTimeoutMs).catch((err) => log.error({ err: (err as Error).message }, `${this.o.what} watch restart failed`)),
          1000,
        ).unref();
      }
    })().catch((err) => log.error({ err: (err as Error).message }, `${this.o.what} watch failed`));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.o.what} bucket not loaded within ${syncTimeoutMs} ms`)), syncTimeoutMs);
    });
    try {
      await Promise.race([synced, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.synced = true;
    log.info({ revision: this.lastRevision, ...(this.o.loadedFields?.() ?? {}) }, `${this.o.what} bucket loaded`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
  }
}
