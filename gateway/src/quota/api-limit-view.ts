import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';
import { QUOTAS_KV_BUCKET, QUOTAS_KV_OPTIONS, apiLimitEntry, type ApiLimitEntry } from '@datalinx/contracts';
import type { Nats } from '@datalinx/messaging';
import { KvMirror } from '../kv-mirror';

const KEY = /^api\.([0-9a-f-]{36})$/;

/**
 * The gateway's in-memory copy of the workspaces' API request limits (`api.<workspaceId>` in the
 * `dlx-quotas` KV bucket, written by the workspace service after every change and again through
 * its outbox), kept current by a KV watch: looking a limit up is a map read, no network call.
 * Each entry carries a version that grows with every change: the view keeps the highest, so a
 * late duplicate (the outbox copy after a newer direct write) never rolls a limit back. A
 * workspace without an entry, or whose entry names another org than the caller's, gets the
 * default limit (QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE).
 */
export class ApiLimitView {
  private readonly limits = new Map<string, ApiLimitEntry>();
  private readonly mirror: KvMirror;
  private readonly log: Logger;

  private constructor(
    kv: KV,
    readonly defaultLimit: number,
    log: Logger,
  ) {
    this.log = log.child({ component: 'ApiLimitView' });
    // A deleted entry (workspace gone) falls back to the default. While the watch is down, limits
    // keep their last known values: rate limiting degrades, requests do not fail.
    this.mirror = new KvMirror(kv, {
      log: this.log,
      what: 'API limit',
      onPut: (key, value) => this.apply(key, value),
      onDelete: (key) => this.limits.delete(key.replace(/^api\./, '')),
      loadedFields: () => ({ limits: this.limits.size }),
    });
  }

  /** Opens (or creates) the bucket and resolves once its current contents are loaded. */
  static async start(nc: Nats['nc'], log: Logger, o: { defaultLimit: number; syncTimeoutMs?: number; replicas?: number }): Promise<ApiLimitView> {
    const kv = await new Kvm(nc).create(QUOTAS_KV_BUCKET, { ...QUOTAS_KV_OPTIONS, replicas: o.replicas ?? Number(process.env.NATS_STREAM_REPLICAS ?? 1) });
    const view = new ApiLimitView(kv, o.defaultLimit, log);
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

  /** The workspace's requests-per-minute limit for a caller of `orgId`. */
  limitFor(orgId: string, workspaceId: string): number {
    const e = this.limits.get(workspaceId);
    return e && e.orgId === orgId ? e.limit : this.defaultLimit;
  }

  private apply(key: string, raw: string): void {
    const m = KEY.exec(key);
    if (!m) return;
    let parsed;
    try {
      parsed = apiLimitEntry.safeParse(JSON.parse(raw));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.log.warn({ key }, 'ignoring malformed API limit entry');
      return;
    }
    const held = this.limits.get(m[1]!);
    if (!held || parsed.data.version >= held.version) this.limits.set(m[1]!, parsed.data);
  }

  async stop(): Promise<void> {
    await this.mirror.stop();
  }
}
