import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, isUuid } from '@datalinx/common';
import { actorIdOf, hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import type { SourceSyncPayloadV1, SyncTableV1 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import type { TestDispatchSettings } from '../jobs/connection-test.dispatch';
import { dispatchSourceJob } from '../jobs/source-job.dispatch';
import { configOf } from './connection-config';
import type { QuotaPolicy } from './quota.manager';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';
import { isUserError, lockDestinationConnectionFirst, lockWarehouseDestination } from './warehouse-destination';

const NOT_FOUND = userError('CONNECTION_NOT_FOUND', 'connectionId', 'No such connection, or you cannot sync it.');
const MAX_TABLES = 1000;
const MAX_KEY_COLUMNS = 32;
/** Rows per INCREMENTAL batch (and checkpoint), and the warehouse statement_timeout of a sync (a full refresh is one COPY). */
export const DEFAULT_SYNC_BATCH_ROWS = 50_000;
export const DEFAULT_SYNC_STATEMENT_TIMEOUT_MS = 3_600_000;

export interface SyncTableInput {
  schema: string;
  name: string;
  mode: 'FULL' | 'INCREMENTAL';
  primaryKey?: readonly string[] | null;
  cursorColumn?: string | null;
}

export interface SyncConnectionInput {
  connectionId: string;
  tables: readonly SyncTableInput[];
  driftPolicy?: SourceSyncPayloadV1['driftPolicy'] | null;
  onMalformed?: SourceSyncPayloadV1['onMalformed'] | null;
}

export interface SyncConnectionResult {
  runId: string | null;
  errors: UserError[];
}

/** A source identifier as the job carries it: 1–128 characters after trimming, no control characters. */
const identifierError = (value: string | null | undefined, field: string, what: string): UserError | null => {
  const v = (value ?? '').trim();
  // eslint-disable-next-line no-control-regex
  if (!v || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v)) return userError('INVALID_IDENTIFIER', field, `${what}: 1 to 128 characters, no control characters.`);
  return null;
};

/** The input's own checks (no database): tables present, identifiers well-formed, INCREMENTAL with a cursor column. */
export function validateSyncTables(tables: readonly SyncTableInput[]): { tables: SyncTableV1[]; errors: UserError[] } {
  const errors: UserError[] = [];
  if (!tables.length) return { tables: [], errors: [userError('TABLES_REQUIRED', 'tables', 'Name at least one table to sync.')] };
  if (tables.length > MAX_TABLES) return { tables: [], errors: [userError('TOO_MANY_TABLES', 'tables', `At most ${MAX_TABLES} tables per sync; split it into several runs.`)] };
  const seen = new Set<string>();
  const out: SyncTableV1[] = [];
  tables.forEach((t, i) => {
    const at = `tables.${i}`;
    const own = [identifierError(t.schema, `${at}.schema`, 'A schema name'), identifierError(t.name, `${at}.name`, 'A table name')];
    const key = t.primaryKey ?? null;
    if (key && (!key.length || key.length > MAX_KEY_COLUMNS)) own.push(userError('INVALID_IDENTIFIER', `${at}.primaryKey`, `A primary key: 1 to ${MAX_KEY_COLUMNS} columns (or leave it out for the source table's own).`));
    key?.forEach((c, j) => own.push(identifierError(c, `${at}.primaryKey.${j}`, 'A key column name')));
    if (t.cursorColumn != null) own.push(identifierError(t.cursorColumn, `${at}.cursorColumn`, 'A cursor column name'));
    if (t.mode === 'INCREMENTAL' && !t.cursorColumn?.trim()) {
      own.push(userError('CURSOR_REQUIRED', `${at}.cursorColumn`, 'An INCREMENTAL table needs a cursorColumn (a column that grows when a row changes: updated_at, a sequence); or sync it FULL.'));
    }
    const name = `${t.schema.trim()}.${t.name.trim()}`;
    if (seen.has(name)) own.push(userError('DUPLICATE_TABLE', `${at}.name`, `${name} is listed twice.`));
    seen.add(name);
    const found = own.filter((e): e is UserError => e !== null);
    errors.push(...found);
    if (found.length) return;
    out.push({
      schema: t.schema.trim(),
      name: t.name.trim(),
      mode: t.mode,
      ...(key ? { primaryKey: key.map((c) => c.trim()) } : {}),
      ...(t.mode === 'INCREMENTAL' ? { cursorColumn: t.cursorColumn!.trim() } : {}),
    });
  });
  return { tables: out, errors };
}

/**
 * `syncConnection`: queues a `source.sync` run copying tables of a SOURCE connection into the
 * workspace's warehouse: its platform schema, or its EXTERNAL destination connection. Needs
 * pipelines:run in the connection's workspace (checked here on the connection; the org always
 * comes from the viewer: another org's connection is CONNECTION_NOT_FOUND). One tenant
 * transaction: the workspace row is locked and must not be archived, the warehouse must be READY
 * (`lockWarehouseDestination`: EXTERNAL also locks the destination connection, which must still
 * be a DESTINATION PostgreSQL connection of the workspace), the run is admitted through the
 * quotas (it writes data: storage-checked in the platform warehouse, not in a customer's own
 * database; QUOTA_EXCEEDED rolls it back), then the job — the source's and an external
 * destination's secrets sealed for the data plane with AAD `job:<jobId>` — and its QUEUED run
 * event go to the outbox.
 */
export class SyncManager {
  constructor(
    private readonly viewer: Viewer,
    private readonly ds: DataSource,
    private readonly dao: ConnectionDao,
    private readonly warehouses: WarehouseDao,
    private readonly workspaces: WorkspaceManager,
    private readonly settings: TestDispatchSettings,
    private readonly onCommit: () => void,
    private readonly quotas: QuotaPolicy,
  ) {}

  async sync(input: SyncConnectionInput): Promise<SyncConnectionResult> {
    if (this.viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const viewer = this.viewer;
    const orgId = viewer.orgId;
    if (!isUuid(input.connectionId)) return { runId: null, errors: [NOT_FOUND] };
    const checked = validateSyncTables(input.tables);
    if (checked.errors.length) return { runId: null, errors: checked.errors };
    const result = await withTenant(this.ds, orgId, async (em): Promise<SyncConnectionResult> => {
      const conn = await this.dao.lockWithSecret(em, orgId, input.connectionId);
      if (!conn || !hasWorkspacePermission(viewer, conn.workspaceId, 'connections:read')) return { runId: null, errors: [NOT_FOUND] };
      if (!hasWorkspacePermission(viewer, conn.workspaceId, 'pipelines:run')) {
        return { runId: null, errors: [userError('FORBIDDEN', 'connectionId', 'You can see this connection but not sync it (needs pipelines:run); ask an editor of the workspace.')] };
      }
      const destinationDeps = { warehouses: this.warehouses, connections: this.dao, settings: this.settings };
      await lockDestinationConnectionFirst(em, destinationDeps, orgId, conn.workspaceId);
      // Locked like QuotaPolicy.admitRun does: an archive cannot slip in before this run commits.
      const [ws] = (await em.query(`SELECT archived_at FROM workspace.workspace WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR NO KEY UPDATE`, [orgId, conn.workspaceId])) as Array<{ archived_at: Date | null }>;
      if (!ws) return { runId: null, errors: [NOT_FOUND] };
      if (ws.archived_at) return { runId: null, errors: [this.workspaces.archivedError('connectionId')] };
      if (conn.kind !== 'SOURCE') {
        return { runId: null, errors: [userError('CONNECTION_KIND_INVALID', 'connectionId', 'Only a SOURCE connection can be synced; this one is a DESTINATION.')] };
      }
      // A file or a REST collection has no primary key of its own: an INCREMENTAL table names its key (the upsert's).
      if (conn.type === 'FILE' || conn.type === 'REST_API') {
        const keyless = checked.tables.flatMap((t, i) => (t.mode === 'INCREMENTAL' && !t.primaryKey?.length ? [i] : []));
        if (keyless.length) {
          const what = conn.type === 'FILE' ? 'A file' : 'A REST API collection';
          return {
            runId: null,
            errors: keyless.map((i) =>
              userError('PRIMARY_KEY_REQUIRED', `tables.${i}.primaryKey`, `${what} has no primary key of its own: an INCREMENTAL table needs primaryKey (the column(s) identifying a record, e.g. ["id"]); or sync it FULL.`),
            ),
          };
        }
      }
      const warehouse = await lockWarehouseDestination(em, destinationDeps, orgId, conn.workspaceId, 'connectionId');
      if (isUserError(warehouse)) return { runId: null, errors: [warehouse] };
      const runId = randomUUID();
      const jobId = randomUUID();
      const { limits } = await this.quotas.admitRun(em, orgId, { runId, workspaceId: conn.workspaceId, kind: 'source.sync', writesData: true, externalWarehouse: warehouse.mode === 'EXTERNAL' });
      // The destination: the platform schema and role, or the external connection with its secrets sealed for this job (AAD job:<jobId>).
      const destination = warehouse.mode === 'PLATFORM' ? warehouse.destination : await warehouse.seal(`job:${jobId}`);
      // The job: the connection's config, its secrets re-sealed for the data plane (AAD job:<jobId>), the destination.
      const config = configOf(conn.type, conn.config);
      await dispatchSourceJob(em, this.dao, this.settings, conn, {
        kind: 'source.sync',
        jobId,
        runId,
        requestedBy: actorIdOf(viewer),
        limits,
        payload: (secrets) => ({
          connectionId: conn.id,
          config,
          secrets,
          tables: checked.tables,
          onMalformed: input.onMalformed ?? 'SKIP_AND_REPORT',
          destination,
          driftPolicy: input.driftPolicy ?? 'BLOCK',
          batchRows: DEFAULT_SYNC_BATCH_ROWS,
          statementTimeoutMs: DEFAULT_SYNC_STATEMENT_TIMEOUT_MS,
        }),
      });
      return { runId, errors: [] };
    });
    if (result.runId) this.onCommit();
    return result;
  }
}
