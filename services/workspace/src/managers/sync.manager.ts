import { randomUUID } from 'node:crypto';
import { lockLiveWorkspaceForRun } from '../daos/workspace.dao';
import type { DataSource } from 'typeorm';
import { UnauthenticatedError, isUuid } from '@datalinx/common';
import { actorIdOf, hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { globToRegExp, type SnapshotTableRef, type SourceSyncPayloadV1, type SyncTableV1 } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import { SourceSnapshotRefDao, type DiscoveredSnapshotRef } from '../daos/source-snapshot-ref.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
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

export interface SyncScopeInput {
  /** Every discovered table of these schemas (exact, case-sensitive). */
  schemas?: readonly string[] | null;
  /** Every discovered table whose `schema.table` name (or bare name, for a pattern without a dot) matches one of these globs. */
  patterns?: readonly string[] | null;
}

export interface SyncConnectionInput {
  connectionId: string;
  /** Tables named one by one (their own mode and keys). */
  tables?: readonly SyncTableInput[] | null;
  /** Every TABLE of the connection's latest discovery snapshot, FULL. */
  allTables?: boolean | null;
  /** The discovered TABLEs of some schemas / matching some patterns, FULL. */
  scope?: SyncScopeInput | null;
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
  if (!v || v.length > 128 || /[\u0000-\u001f\u007f]/.test(v))
    return userError('INVALID_IDENTIFIER', field, `${what}: 1 to 128 characters, no control characters.`);
  return null;
};

const MAX_SCOPE_ENTRIES = 100;

/** The scope's own checks (no database): entries well-formed, not too many. */
export function validateSyncScope(scope: SyncScopeInput): UserError[] {
  const errors: UserError[] = [];
  for (const key of ['schemas', 'patterns'] as const) {
    const list = scope[key] ?? [];
    if (list.length > MAX_SCOPE_ENTRIES) errors.push(userError('TOO_MANY_SCOPE_ENTRIES', `scope.${key}`, `At most ${MAX_SCOPE_ENTRIES} ${key}.`));
    else
      list.forEach((v, i) => {
        const e = identifierError(v, `scope.${key}.${i}`, key === 'schemas' ? 'A schema name' : 'A pattern');
        if (e) errors.push(e);
      });
  }
  if (!errors.length && !(scope.schemas ?? []).length && !(scope.patterns ?? []).length) {
    errors.push(userError('SCOPE_EMPTY', 'scope', 'Give scope at least one schema or pattern, or leave scope out.'));
  }
  return errors;
}

/** Whether a discovered table is in a sync scope: its schema is listed, or a pattern matches `schema.table` (a pattern without a dot: the bare table name). */
export function inSyncScope(scope: SyncScopeInput, t: { schema: string; name: string }): boolean {
  if ((scope.schemas ?? []).some((s) => s.trim() === t.schema)) return true;
  return (scope.patterns ?? []).some((raw) => {
    const p = raw.trim();
    return globToRegExp(p).test(p.includes('.') ? `${t.schema}.${t.name}` : t.name);
  });
}

const listSome = (names: readonly string[], n = 5) => (names.length > n ? `${names.slice(0, n).join(', ')}, … (${names.length} in all)` : names.join(', '));
const discoveredAt = (snap: DiscoveredSnapshotRef) =>
  `discovery version ${snap.version} (${snap.createdAt instanceof Date ? snap.createdAt.toISOString() : String(snap.createdAt)})`;

/**
 * The request against what discovery found (the connection's latest snapshot): every table
 * exists there (exact `schema.table`, case-sensitive), every primary key and cursor column is a
 * column of it, and an INCREMENTAL table has a key (its own, or the source table's). Errors name
 * the field of each table (`tables.N.name`, `tables.N.primaryKey.J`, `tables.N.cursorColumn`).
 */
export function checkAgainstSnapshot(
  tables: readonly SyncTableV1[],
  fieldOf: (i: number) => string | null,
  snap: DiscoveredSnapshotRef,
  keyless: 'FILE' | 'REST_API' | null,
): UserError[] {
  const byName = new Map(snap.tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const errors: UserError[] = [];
  tables.forEach((t, i) => {
    const at = fieldOf(i);
    const name = `${t.schema}.${t.name}`;
    const found = byName.get(name);
    if (!found) {
      const lower = name.toLowerCase();
      const near = snap.tables.filter((x) => `${x.schema}.${x.name}`.toLowerCase() === lower || x.name === t.name).map((x) => `${x.schema}.${x.name}`);
      const hint = near.length
        ? ` Did you mean ${listSome(near, 3)}? Names are case-sensitive.`
        : snap.tables.length
          ? ` It has ${listSome(snap.tables.map((x) => `${x.schema}.${x.name}`))}.`
          : ' It found no tables.';
      errors.push(
        userError(
          'TABLE_NOT_DISCOVERED',
          at ? `${at}.name` : 'scope',
          `${JSON.stringify(name)} is not a table of the connection's latest ${discoveredAt(snap)}.${hint} If the table is new, run discoverConnection again first.`,
        ),
      );
      return;
    }
    const columns = new Set(found.columns.map((c) => c.name));
    const columnList = listSome(
      found.columns.map((c) => c.name),
      8,
    );
    t.primaryKey?.forEach((c, j) => {
      if (!columns.has(c))
        errors.push(
          userError('COLUMN_NOT_FOUND', at ? `${at}.primaryKey.${j}` : 'scope', `${name} has no column ${JSON.stringify(c)} (its columns: ${columnList}).`),
        );
    });
    if (t.cursorColumn !== undefined && !columns.has(t.cursorColumn)) {
      errors.push(
        userError(
          'COLUMN_NOT_FOUND',
          at ? `${at}.cursorColumn` : 'scope',
          `${name} has no column ${JSON.stringify(t.cursorColumn)} (its columns: ${columnList}).`,
        ),
      );
    }
    if (t.mode === 'INCREMENTAL' && !t.primaryKey?.length && !found.primaryKey.length) {
      const what = keyless === 'FILE' ? 'A file has' : keyless === 'REST_API' ? 'A REST API collection has' : `${name} has`;
      errors.push(
        userError(
          'PRIMARY_KEY_REQUIRED',
          at ? `${at}.primaryKey` : 'scope',
          `${what} no primary key of its own: an INCREMENTAL table needs primaryKey (the column(s) identifying a record, e.g. ["id"]); or sync it FULL.`,
        ),
      );
    }
  });
  return errors;
}

/** The input's own checks (no database): tables present, identifiers well-formed, INCREMENTAL with a cursor column. */
export function validateSyncTables(tables: readonly SyncTableInput[], required = true): { tables: SyncTableV1[]; errors: UserError[] } {
  const errors: UserError[] = [];
  if (!tables.length)
    return {
      tables: [],
      errors: required
        ? [
            userError(
              'TABLES_REQUIRED',
              'tables',
              'Name at least one table to sync, or set allTables (or scope) to sync every discovered table (of the scope).',
            ),
          ]
        : [],
    };
  if (tables.length > MAX_TABLES)
    return { tables: [], errors: [userError('TOO_MANY_TABLES', 'tables', `At most ${MAX_TABLES} tables per sync; split it into several runs.`)] };
  const seen = new Set<string>();
  const out: SyncTableV1[] = [];
  tables.forEach((t, i) => {
    const at = `tables.${i}`;
    const own = [identifierError(t.schema, `${at}.schema`, 'A schema name'), identifierError(t.name, `${at}.name`, 'A table name')];
    const key = t.primaryKey ?? null;
    if (key && (!key.length || key.length > MAX_KEY_COLUMNS))
      own.push(
        userError('INVALID_IDENTIFIER', `${at}.primaryKey`, `A primary key: 1 to ${MAX_KEY_COLUMNS} columns (or leave it out for the source table's own).`),
      );
    key?.forEach((c, j) => own.push(identifierError(c, `${at}.primaryKey.${j}`, 'A key column name')));
    if (t.cursorColumn != null) own.push(identifierError(t.cursorColumn, `${at}.cursorColumn`, 'A cursor column name'));
    if (t.mode === 'INCREMENTAL' && !t.cursorColumn?.trim()) {
      own.push(
        userError(
          'CURSOR_REQUIRED',
          `${at}.cursorColumn`,
          'An INCREMENTAL table needs a cursorColumn (a column that grows when a row changes: updated_at, a sequence); or sync it FULL.',
        ),
      );
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
 * workspace's warehouse: its platform schema, or its EXTERNAL destination connection. The tables
 * (named one by one, or every discovered table / those of a scope) are checked against the
 * connection's latest discovery snapshot — the workspace service's replica of it
 * (`SourceSnapshotRefDao`, fed by `schema.source_snapshot.created.v1`), never the schema
 * service's tables: an undiscovered connection, an unknown table or column is a typed error per
 * table and nothing is dispatched. Needs
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
    private readonly ds: DataSource,
    private readonly dao: ConnectionDao,
    private readonly warehouses: WarehouseDao,
    private readonly workspaces: WorkspaceManager,
    private readonly settings: JobDispatchSettings,
    private readonly onCommit: () => void,
    private readonly quotas: QuotaPolicy,
    private readonly snapshots: SourceSnapshotRefDao = new SourceSnapshotRefDao(ds),
  ) {}

  async sync(viewer: Viewer, input: SyncConnectionInput): Promise<SyncConnectionResult> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const orgId = viewer.orgId;
    if (!isUuid(input.connectionId)) return { runId: null, errors: [NOT_FOUND] };
    const all = input.allTables === true;
    const scope = input.scope ?? null;
    const inputErrors: UserError[] = [];
    if (all && scope)
      inputErrors.push(
        userError('SCOPE_CONFLICT', 'scope', 'allTables already picks every discovered table: leave out scope, or allTables to sync only the scope.'),
      );
    if (scope) inputErrors.push(...validateSyncScope(scope));
    const checked = validateSyncTables(input.tables ?? [], !all && !scope);
    inputErrors.push(...checked.errors);
    if (inputErrors.length) return { runId: null, errors: inputErrors };
    const result = await withTenant(this.ds, orgId, async (em): Promise<SyncConnectionResult> => {
      const conn = await this.dao.lockWithSecret(em, orgId, input.connectionId);
      if (!conn || !hasWorkspacePermission(viewer, conn.workspaceId, 'connections:read')) return { runId: null, errors: [NOT_FOUND] };
      if (!hasWorkspacePermission(viewer, conn.workspaceId, 'pipelines:run')) {
        return {
          runId: null,
          errors: [
            userError('FORBIDDEN', 'connectionId', 'You can see this connection but not sync it (needs pipelines:run); ask an editor of the workspace.'),
          ],
        };
      }
      const destinationDeps = { warehouses: this.warehouses, connections: this.dao, settings: this.settings };
      await lockDestinationConnectionFirst(em, destinationDeps, orgId, conn.workspaceId);
      // Locked like QuotaPolicy.admitRun does: an archive cannot slip in before this run commits.
      const ws = await lockLiveWorkspaceForRun(em, orgId, conn.workspaceId);
      if (!ws) return { runId: null, errors: [NOT_FOUND] };
      if (ws.archivedAt) return { runId: null, errors: [this.workspaces.archivedError('connectionId')] };
      if (conn.kind !== 'SOURCE') {
        return {
          runId: null,
          errors: [userError('CONNECTION_KIND_INVALID', 'connectionId', 'Only a SOURCE connection can be synced; this one is a DESTINATION.')],
        };
      }
      // A file or a REST collection has no primary key of its own: an INCREMENTAL table names its key (the upsert's).
      if (conn.type === 'FILE' || conn.type === 'REST_API') {
        const keyless = checked.tables.flatMap((t, i) => (t.mode === 'INCREMENTAL' && !t.primaryKey?.length ? [i] : []));
        if (keyless.length) {
          const what = conn.type === 'FILE' ? 'A file' : 'A REST API collection';
          return {
            runId: null,
            errors: keyless.map((i) =>
              userError(
                'PRIMARY_KEY_REQUIRED',
                `tables.${i}.primaryKey`,
                `${what} has no primary key of its own: an INCREMENTAL table needs primaryKey (the column(s) identifying a record, e.g. ["id"]); or sync it FULL.`,
              ),
            ),
          };
        }
      }
      const warehouse = await lockWarehouseDestination(em, destinationDeps, orgId, conn.workspaceId, 'connectionId');
      if (isUserError(warehouse)) return { runId: null, errors: [warehouse] };
      // What discovery found (the replica of the connection's latest snapshot): the request is checked against it
      // (after the workspace-wide refusals above: a warehouse that cannot take a load refuses any request).
      const snap = await this.snapshots.latest(em, orgId, conn.id);
      if (!snap) {
        return {
          runId: null,
          errors: [
            userError(
              'CONNECTION_NOT_DISCOVERED',
              'connectionId',
              'This connection has not been discovered yet (or its discovery is still being recorded): run discoverConnection first, wait for its run to succeed, then sync the tables it found.',
            ),
          ],
        };
      }
      const keyless = conn.type === 'FILE' || conn.type === 'REST_API' ? conn.type : null;
      const tableErrors = checkAgainstSnapshot(checked.tables, (i) => `tables.${i}`, snap, keyless);
      if (tableErrors.length) return { runId: null, errors: tableErrors };
      const selected = all || scope ? this.select(checked.tables, snap, all ? null : scope!) : { tables: checked.tables, errors: [] };
      if (selected.errors.length) return { runId: null, errors: selected.errors };
      const runId = randomUUID();
      const jobId = randomUUID();
      const { limits } = await this.quotas.admitRun(em, orgId, {
        runId,
        workspaceId: conn.workspaceId,
        kind: 'source.sync',
        writesData: true,
        externalWarehouse: warehouse.mode === 'EXTERNAL',
      });
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
          tables: selected.tables,
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

  /**
   * `allTables` (scope null) or `scope`: the snapshot's TABLEs (views only when named in
   * `tables`) in the scope, FULL, after the tables named one by one (which keep their settings).
   */
  private select(named: SyncTableV1[], snap: DiscoveredSnapshotRef, scope: SyncScopeInput | null): { tables: SyncTableV1[]; errors: UserError[] } {
    const field = scope ? 'scope' : 'allTables';
    const seen = new Set(named.map((t) => `${t.schema}.${t.name}`));
    const picked: SnapshotTableRef[] = snap.tables.filter((t) => t.kind === 'TABLE' && (!scope || inSyncScope(scope, t)) && !seen.has(`${t.schema}.${t.name}`));
    if (!picked.length && !named.length) {
      const what = scope ? 'The scope matches none of the tables' : 'There are no tables in';
      const tables = snap.tables.filter((t) => t.kind === 'TABLE').map((t) => `${t.schema}.${t.name}`);
      return {
        tables: [],
        errors: [
          userError(
            scope ? 'SCOPE_MATCHES_NOTHING' : 'NO_TABLES_DISCOVERED',
            field,
            `${what} the connection's latest ${discoveredAt(snap)}${tables.length ? ` (${listSome(tables)})` : ''}. Schemas are exact and case-sensitive; patterns use * and ? over schema.table (or the bare table name). If tables were added to the source, run discoverConnection again first.`,
          ),
        ],
      };
    }
    const errors: UserError[] = [];
    for (const t of picked) {
      const e = identifierError(t.schema, field, 'A schema name') ?? identifierError(t.name, field, `Table ${t.schema}.${t.name.slice(0, 64)}: a table name`);
      if (e) errors.push(e);
    }
    if (named.length + picked.length > MAX_TABLES) {
      errors.push(
        userError(
          'TOO_MANY_TABLES',
          field,
          `That is ${named.length + picked.length} tables; at most ${MAX_TABLES} per sync: narrow it with scope, or split it into several runs.`,
        ),
      );
    }
    return { tables: [...named, ...picked.map((t): SyncTableV1 => ({ schema: t.schema, name: t.name, mode: 'FULL' }))], errors };
  }
}
