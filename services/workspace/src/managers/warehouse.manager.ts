import { randomBytes, randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import { UnauthenticatedError, seal } from '@datalinx/common';
import { hasOrgPermission, type Viewer, perViewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { externalWarehouseSchemaName, platformWarehouseNames, type WarehousePurgeJobV1, type WarehouseProvisionJobV1 } from '@datalinx/contracts';
import { enqueueJob } from '../jobs/enqueue-job';
import type { WarehouseDao, WarehouseRow } from '../daos/warehouse.dao';
import type { Keyring } from '../secrets/keyring';
import type { Workspace } from '../entities/workspace.entity';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';

/** Where the platform's warehouse database is, as clients reach it (no credentials). */
export interface WarehouseSettings {
  database: string;
  host: string;
  port: number;
  /** statement_timeout of every workspace role (ARCHITECTURE.md §7: every data-plane statement runs with one). */
  statementTimeoutMs: number;
}

/**
 * The warehouse as the control plane records and shows it, from WAREHOUSE_ADMIN_URL: host, port
 * and database only (the admin credentials are the data plane's business). `database` overrides
 * the URL's (the default warehouse is a database of its own on the system database's server).
 */
export function warehouseSettingsFromUrl(url: string, o: { database?: string; statementTimeoutMs?: number } = {}): WarehouseSettings {
  const u = new URL(url);
  const database = o.database ?? decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new Error('WAREHOUSE_ADMIN_URL names no database (postgres://user:password@host:5432/<database>)');
  return { database, host: u.hostname, port: u.port ? Number(u.port) : 5432, statementTimeoutMs: o.statementTimeoutMs ?? 300_000 };
}

/** What `Workspace.warehouse` shows: never the password, only whether one is set. */
export interface WarehouseView {
  mode: WarehouseRow['mode'];
  status: WarehouseRow['status'];
  database: string | null;
  schema: string;
  role: string | null;
  host: string | null;
  port: number | null;
  passwordSet: boolean;
  connectionId: string | null;
  lastError: string | null;
  updatedAt: Date;
}

/** `ws_` / `dlx_ws_` + the first 12 hex digits of the workspace id (`platformWarehouseNames`, shared with the mapping preview). */
export const warehouseNames = (workspaceId: string) => {
  const { schema, role } = platformWarehouseNames(workspaceId);
  return { schemaName: schema, roleName: role };
};

/** The additional data the role's password is sealed with: it cannot be moved to another workspace's row. */
export const warehousePasswordAad = (workspaceId: string) => `warehouse:${workspaceId}`;

/**
 * The warehouse jobs, dispatched inside the caller's tenant transaction (so the row change, the
 * job and its QUEUED run event commit together, through the outbox). No authorization here:
 * only the workspace and warehouse managers call it, after their own checks.
 */
export class WarehouseJobs {
  constructor(
    private readonly dao: WarehouseDao,
    private readonly keyring: Keyring,
    private readonly masterKey: Buffer,
    private readonly settings: WarehouseSettings,
  ) {}

  /** A new workspace's PLATFORM warehouse: the row (password sealed with the workspace's data key) and the provision job. */
  async provisionNew(em: EntityManager, orgId: string, ws: Workspace, requestedBy: string): Promise<string> {
    const { schemaName, roleName } = warehouseNames(ws.id);
    const password = randomBytes(32).toString('base64url');
    const jobId = randomUUID();
    const runId = randomUUID();
    await this.dao.insertPlatform(em, orgId, {
      workspaceId: ws.id,
      database: this.settings.database,
      schemaName,
      roleName,
      passwordSealed: await this.keyring.seal(em, orgId, ws.id, password, warehousePasswordAad(ws.id)),
      runId,
    });
    const job: WarehouseProvisionJobV1 = {
      ...this.jobBase(jobId, runId, orgId, ws.id, requestedBy),
      kind: 'warehouse.provision',
      payload: {
        database: this.settings.database,
        schema: schemaName,
        role: roleName,
        password: seal(this.masterKey, password, `job:${jobId}`),
        statementTimeoutMs: this.settings.statementTimeoutMs,
      },
    };
    await this.enqueue(em, job);
    return runId;
  }

  /** Drops the platform schema and role of a (deleted) workspace; PURGED when the run succeeds. */
  async purge(em: EntityManager, orgId: string, workspaceId: string, requestedBy: string): Promise<string | null> {
    const row = await this.dao.lock(em, orgId, workspaceId);
    if (!row || row.status === 'PURGED') return null;
    const jobId = randomUUID();
    const runId = randomUUID();
    await this.dao.markDispatched(em, orgId, workspaceId, runId, 'PENDING');
    const job: WarehousePurgeJobV1 = {
      ...this.jobBase(jobId, runId, orgId, workspaceId, requestedBy),
      kind: 'warehouse.purge',
      payload: { database: row.database ?? this.settings.database, schema: row.schemaName, role: row.roleName },
    };
    await this.enqueue(em, job);
    return runId;
  }

  private jobBase(jobId: string, runId: string, orgId: string, workspaceId: string, requestedBy: string) {
    return { v: 1 as const, jobId, runId, orgId, workspaceId, requestedAt: new Date().toISOString(), requestedBy };
  }

  private async enqueue(em: EntityManager, job: WarehouseProvisionJobV1 | WarehousePurgeJobV1): Promise<void> {
    await enqueueJob(em, job, job.workspaceId);
  }
}

/**
 * Each workspace's warehouse destination as the viewer may see it (whoever may read the
 * workspace sees where its data lives, never the password), and the switch to an EXTERNAL
 * PostgreSQL destination (org ADMIN: it decides where the workspace's data goes).
 */
export class WarehouseManager {
  private readonly byWorkspace: (viewer: Viewer) => DataLoader<string, WarehouseRow | null>;

  constructor(
    private readonly ds: DataSource,
    private readonly dao: WarehouseDao,
    private readonly workspaces: WorkspaceManager,
    private readonly settings: WarehouseSettings,
  ) {
    this.byWorkspace = perViewer(
      (viewer) =>
        new DataLoader(async (ids) => {
          const orgId = this.orgId(viewer);
          const rows = orgId ? await this.dao.findByWorkspaces(orgId, ids) : [];
          return ids.map((id) => rows.find((r) => r.workspaceId === id) ?? null);
        }),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  /** The warehouse of a workspace the viewer may read (null otherwise). */
  async forWorkspace(viewer: Viewer, workspaceId: string): Promise<WarehouseView | null> {
    const ws = await this.workspaces.get(viewer, workspaceId);
    if (!ws) return null;
    const row = await this.byWorkspace(viewer).load(ws.id);
    return row ? this.view(row) : null;
  }

  private view(r: WarehouseRow): WarehouseView {
    if (r.mode === 'EXTERNAL' && r.external) {
      return {
        mode: r.mode,
        status: r.status,
        database: r.external.database,
        // Where loads go: the connection's schema when it names one, else the generated name (as lockWarehouseDestination resolves it).
        schema: r.external.schema ?? r.schemaName,
        role: r.external.user,
        host: r.external.host,
        port: r.external.port,
        passwordSet: r.external.secretSet,
        connectionId: r.connectionId,
        lastError: r.lastError,
        updatedAt: r.updatedAt,
      };
    }
    return {
      mode: r.mode,
      status: r.status,
      database: r.database,
      schema: r.schemaName,
      role: r.roleName,
      host: this.settings.host,
      port: this.settings.port,
      passwordSet: r.passwordSet,
      connectionId: null,
      lastError: r.lastError,
      updatedAt: r.updatedAt,
    };
  }

  /**
   * Points the workspace's warehouse at one of its DESTINATION PostgreSQL connections. From then on
   * syncs, pipeline runs and canonicalizeColumn write there (`lockWarehouseDestination`), as the
   * connection's own user, into the connection's `schema` (or the generated `ws_<hex>` name when it
   * names none), created by the first run if missing. The platform schema is left as it is.
   */
  async useExternal(viewer: Viewer, workspaceId: string, connectionId: string): Promise<{ workspace: Workspace | null; errors: UserError[] }> {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    const ws = await this.workspaces.get(viewer, workspaceId);
    if (!ws || !hasOrgPermission(viewer, 'workspaces:create')) {
      return {
        workspace: null,
        errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace, or only an organization admin can choose its warehouse.')],
      };
    }
    if (ws.archivedAt) return { workspace: null, errors: [this.workspaces.archivedError()] };
    const errors = await withTenant(this.ds, orgId, async (em): Promise<UserError[]> => {
      const current = await this.dao.lock(em, orgId, ws.id);
      if (!current) throw new Error(`workspace ${ws.id} has no warehouse row`);
      if (current.status === 'PURGED') return [userError('WAREHOUSE_PURGED', 'workspaceId', 'This workspace’s warehouse was purged.')];
      const conn = await this.dao.connectionOf(em, orgId, ws.id, connectionId);
      if (!conn)
        return [
          userError('CONNECTION_NOT_FOUND', 'connectionId', 'No such connection in this workspace. Create a DESTINATION PostgreSQL connection in it first.'),
        ];
      if (conn.kind !== 'DESTINATION')
        return [
          userError(
            'CONNECTION_NOT_DESTINATION',
            'connectionId',
            'The warehouse must be a DESTINATION connection; this one is a SOURCE. Create a DESTINATION connection instead.',
          ),
        ];
      if (conn.type !== 'POSTGRES')
        return [userError('CONNECTION_NOT_POSTGRES', 'connectionId', `The warehouse must be a PostgreSQL connection; this one is ${conn.type}.`)];
      if (conn.schema !== null && !externalWarehouseSchemaName.safeParse(conn.schema).success) {
        return [
          userError(
            'WAREHOUSE_SCHEMA_INVALID',
            'connectionId',
            `The connection names schema "${conn.schema}", which loads cannot use: a plain name (a letter or _, then letters, digits or _, at most 63 characters, not pg_…). Change its schema with updateConnection, or clear it to load into ${current.schemaName}.`,
          ),
        ];
      }
      await this.dao.setExternal(em, orgId, ws.id, connectionId);
      return [];
    });
    if (errors.length) return { workspace: null, errors };
    this.byWorkspace(viewer).clear(ws.id);
    return { workspace: ws, errors: [] };
  }
}
