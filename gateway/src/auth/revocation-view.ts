import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';
import { IDENTITY_KV_BUCKET, IDENTITY_KV_OPTIONS, SESSION_REVOKED, apiKeyKvKey, sessionKey } from '@datalinx/contracts';
import type { Nats } from '@datalinx/messaging';

/**
 * The gateway's in-memory copy of the `dlx-identity` KV bucket (revoked sessions, users' current
 * token epochs), kept current by a KV watch. Checking a token is a map lookup: no database and
 * no network call per request. The auth service writes the bucket after every revocation, and
 * again through its outbox (so a crash between commit and write loses nothing): values may come
 * plain (`revoked`, `3`) or JSON-encoded (`"revoked"`, `3`), and a user's epoch may arrive under
 * `epoch.<userId>` or `epoch.<userId>.<epoch>`, in any order: the view keeps the highest.
 */
/** `epoch.<userId>` or `epoch.<userId>.<epoch>`. */
const EPOCH_KEY = /^epoch\.([^.]+)(?:\.\d+)?$/;

export class RevocationView {
  private readonly entries = new Map<string, string>();
  private readonly epochs = new Map<string, number>();
  private watcher?: Awaited<ReturnType<KV['watch']>>;
  private lastRevision = 0;
  private stopped = false;
  private synced = false;
  private readonly log: Logger;

  private constructor(private readonly kv: KV, log: Logger) {
    this.log = log.child({ component: 'RevocationView' });
  }

  /** Opens (or creates) the bucket and resolves once the current contents are loaded. */
  static async start(nc: Nats['nc'], log: Logger, o: { syncTimeoutMs?: number; replicas?: number } = {}): Promise<RevocationView> {
    const kv = await new Kvm(nc).create(IDENTITY_KV_BUCKET, { ...IDENTITY_KV_OPTIONS, replicas: o.replicas ?? Number(process.env.NATS_STREAM_REPLICAS ?? 1) });
    const view = new RevocationView(kv, log);
    await view.watch(o.syncTimeoutMs ?? 10_000);
    return view;
  }

  get ready(): boolean {
    return this.synced && !this.stopped;
  }

  /** Revision of the last change applied (tests wait for a write to arrive). */
  get revision(): number {
    return this.lastRevision;
  }

  isSessionRevoked(sessionId: string): boolean {
    return this.entries.get(sessionKey(sessionId)) === SESSION_REVOKED;
  }

  isApiKeyRevoked(keyId: string): boolean {
    return this.entries.get(apiKeyKvKey(keyId)) === SESSION_REVOKED;
  }

  /** The user's current epoch, or undefined when nothing was ever revoked for them (within the bucket TTL). */
  currentEpoch(userId: string): number | undefined {
    return this.epochs.get(userId);
  }

  private apply(key: string, raw: string): void {
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = String(JSON.parse(raw));
      } catch {
        // not JSON after all: keep it as it came
      }
    }
    const epoch = EPOCH_KEY.exec(key);
    if (epoch) {
      // Epochs only grow: a late (outbox) write of an older value never lowers the one we hold.
      const n = Number(value);
      if (Number.isSafeInteger(n)) this.epochs.set(epoch[1]!, Math.max(n, this.epochs.get(epoch[1]!) ?? n));
      return;
    }
    this.entries.set(key, value);
  }

  private async watch(syncTimeoutMs: number): Promise<void> {
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
        if (e.operation === 'PUT') this.apply(e.key, e.string());
        else this.entries.delete(e.key);
        this.lastRevision = Math.max(this.lastRevision, e.revision);
        if (this.lastRevision >= target) markSynced();
      }
      if (!this.stopped) {
        // The watch ended underneath us (connection closed for good?): fail closed until it is back.
        this.synced = false;
        this.log.warn({ revision: this.lastRevision }, 'identity watch ended; restarting');
        setTimeout(() => void this.watch(syncTimeoutMs).catch((err) => this.log.error({ err: (err as Error).message }, 'identity watch restart failed')), 1000).unref();
      }
    })().catch((err) => this.log.error({ err: (err as Error).message }, 'identity watch failed'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`identity bucket not loaded within ${syncTimeoutMs} ms`)), syncTimeoutMs);
    });
    try {
      await Promise.race([synced, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.synced = true;
    this.log.info({ revision: this.lastRevision, entries: this.entries.size }, 'identity revocations loaded');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
  }
}
