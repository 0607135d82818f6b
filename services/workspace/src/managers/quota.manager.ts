import DataLoader from 'dataloader';
import { warehouseSchemaSizes, type WarehouseDao } from '../daos/warehouse.dao';
import type { DataSource, EntityManager } from 'typeorm';
import { Kvm, type KV } from '@nats-io/kv';
import { ForbiddenError, QuotaExceededError, UnauthenticatedError, systemClock, type Clock, type Logger, type QuotaName } from '@datalinx/common';
import { hasOrgPermission, workspaceRoleOf, type Viewer, perViewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import type { Nats } from '@datalinx/messaging';
import {
  API_COUNTS_KV_BUCKET,
  API_COUNTS_KV_OPTIONS,
  QUOTAS_KV_BUCKET,
  QUOTAS_KV_OPTIONS,
  apiCountKey,
  apiLimitKey,
  epochMinute,
  type ApiLimitEntry,
  type JobLimits,
} from '@datalinx/contracts';
import { QuotaDao, type QuotaLimits, type QuotaRow } from '../daos/quota.dao';
import { ActiveRunDao } from '../daos/active-run.dao';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';

/** The limits of a workspace that never set its own (QUOTA_DEFAULT_* env). */
export type QuotaDefaults = QuotaLimits;

/**
 * Bytes used by workspaces' warehouse schemas. Null for a workspace whose usage is not measured
 * (no warehouse schema provisioned yet): storage is then not enforced and shown as unknown.
 * Production measures `PostgresSchemaStorageUsage` over the platform warehouse (WAREHOUSE_ADMIN_URL,
 * schemas from `platformSchemaOf`); without that URL it runs with `STORAGE_NOT_MEASURED`.
 */
export interface StorageUsage {
  bytesUsed(orgId: string, workspaceIds: readonly string[]): Promise<Map<string, number | null>>;
}

export const STORAGE_NOT_MEASURED: StorageUsage = {
  bytesUsed: async (_orgId, ids) => new Map(ids.map((id) => [id, null])),
};

/**
 * Storage of a workspace = the total size (tables, indexes, TOAST) of every relation in its
 * warehouse schema, read from the PostgreSQL catalog of the warehouse database. `schemaOf` says
 * which schema a workspace has (null: not provisioned, not measured).
 */
export class PostgresSchemaStorageUsage implements StorageUsage {
  constructor(
    private readonly warehouse: DataSource,
    private readonly schemaOf: (orgId: string, workspaceId: string) => Promise<string | null>,
  ) {}

  async bytesUsed(orgId: string, workspaceIds: readonly string[]): Promise<Map<string, number | null>> {
    const schemas = await Promise.all(workspaceIds.map(async (id) => [id, await this.schemaOf(orgId, id)] as const));
    const names = schemas.map(([, s]) => s).filter((s): s is string => s !== null);
    const sizes = names.length ? await warehouseSchemaSizes(this.warehouse, names) : new Map<string, number>();
    return new Map(schemas.map(([id, s]) => [id, s === null ? null : (sizes.get(s) ?? 0)]));
  }
}

/** The schema a workspace's storage is measured in: its platform warehouse schema once provisioned (an EXTERNAL warehouse is not ours to measure). */
export const platformSchemaOf =
  (warehouses: Pick<WarehouseDao, 'findByWorkspaces'>) =>
  async (orgId: string, workspaceId: string): Promise<string | null> => {
    const [w] = await warehouses.findByWorkspaces(orgId, [workspaceId]);
    return w && w.mode === 'PLATFORM' && w.status === 'READY' ? w.schemaName : null;
  };

/** API requests admitted this minute per workspace (the gateways' shared counter). */
export interface ApiUsage {
  requestsThisMinute(orgId: string, workspaceIds: readonly string[]): Promise<Map<string, number>>;
}

/** Reads the gateways' fixed-window counters from the `dlx-api-counts` KV bucket. */
export class KvApiUsage implements ApiUsage {
  constructor(
    private readonly counts: KV,
    /** Names "this minute": the process's clock in production, the gateways' hand-moved one in tests. */
    private readonly clock: Clock = systemClock,
  ) {}

  async requestsThisMinute(orgId: string, workspaceIds: readonly string[]): Promise<Map<string, number>> {
    const minute = epochMinute(this.clock.now().getTime());
    const entries = await Promise.all(
      workspaceIds.map(async (id) => {
        const e = await this.counts.get(apiCountKey(orgId, id, minute));
        const n = e && e.operation === 'PUT' ? Number(e.string()) : 0;
        return [id, Number.isFinite(n) ? n : 0] as const;
      }),
    );
    return new Map(entries);
  }
}

/** Writes a workspace's API limit to the `dlx-quotas` KV bucket, which every gateway watches. */
export interface ApiLimitPublisher {
  publish(workspaceId: string, entry: ApiLimitEntry): Promise<void>;
}

/**
 * The fast path: a put right after the commit. A failure is only logged: the same value is in
 * the outbox (trigger of migration Quotas1764950000000) and the relay delivers it.
 */
export class KvApiLimitPublisher implements ApiLimitPublisher {
  private readonly log: Logger;
  constructor(
    private readonly limits: KV,
    log: Logger,
  ) {
    this.log = log.child({ component: 'ApiLimitPublisher' });
  }

  async publish(workspaceId: string, entry: ApiLimitEntry): Promise<void> {
    try {
      await this.limits.put(apiLimitKey(workspaceId), JSON.stringify(entry));
    } catch (err) {
      this.log.warn({ workspaceId, err: (err as Error).message }, 'API limit not written to KV; the outbox relay will deliver it');
    }
  }
}

/**
 * Opens (creating if needed, idempotently with the same options everywhere) the two quota
 * buckets. The workspace service must do this before its outbox relay runs: the relay publishes
 * API limits to `$KV.dlx-quotas.…`, which only has a stream once the bucket exists.
 */
export async function openQuotaBuckets(nc: Nats['nc'], replicas = Number(process.env.NATS_STREAM_REPLICAS ?? 1)): Promise<{ limits: KV; counts: KV }> {
  const kvm = new Kvm(nc);
  return {
    limits: await kvm.create(QUOTAS_KV_BUCKET, { ...QUOTAS_KV_OPTIONS, replicas }),
    counts: await kvm.create(API_COUNTS_KV_BUCKET, { ...API_COUNTS_KV_OPTIONS, replicas }),
  };
}

/** What a dispatch needs to know: the run's kind, and whether it writes to the warehouse. */
export interface RunAdmission {
  runId: string;
  workspaceId: string;
  kind: string;
  /** Runs that load data (pipeline runs) are refused when storage is full; a connection test is not. */
  writesData: boolean;
  /**
   * The run writes to the workspace's EXTERNAL warehouse (a customer's own PostgreSQL database):
   * the platform's storage quota measures only platform warehouse schemas, so it is neither
   * checked at dispatch nor handed to the data plane (`limits.maxStorageBytes` left out); the
   * concurrent-runs and rows-per-run quotas apply as for any run.
   */
  externalWarehouse?: boolean;
}

/**
 * Quota enforcement for dispatches, independent of any viewer (the scheduler has none): every
 * path that dispatches a run calls `admitRun` inside its dispatch transaction, before writing
 * the job. It locks the workspace row, so concurrent dispatches of one workspace queue behind
 * each other and each counts the runs the previous ones added; refuses with QUOTA_EXCEEDED
 * (CONCURRENT_RUNS, STORAGE_BYTES) by throwing, which rolls the dispatch back; records the run
 * as active; and returns the limits to hand to the data plane with the job.
 */
export class QuotaPolicy {
  constructor(
    private readonly quotaDao: QuotaDao,
    private readonly activeRuns: ActiveRunDao,
    readonly defaults: QuotaDefaults,
    private readonly storage: StorageUsage = STORAGE_NOT_MEASURED,
  ) {}

  limitsOf(row: QuotaRow | null | undefined): QuotaLimits {
    return row
      ? { storageBytes: row.storageBytes, concurrentRuns: row.concurrentRuns, rowsPerRun: row.rowsPerRun, apiRequestsPerMinute: row.apiRequestsPerMinute }
      : { ...this.defaults };
  }

  /** Dispatch check + bookkeeping in one call (the usual entry point). */
  async admitRun(em: EntityManager, orgId: string, run: RunAdmission): Promise<{ limits: JobLimits }> {
    const admitted = await this.assertCanDispatch(em, orgId, run.workspaceId, { writesData: run.writesData, externalWarehouse: run.externalWarehouse });
    await this.activeRuns.insert(em, orgId, { runId: run.runId, workspaceId: run.workspaceId, kind: run.kind });
    return admitted;
  }

  /**
   * Refuses a dispatch that would exceed the workspace's quotas. Must run inside the dispatch's
   * `withTenant` transaction (`em`), which then holds the workspace lock until it commits; the
   * caller records the run (`trackRun`) in the same transaction.
   */
  async assertCanDispatch(
    em: EntityManager,
    orgId: string,
    workspaceId: string,
    o: { writesData: boolean; externalWarehouse?: boolean },
  ): Promise<{ limits: JobLimits }> {
    if (!(await this.quotaDao.lockWorkspace(em, orgId, workspaceId))) throw new Error(`workspace ${workspaceId} not found in org ${orgId}`);
    const limits = this.limitsOf(await this.quotaDao.find(em, orgId, workspaceId));
    const active = await this.activeRuns.count(em, orgId, workspaceId);
    if (active >= limits.concurrentRuns) throw new QuotaExceededError('CONCURRENT_RUNS', limits.concurrentRuns, active);
    // A customer's own database is not the platform's to measure (see RunAdmission.externalWarehouse).
    if (o.externalWarehouse) return { limits: { maxRows: limits.rowsPerRun } };
    if (o.writesData) await this.assertStorageAvailable(orgId, workspaceId, limits.storageBytes);
    // The data plane enforces both while it loads: rows per run, and storage (measured again during the run).
    return { limits: { maxRows: limits.rowsPerRun, maxStorageBytes: limits.storageBytes } };
  }

  async trackRun(em: EntityManager, orgId: string, run: Omit<RunAdmission, 'writesData'>): Promise<void> {
    await this.activeRuns.insert(em, orgId, run);
  }

  /** Refuses when the workspace's measured storage is at or over its limit (unmeasured: allowed). */
  async assertStorageAvailable(orgId: string, workspaceId: string, limit: number): Promise<void> {
    const used = (await this.storage.bytesUsed(orgId, [workspaceId])).get(workspaceId) ?? null;
    if (used !== null && used >= limit) throw new QuotaExceededError('STORAGE_BYTES', limit, used);
  }

  /** What Workspace.quotas shows, for a batch of workspaces of one org (O(1) queries). */
  async usageOf(orgId: string, workspaceIds: readonly string[], api: ApiUsage | null): Promise<Map<string, WorkspaceQuotasView>> {
    const [rows, active, storage, requests] = await Promise.all([
      this.quotaDao.findByWorkspaces(orgId, workspaceIds),
      this.activeRuns.countByWorkspaces(orgId, workspaceIds),
      this.storage.bytesUsed(orgId, workspaceIds),
      api ? api.requestsThisMinute(orgId, workspaceIds) : Promise.resolve(new Map<string, number>()),
    ]);
    const out = new Map<string, WorkspaceQuotasView>();
    for (const id of workspaceIds) {
      const row = rows.find((r) => r.workspaceId === id);
      const l = this.limitsOf(row);
      out.set(id, {
        storageBytes: usage('STORAGE_BYTES', l.storageBytes, storage.get(id) ?? null),
        concurrentRuns: usage('CONCURRENT_RUNS', l.concurrentRuns, active.get(id) ?? 0),
        // Rows are counted per run by the data plane; there is no workspace-wide usage to show.
        rowsPerRun: usage('ROWS_PER_RUN', l.rowsPerRun, null),
        apiRequestsPerMinute: usage('API_REQUESTS_PER_MINUTE', l.apiRequestsPerMinute, api ? (requests.get(id) ?? 0) : null),
        updatedAt: row?.updatedAt ?? null,
      });
    }
    return out;
  }
}

export interface QuotaUsageView {
  quota: QuotaName;
  limit: number;
  used: number | null;
}
export interface WorkspaceQuotasView {
  storageBytes: QuotaUsageView;
  concurrentRuns: QuotaUsageView;
  rowsPerRun: QuotaUsageView;
  apiRequestsPerMinute: QuotaUsageView;
  updatedAt: Date | null;
}
const usage = (quota: QuotaName, limit: number, used: number | null): QuotaUsageView => ({ quota, limit, used });

/** Bounds of what an admin may set (inclusive); whole numbers only. */
export const QUOTA_BOUNDS: Record<keyof QuotaLimits, { min: number; max: number; what: string }> = {
  storageBytes: { min: 0, max: Number.MAX_SAFE_INTEGER, what: 'Storage (bytes)' },
  concurrentRuns: { min: 0, max: 1000, what: 'Concurrent runs' },
  rowsPerRun: { min: 0, max: Number.MAX_SAFE_INTEGER, what: 'Rows per run' },
  // At least 1: a workspace at 0 would lock its own admins out of the web app that names it.
  apiRequestsPerMinute: { min: 1, max: 1_000_000, what: 'API requests per minute' },
};

export type QuotaInput = { [K in keyof QuotaLimits]?: number | null };

/** Validates an update: each given field a whole number within its bounds (typed field errors). */
export function validateQuotaInput(input: QuotaInput): UserError[] {
  const errors: UserError[] = [];
  for (const [field, b] of Object.entries(QUOTA_BOUNDS) as Array<[keyof QuotaLimits, (typeof QUOTA_BOUNDS)[keyof QuotaLimits]]>) {
    const v = input[field];
    if (v === undefined || v === null) continue;
    if (!Number.isInteger(v) || v < b.min || v > b.max) {
      errors.push(userError('INVALID_QUOTA', field, `${b.what} must be a whole number from ${b.min} to ${b.max}.`));
    }
  }
  return errors;
}

/**
 * Quotas as the viewer may see and change them: any member of a workspace reads its quotas
 * (Workspace.quotas); only org ADMINs (`org:manage` or `billing:manage`) change them. The org
 * always comes from the viewer.
 */
export class QuotaManager {
  private readonly loader: (viewer: Viewer) => DataLoader<string, WorkspaceQuotasView>;

  constructor(
    private readonly ds: DataSource,
    private readonly policy: QuotaPolicy,
    private readonly dao: QuotaDao,
    private readonly workspaces: WorkspaceManager,
    private readonly api: ApiUsage | null,
    private readonly publisher: ApiLimitPublisher | null,
    private readonly onCommit: () => void,
  ) {
    this.loader = perViewer(
      (viewer) =>
        new DataLoader(async (ids) => {
          const orgId = this.orgId(viewer);
          if (!orgId) throw new UnauthenticatedError();
          const views = await this.policy.usageOf(orgId, ids, this.api);
          return ids.map((id) => views.get(id)!);
        }),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  /** The quotas of a workspace the viewer may read (callers pass a workspace they resolved through WorkspaceManager). */
  async forWorkspace(viewer: Viewer, workspaceId: string): Promise<WorkspaceQuotasView> {
    if (!workspaceRoleOf(viewer, workspaceId)) throw new ForbiddenError('You cannot see the quotas of this workspace.');
    return this.loader(viewer).load(workspaceId);
  }

  async update(viewer: Viewer, workspaceId: string, input: QuotaInput): Promise<{ quotas: WorkspaceQuotasView | null; errors: UserError[] }> {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    if (!hasOrgPermission(viewer, 'org:manage') && !hasOrgPermission(viewer, 'billing:manage')) {
      return { quotas: null, errors: [userError('FORBIDDEN', null, 'Only organization admins can change quotas.')] };
    }
    const ws = await this.workspaces.get(viewer, workspaceId);
    if (!ws) return { quotas: null, errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace in your organization.')] };
    const errors = validateQuotaInput(input);
    if (errors.length) return { quotas: null, errors };
    const row = await withTenant(this.ds, orgId, async (em) => {
      // Unset fields keep their current value (the workspace's own, else the default).
      const current = this.policy.limitsOf(await this.dao.find(em, orgId, ws.id));
      const next: QuotaLimits = {
        storageBytes: input.storageBytes ?? current.storageBytes,
        concurrentRuns: input.concurrentRuns ?? current.concurrentRuns,
        rowsPerRun: input.rowsPerRun ?? current.rowsPerRun,
        apiRequestsPerMinute: input.apiRequestsPerMinute ?? current.apiRequestsPerMinute,
      };
      return this.dao.upsert(em, orgId, ws.id, next);
    });
    // After commit: the direct KV write (gateways see the new limit at once), then the relay
    // (the same value through the outbox, in case the direct write failed).
    await this.publisher?.publish(ws.id, { orgId, limit: row.apiRequestsPerMinute, version: row.version });
    this.onCommit();
    this.loader(viewer).clear(ws.id);
    return { quotas: await this.loader(viewer).load(ws.id), errors: [] };
  }
}

/** The limits of a workspace without its own row, unless QUOTA_DEFAULT_* say otherwise. */
export const DEFAULT_QUOTA_LIMITS: QuotaDefaults = {
  storageBytes: 10 * 1024 ** 3,
  concurrentRuns: 4,
  rowsPerRun: 50_000_000,
  apiRequestsPerMinute: 600,
};

export interface QuotaDeps {
  defaults: QuotaDefaults;
  storage?: StorageUsage;
  /** The gateways' request counters (null: `apiRequestsPerMinute.used` is not shown). */
  api: ApiUsage | null;
  /** Fast-path KV write of changed API limits (null: the outbox relay alone delivers them). */
  publisher: ApiLimitPublisher | null;
}

/**
 * The one QuotaPolicy of a process, for every dispatcher: testConnection (ConnectionManager),
 * pipeline runs and the scheduler must each call `admitRun` in their dispatch transaction.
 */
export function quotaPolicy(ds: DataSource, deps?: QuotaDeps): QuotaPolicy {
  return new QuotaPolicy(new QuotaDao(ds), new ActiveRunDao(ds), deps?.defaults ?? DEFAULT_QUOTA_LIMITS, deps?.storage ?? STORAGE_NOT_MEASURED);
}
