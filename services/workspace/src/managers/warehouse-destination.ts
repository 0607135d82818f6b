import type { EntityManager } from 'typeorm';
import { externalWarehouseSchemaName, type ExternalWarehouseDestination, type PlatformWarehouseDestination } from '@datalinx/contracts';
import type { ConnectionDao } from '../daos/connection.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import { resealForDataPlane } from '../jobs/source-job.dispatch';
import { configOf } from './connection-config';
import { userError, type UserError } from './user-error';

/** What resolving a workspace's warehouse reads: the warehouse row, the destination connection, the data-plane key. */
export interface WarehouseDestinationDeps {
  warehouses: WarehouseDao;
  /** The destination connection's DAO (an EXTERNAL warehouse's connection is locked and read). */
  connections: ConnectionDao;
  /** The master key the workers open job secrets with, and the box that opens connection secrets. */
  settings: JobDispatchSettings;
}

/**
 * A workspace's warehouse, locked and checked, ready to go into a job:
 * - PLATFORM: the generated schema and role, as the job carries them.
 * - EXTERNAL: the destination connection (locked) and the schema loads go to; `seal(aad)` opens
 *   the connection's secrets and re-seals them for the data plane with the job's AAD (`job:<jobId>`,
 *   or `pipelineSecretAad(jobId, connectionId)` for a pipeline run), so a sealed password cannot be
 *   replayed in another job. Sealed last, once every other check of the dispatch passed.
 */
export type LockedWarehouseDestination =
  | { mode: 'PLATFORM'; destination: PlatformWarehouseDestination }
  | { mode: 'EXTERNAL'; connectionId: string; schema: string; seal(aad: string): Promise<ExternalWarehouseDestination> };

/**
 * Lock order: testConnection and discovery lock a connection and then its workspace row
 * (QuotaPolicy); a dispatch locks the workspace row before the warehouse's. So that a dispatch
 * and a test of the destination connection cannot deadlock, dispatchers call this before they
 * lock the workspace row: it takes the EXTERNAL warehouse's destination connection row lock
 * first (`lockWarehouseDestination` takes it again later, which is free for the holder). Nothing
 * for a PLATFORM warehouse.
 */
export async function lockDestinationConnectionFirst(em: EntityManager, deps: WarehouseDestinationDeps, orgId: string, workspaceId: string): Promise<void> {
  const id = await deps.warehouses.externalConnectionId(em, orgId, workspaceId);
  if (id) await deps.connections.lockWithSecret(em, orgId, id);
}

/**
 * The one warehouse check of every data-plane dispatcher (syncConnection, pipeline runs,
 * canonicalizeColumn), inside the caller's tenant transaction after it locked the workspace row
 * (and, before that, called `lockDestinationConnectionFirst`):
 * locks the warehouse row (FOR UPDATE; a switch to another destination waits for this dispatch)
 * and, for EXTERNAL, the destination connection (FOR UPDATE, like a test dispatch: its settings and
 * secrets cannot change under the job). Returns the typed error (at `field`) when the warehouse
 * cannot take the job:
 * - WAREHOUSE_NOT_READY: PENDING (still being provisioned), FAILED (why, and who can fix it), PURGED;
 * - EXTERNAL: WAREHOUSE_CONNECTION_NOT_FOUND (the destination connection is gone from the
 *   workspace), WAREHOUSE_CONNECTION_INVALID (no longer a DESTINATION PostgreSQL connection),
 *   CONNECTION_CONFIG_INVALID (stored settings that no longer parse), WAREHOUSE_SCHEMA_INVALID
 *   (the connection names a schema loads cannot use).
 *
 * The schema of an EXTERNAL warehouse: the connection's `schema` when it names one, else the
 * workspace's generated `ws_<hex>` name (the row's `schema_name`).
 */
export async function lockWarehouseDestination(
  em: EntityManager,
  deps: WarehouseDestinationDeps,
  orgId: string,
  workspaceId: string,
  field: string | null,
): Promise<LockedWarehouseDestination | UserError> {
  const warehouse = await deps.warehouses.lock(em, orgId, workspaceId);
  if (!warehouse || warehouse.status !== 'READY') {
    const what =
      warehouse?.status === 'FAILED'
        ? `its provisioning failed${warehouse.lastError ? ` (${warehouse.lastError})` : ''}; ask an organization admin or support to re-provision it`
        : warehouse?.status === 'PURGED'
          ? 'it was purged'
          : 'it is still being provisioned; try again in a moment (see `workspace { warehouse { status } }`)';
    return userError('WAREHOUSE_NOT_READY', field, `The workspace's warehouse is not ready: ${what}.`);
  }
  if (warehouse.mode === 'PLATFORM') return { mode: 'PLATFORM', destination: { schema: warehouse.schemaName, role: warehouse.roleName } };

  const { connections, settings } = deps;
  const connectionId = warehouse.connectionId!;
  const conn = await connections.lockWithSecret(em, orgId, connectionId);
  if (!conn || conn.workspaceId !== workspaceId) {
    return userError(
      'WAREHOUSE_CONNECTION_NOT_FOUND',
      field,
      `The workspace's external warehouse is destination connection ${connectionId}, which no longer exists in this workspace (it was deleted). An organization admin can point the warehouse at another DESTINATION PostgreSQL connection with useExternalWarehouse; then try again.`,
    );
  }
  if (conn.kind !== 'DESTINATION' || conn.type !== 'POSTGRES') {
    return userError(
      'WAREHOUSE_CONNECTION_INVALID',
      field,
      `The workspace's external warehouse is connection "${conn.name}", which is now a ${conn.kind} ${conn.type} connection; loads need a DESTINATION PostgreSQL connection. Make it one again with updateConnection, or have an organization admin choose another with useExternalWarehouse.`,
    );
  }
  let config;
  try {
    config = configOf(conn.type, conn.config);
  } catch {
    config = null;
  }
  if (!config || config.type !== 'POSTGRES') {
    return userError(
      'CONNECTION_CONFIG_INVALID',
      field,
      `The settings of the warehouse's destination connection "${conn.name}" are incomplete or no longer valid; fix them with updateConnection, then try again.`,
    );
  }
  const schema = config.schema ?? warehouse.schemaName;
  if (!externalWarehouseSchemaName.safeParse(schema).success) {
    return userError(
      'WAREHOUSE_SCHEMA_INVALID',
      field,
      `The warehouse's destination connection "${conn.name}" names schema "${schema}", which loads cannot use: a plain name (a letter or _, then letters, digits or _, at most 63 characters, not pg_…). Change its schema with updateConnection, or clear it to load into ${warehouse.schemaName}.`,
    );
  }
  const pg = config;
  return {
    mode: 'EXTERNAL',
    connectionId,
    schema,
    seal: async (aad) => ({
      schema,
      external: { connectionId, config: pg, secrets: await resealForDataPlane(em, connections, settings, conn, aad) },
    }),
  };
}

export const isUserError = (v: LockedWarehouseDestination | UserError): v is UserError => 'code' in v;
