import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '@datalinx/common';
import { QUOTAS_KV_BUCKET, QUOTAS_KV_OPTIONS, apiLimitEntry, type ApiLimitEntry } from '@datalinx/contracts';
import type { Nats } from '@datalinx/messaging';

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
  private watcher?: Awaited<ReturnType<KV['watch']>>;
  private stopped = false;
  private synced = false;
  private lastRevision = 0;
  private readonly log: Logger;

  private constructor(
    private readonly kv: KV,
    readonly defaultLimit: number,
    log: Logger,
  ) {
    this.log = log.child({ component: 'ApiLimitView' });
  }

  /** Opens (or creates) the bucket and resolves once its current contents are loaded. */
  static async start(nc: Nats['nc'], log: Logger, o: { defaultLimit: number; syncTimeoutMs?: number; replicas?: number }): Promise<ApiLimitView> {
    const kv = await new Kvm(nc).create(QUOTAS_KV_BUCKET, { ...QUOTAS_KV_OPTIONS, replicas: o.replicas ?? Number(process.env.NATS_STREAM_REPLICAS ?? 1) });
    const view = new ApiLimitView(kv, o.defaultLimit, log);
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
        // A deleted entry (workspace gone) falls back to the default.
        if (e.operation === 'PUT') this.apply(e.key, e.string());
        else this.limits.delete(e.key.replace(/^api\./, ''));
        this.lastRevision = Math.max(this.lastRevision, e.revision);
        if (this.lastRevision >= target) markSynced();
      }
      if (!this.stopped) {
        // Limits keep their last known values meanwhile: rate limiting degrades, requests do not fail.
        this.synced = false;
        this.log.warn({ revision: this.lastRevision }, 'API limit watch ended; restarting');
        setTimeout(() => void this.watch(syncTimeoutMs).catch((err) => this.log.error({ err: (err as Error).message }, 'API limit watch restart failed')), 1000).unref();
      }
    })().catch((err) => this.log.error({ err: (err as Error).message }, 'API limit watch failed'));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`quota bucket not loaded within ${syncTimeoutMs} ms`)), syncTimeoutMs);
    });
    try {
      await Promise.race([synced, timeout]);
    } finally {
      clearTimeout(timer);
    }
    this.synced = true;
    this.log.info({ revision: this.lastRevision, limits: this.limits.size }, 'API limits loaded');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
  }
}
