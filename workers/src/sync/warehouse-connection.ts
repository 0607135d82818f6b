import { Client } from 'pg';
import {
  externalWarehouseSchemaName,
  isExternalDestination,
  warehouseRoleName,
  warehouseSchemaName,
  type ExternalWarehouseDestination,
  type ConnectionSecrets,
  type SourceSyncPayloadV1,
} from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import { connectPostgres, explainPgError } from '../connectors/postgres';
import { connectFailure, SyncFailure, type SyncReporter } from './outcome';
import { qi } from './sql';
import { ensureStateTable } from './checkpoint';

/** How the sync's sessions connect (sources and external warehouses): no query timeout here, the warehouse session sets its own statement_timeout. */
export const syncConnect = (applicationName: string) => ({ applicationName, connectTimeoutMs: 15_000 });

/**
 * Refuses warehouse names that are not the expected shapes (they are quoted into DDL): a
 * platform destination's generated schema and role, an external destination's plain schema name.
 */
export function checkDestination(p: Pick<SourceSyncPayloadV1, 'destination'>): void {
  const d = p.destination;
  const ok = isExternalDestination(d)
    ? externalWarehouseSchemaName.safeParse(d.schema).success && d.external.config.type === 'POSTGRES'
    : warehouseSchemaName.safeParse(d.schema).success && warehouseRoleName.safeParse(d.role).success;
  if (!ok) throw new PermanentJobError('refusing an unexpected warehouse schema or role name', 'INVALID_WAREHOUSE_NAME');
}

/** How a worker reaches a job's warehouse: the platform's through WAREHOUSE_ADMIN_URL, an external one with its own (opened) secrets. */
export interface WarehouseAccess {
  /** WAREHOUSE_ADMIN_URL (PLATFORM destinations only). */
  warehouseAdminUrl?: string;
  /** EXTERNAL destinations: the destination connection's secrets, opened by the job runner (never logged). */
  destinationSecrets?: ConnectionSecrets;
}

/** A connected warehouse session: the client, and for an EXTERNAL destination how it was reached (for the step message). */
export interface WarehouseConnection {
  wh: Client;
  /** EXTERNAL only: `<database> on <host>:<port> as <user> (TLS | unencrypted …)`. */
  external?: string;
}

/**
 * Opens the job's warehouse session (not yet prepared; see `prepareWarehouse`). PLATFORM: the
 * WAREHOUSE_ADMIN_URL session (a worker without it throws a plain Error: the job is retried, another
 * worker may have it). EXTERNAL: the destination connection's user, password and TLS settings.
 * An external destination goes through the network policy like any tenant's connection (the
 * platform's WAREHOUSE_ADMIN_URL does not: it is the operator's). A refusal (by the policy: a
 * platform endpoint or a private address; by the server: wrong password, no such database,
 * pg_hba, certificate) is a SyncFailure with connection.test's code and advice; an unreachable
 * server is a ConnectionFailure with its code (transient: retried).
 */
export async function connectWarehouse(
  d: SourceSyncPayloadV1['destination'],
  o: WarehouseAccess,
  applicationName = 'datalinx-sync',
): Promise<WarehouseConnection> {
  if (!isExternalDestination(d)) {
    if (!o.warehouseAdminUrl) throw new Error('this worker has no WAREHOUSE_ADMIN_URL: it cannot write to the platform warehouse');
    const wh = new Client({ connectionString: o.warehouseAdminUrl, application_name: applicationName, connectionTimeoutMillis: 15_000 });
    try {
      await wh.connect();
    } catch (err) {
      await wh.end().catch(() => undefined);
      throw err;
    }
    return { wh };
  }
  const c = d.external.config;
  try {
    const { client, tls } = await connectPostgres({ ...c, password: o.destinationSecrets?.password }, syncConnect(applicationName));
    return {
      wh: client,
      external: `database ${c.database} on ${c.host}:${c.port} as ${c.user} (${tls ? 'TLS' : c.sslMode === 'prefer' ? 'unencrypted: the server offers no TLS' : 'unencrypted'})`,
    };
  } catch (err) {
    const why = explainPgError(err as Error & { code?: string }, c);
    throw connectFailure(
      why,
      `The workspace's external warehouse (destination connection ${d.external.connectionId}) refused the connection: ${why.message} Fix the destination connection's settings (updateConnection), then run again.`,
    );
  }
}

/**
 * Prepares a connected warehouse session, with the payload's statement timeout on every
 * statement. PLATFORM: switches to the workspace role (`SET ROLE`): from here on every statement
 * has that role's privileges. EXTERNAL: the session stays the destination connection's user (the
 * customer's role) and the schema is created if missing (`ensureExternalSchema`). Returns the
 * quoted schema (its `_dlx_sync_state` table created if missing).
 */
export async function prepareWarehouse(wh: Client, p: Pick<SourceSyncPayloadV1, 'destination' | 'statementTimeoutMs'>): Promise<string> {
  await wh.query('SET standard_conforming_strings = on');
  const d = p.destination;
  if (!isExternalDestination(d)) await wh.query(`SET ROLE ${qi(d.role)}`);
  await wh.query(`SET statement_timeout = ${Math.floor(p.statementTimeoutMs)}`);
  if (isExternalDestination(d)) await ensureExternalSchema(wh, d);
  const ws = qi(d.schema);
  await ensureStateTable(wh, ws);
  return ws;
}

/**
 * An external warehouse's schema: created when missing (`CREATE SCHEMA IF NOT EXISTS`, which
 * needs CREATE on the database), otherwise the user needs USAGE and CREATE on it. Checked first
 * (PostgreSQL checks CREATE on the database even when the schema exists), so a destination user
 * that was granted an existing schema works, and a missing privilege fails the run with
 * PERMISSION_DENIED naming the GRANT to run. Returns whether the schema was created.
 */
export async function ensureExternalSchema(wh: Client, d: ExternalWarehouseDestination): Promise<boolean> {
  const { user, database } = d.external.config;
  const { rows } = await wh.query<{ exists: boolean; usage: boolean; create: boolean; can_create: boolean }>(
    `SELECT n.oid IS NOT NULL AS exists,
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false) AS usage, coalesce(has_schema_privilege(n.oid, 'CREATE'), false) AS create,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = $1`,
    [d.schema],
  );
  const r = rows[0];
  const createDenied = () =>
    new SyncFailure(
      'PERMISSION_DENIED',
      `The external warehouse's user "${user}" may not create schema "${d.schema}" in database "${database}", so nothing was loaded. Run GRANT CREATE ON DATABASE "${database}" TO "${user}", or create the schema yourself (CREATE SCHEMA "${d.schema}") and GRANT USAGE, CREATE ON SCHEMA "${d.schema}" TO "${user}"; then run again.`,
    );
  if (r.exists) {
    if (r.usage && r.create) return false;
    throw new SyncFailure(
      'PERMISSION_DENIED',
      `The external warehouse's user "${user}" lacks ${[!r.usage && 'USAGE', !r.create && 'CREATE'].filter(Boolean).join(' and ')} on schema "${d.schema}" of database "${database}", so nothing was loaded. Run GRANT USAGE, CREATE ON SCHEMA "${d.schema}" TO "${user}", then run again.`,
    );
  }
  if (!r.can_create) throw createDenied();
  try {
    await wh.query(`CREATE SCHEMA IF NOT EXISTS ${qi(d.schema)}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '42501') throw createDenied();
    // Two runs creating it at once: one wins, the other finds it.
    if (code !== '23505' && code !== '42P06') throw err;
  }
  return true;
}

/**
 * Connects and prepares the warehouse session of a sync (`connectWarehouse` + `prepareWarehouse`).
 * EXTERNAL: reported as the step `warehouse` (where the data goes, whether the schema was created,
 * and that the platform's storage quota does not apply to the customer's own database).
 */
export async function openSyncWarehouse(p: SourceSyncPayloadV1, o: WarehouseAccess, report: SyncReporter): Promise<{ wh: Client; ws: string }> {
  const s0 = Date.now();
  const { wh, external } = await connectWarehouse(p.destination, o);
  try {
    const d = p.destination;
    const existed = isExternalDestination(d) ? await schemaExists(wh, d.schema) : true;
    const ws = await prepareWarehouse(wh, p);
    if (external) {
      await report.step(
        'warehouse',
        'SUCCESS',
        `external PostgreSQL warehouse: ${external}, schema ${d.schema}${existed ? '' : ' (created)'}; the platform's storage quota does not apply to your own database (its size is yours to watch)`,
        Date.now() - s0,
      );
    }
    return { wh, ws };
  } catch (err) {
    await wh.end().catch(() => undefined);
    throw err;
  }
}

const schemaExists = async (wh: Client, schema: string) => Boolean((await wh.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).rowCount);
