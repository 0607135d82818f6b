import type { DataSource, EntityManager } from 'typeorm';
import { withTenant } from '@datalinx/db';
import type { WorkspaceSealed } from '../secrets/keyring';

export type WarehouseModeValue = 'PLATFORM' | 'EXTERNAL';
export type WarehouseStatusValue = 'PENDING' | 'READY' | 'FAILED' | 'PURGED';

/** A workspace's warehouse as the API may show it: never the password, only whether one is set. */
export interface WarehouseRow {
  workspaceId: string;
  orgId: string;
  mode: WarehouseModeValue;
  database: string | null;
  schemaName: string;
  roleName: string;
  passwordSet: boolean;
  connectionId: string | null;
  status: WarehouseStatusValue;
  lastError: string | null;
  lastRunId: string | null;
  updatedAt: Date;
  /** EXTERNAL: where the destination connection points (non-secret settings; `schema`: the connection's own, null when it names none). */
  external: { host: string | null; port: number | null; database: string | null; user: string | null; schema: string | null; secretSet: boolean } | null;
}

interface RawRow {
  workspace_id: string;
  org_id: string;
  mode: WarehouseModeValue;
  database: string | null;
  schema_name: string;
  role_name: string;
  password_set: boolean;
  connection_id: string | null;
  status: WarehouseStatusValue;
  last_error: string | null;
  last_run_id: string | null;
  updated_at: Date;
  ext_host: string | null;
  ext_port: number | null;
  ext_database: string | null;
  ext_user: string | null;
  ext_schema: string | null;
  ext_has_secret: boolean | null;
}

const SELECT = `SELECT h.workspace_id, h.org_id, h.mode, h.database, h.schema_name, h.role_name, h.password_sealed IS NOT NULL AS password_set,
    h.connection_id, h.status, h.last_error, h.last_run_id, h.updated_at,
    c.config->>'host' AS ext_host, (c.config->>'port')::int AS ext_port, c.config->>'database' AS ext_database, c.config->>'user' AS ext_user,
    c.config->>'schema' AS ext_schema, c.secret_updated_at IS NOT NULL AS ext_has_secret
  FROM workspace.warehouse h LEFT JOIN workspace.connection c ON c.id = h.connection_id AND c.org_id = h.org_id`;

const toRow = (r: RawRow): WarehouseRow => ({
  workspaceId: r.workspace_id,
  orgId: r.org_id,
  mode: r.mode,
  database: r.database,
  schemaName: r.schema_name,
  roleName: r.role_name,
  passwordSet: r.password_set,
  connectionId: r.connection_id,
  status: r.status,
  lastError: r.last_error,
  lastRunId: r.last_run_id,
  updatedAt: r.updated_at,
  external: r.connection_id
    ? { host: r.ext_host, port: r.ext_port, database: r.ext_database, user: r.ext_user, schema: r.ext_schema, secretSet: Boolean(r.ext_has_secret) }
    : null,
});

/**
 * workspace.warehouse rows; org id first. The sealed password is only read by `sealedPassword`.
 * Methods on the DataSource run in their own `withTenant` transaction; methods taking an
 * EntityManager run in the caller's tenant transaction for the same org.
 */
export class WarehouseDao {
  constructor(private readonly ds: DataSource) {}

  async findByWorkspaces(orgId: string, workspaceIds: readonly string[]): Promise<WarehouseRow[]> {
    if (!workspaceIds.length) return [];
    const rows: RawRow[] = await withTenant(this.ds, orgId, (em) =>
      em.query(`${SELECT} WHERE h.org_id = $1 AND h.workspace_id = ANY($2::uuid[])`, [orgId, [...workspaceIds]]),
    );
    return rows.map(toRow);
  }

  async insertPlatform(
    em: EntityManager,
    orgId: string,
    v: { workspaceId: string; database: string; schemaName: string; roleName: string; passwordSealed: WorkspaceSealed; runId: string },
  ): Promise<void> {
    await em.query(
      `INSERT INTO workspace.warehouse (workspace_id, org_id, mode, database, schema_name, role_name, password_sealed, status, last_run_id)
       VALUES ($1, $2, 'PLATFORM', $3, $4, $5, $6, 'PENDING', $7)`,
      [v.workspaceId, orgId, v.database, v.schemaName, v.roleName, JSON.stringify(v.passwordSealed), v.runId],
    );
  }

  /** The row locked for the caller's transaction (the password stays sealed). */
  async lock(em: EntityManager, orgId: string, workspaceId: string): Promise<WarehouseRow | null> {
    await em.query(`SELECT 1 FROM workspace.warehouse WHERE org_id = $1 AND workspace_id = $2 FOR UPDATE`, [orgId, workspaceId]);
    const rows: RawRow[] = await em.query(`${SELECT} WHERE h.org_id = $1 AND h.workspace_id = $2`, [orgId, workspaceId]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** An EXTERNAL warehouse's destination connection id (not locked: see `lockDestinationConnectionFirst`); null for PLATFORM or no row. */
  async externalConnectionId(em: EntityManager, orgId: string, workspaceId: string): Promise<string | null> {
    const rows: Array<{ connection_id: string | null }> = await em.query(
      `SELECT connection_id FROM workspace.warehouse WHERE org_id = $1 AND workspace_id = $2 AND mode = 'EXTERNAL'`,
      [orgId, workspaceId],
    );
    return rows[0]?.connection_id ?? null;
  }

  async sealedPassword(em: EntityManager, orgId: string, workspaceId: string): Promise<WorkspaceSealed | null> {
    const rows: Array<{ password_sealed: WorkspaceSealed | null }> = await em.query(
      `SELECT password_sealed FROM workspace.warehouse WHERE org_id = $1 AND workspace_id = $2`,
      [orgId, workspaceId],
    );
    return rows[0]?.password_sealed ?? null;
  }

  /** A job was dispatched for the warehouse: only that run's result may change the status now. */
  async markDispatched(em: EntityManager, orgId: string, workspaceId: string, runId: string, status: WarehouseStatusValue): Promise<void> {
    await em.query(
      `UPDATE workspace.warehouse SET status = $3, last_run_id = $4, last_error = NULL, updated_at = now() WHERE org_id = $1 AND workspace_id = $2`,
      [orgId, workspaceId, status, runId],
    );
  }

  async setExternal(em: EntityManager, orgId: string, workspaceId: string, connectionId: string): Promise<void> {
    await em.query(
      `UPDATE workspace.warehouse SET mode = 'EXTERNAL', connection_id = $3, status = 'READY', last_error = NULL, updated_at = now() WHERE org_id = $1 AND workspace_id = $2`,
      [orgId, workspaceId, connectionId],
    );
  }

  /** The connection's kind, type and (PostgreSQL) schema, if it is one of this workspace's (same org by row-level security and filter). */
  async connectionOf(
    em: EntityManager,
    orgId: string,
    workspaceId: string,
    connectionId: string,
  ): Promise<{ kind: string; type: string; schema: string | null } | null> {
    const rows: Array<{ kind: string; type: string; schema: string | null }> = await em.query(
      `SELECT kind, type, config->>'schema' AS schema FROM workspace.connection WHERE org_id = $1 AND workspace_id = $2 AND id = $3`,
      [orgId, workspaceId, connectionId],
    );
    return rows[0] ?? null;
  }

  /**
   * Records a warehouse job's terminal result, but only for the warehouse's latest run (an older
   * run's result is stale). The org comes from the run event: an event naming another org than
   * the warehouse's touches nothing. Idempotent: a redelivered result sets the same values.
   */
  async recordRunResult(orgId: string, workspaceId: string, runId: string, r: { status: WarehouseStatusValue; error: string | null }): Promise<number> {
    const res: [unknown[], number] = await withTenant(this.ds, orgId, (em) =>
      em.query(`UPDATE workspace.warehouse SET status = $4, last_error = $5, updated_at = now() WHERE org_id = $1 AND workspace_id = $2 AND last_run_id = $3`, [
        orgId,
        workspaceId,
        runId,
        r.status,
        r.error,
      ]),
    );
    return res[1] ?? 0;
  }
}

/**
 * Bytes of every relation (tables, indexes, TOAST) in each of `schemas`, read from the PostgreSQL
 * catalog of a warehouse database (`warehouse`: a connection to that database, not the service's).
 */
export async function warehouseSchemaSizes(warehouse: DataSource, schemas: readonly string[]): Promise<Map<string, number>> {
  const rows: Array<{ schema: string; bytes: string }> = await warehouse.query(
    `SELECT n.nspname AS schema, coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS bytes
       FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm', 'p')
      WHERE n.nspname = ANY($1::text[]) GROUP BY n.nspname`,
    [schemas],
  );
  return new Map(rows.map((r) => [r.schema, Number(r.bytes)]));
}
