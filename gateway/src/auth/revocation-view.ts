import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';
import { IDENTITY_KV_BUCKET, IDENTITY_KV_OPTIONS, SESSION_REVOKED, apiKeyKvKey, sessionKey } from '@datalinx/contracts';
import type { Nats } from '@datalinx/messaging';
import { KvMirror } from '../kv-mirror';

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
  private readonly mirror: KvMirror;

  private constructor(kv: KV, log: Logger) {
    this.mirror = new KvMirror(kv, {
      log: log.child({ component: 'RevocationView' }),
      what: 'identity',
      onPut: (key, value) => this.apply(key, value),
      onDelete: (key) => this.entries.delete(key),
      loadedFields: () => ({ entries: this.entries.size, epochs: this.epochs.size }),
    });
  }

  /** Opens (or creates) the bucket and resolves once the current contents are loaded. */
  static async start(nc: Nats['nc'], log: Logger, o: { syncTimeoutMs?: number; replicas?: number } = {}): Promise<RevocationView> {
    const kv = await new Kvm(nc).create(IDENTITY_KV_BUCKET, { ...IDENTITY_KV_OPTIONS, replicas: o.replicas ?? Number(process.env.NATS_STREAM_REPLICAS ?? 1) });
    const view = new RevocationView(kv, log);
    await view.mirror.start(o.syncTimeoutMs ?? 10_000);
    return view;
  }

  get ready(): boolean {
    return this.mirror.ready;
  }

  /** Revision of the last change applied (tests wait for a write to arrive). */
  get revision(): number {
    return this.mirror.revision;
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

  async stop(): Promise<void> {
    await this.mirror.stop();
  }
}
