import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { warehouseRoleName, warehouseSchemaName, type WarehousePurgeJobV1, type WarehouseProvisionJobV1 } from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import type { RunReporter } from '../run-reporter';
import { lit, qi } from '../sync/sql';

export type WarehouseJob = WarehouseProvisionJobV1 | WarehousePurgeJobV1;

/**
 * Only the generated names are ever used; they are checked here again (the contract checks them
 * too) because they are spliced into DDL, where bind parameters cannot go.
 */
function ident(name: string, kind: 'schema' | 'role' | 'database'): string {
  const ok =
    kind === 'schema'
      ? warehouseSchemaName.safeParse(name).success
      : kind === 'role'
        ? warehouseRoleName.safeParse(name).success
        : /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(name);
  if (!ok) throw new PermanentJobError(`refusing an unexpected warehouse ${kind} name`, 'INVALID_WAREHOUSE_NAME');
  return qi(name);
}

/**
 * The role's password as a SCRAM-SHA-256 verifier (RFC 5802 / 7677, the format PostgreSQL
 * stores): the clear password never reaches the server, so no server log (log_statement, an
 * error echoing the statement) can show it.
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * A lock per warehouse database, cluster-wide. Every provision and purge rewrites catalog rows all
 * workspaces share (the database's ACL, the `public` schema's ACL): two of them at once, even for
 * different workspaces, would fail with "tuple concurrently updated". They are short and rare, so
 * they take turns.
 */
const lockKey = (database: string) => createHash('sha256').update(`dlx-warehouse-db:${database}`).digest().readBigInt64BE(0).toString();

async function admin(adminUrl: string, database: string): Promise<Client> {
  const u = new URL(adminUrl);
  const configured = decodeURIComponent(u.pathname.replace(/^\//, ''));
  // The control plane recorded which database the workspace lives in; a worker configured for
  // another warehouse must not create the workspace's objects somewhere else.
  if (configured !== database) {
    throw new PermanentJobError(
      `the job is for warehouse database "${database}" but this worker's WAREHOUSE_ADMIN_URL points at "${configured}": configure the workers and the workspace service with the same WAREHOUSE_ADMIN_URL`,
      'WAREHOUSE_MISMATCH',
    );
  }
  const c = new Client({ connectionString: adminUrl, application_name: 'datalinx-worker-warehouse', connectionTimeoutMillis: 10_000 });
  await c.connect();
  return c;
}

/**
 * `warehouse.provision`: idempotently gives the workspace its login role (created, or its password
 * reset to the one in the job), CONNECT on the warehouse database (which PUBLIC loses), its own
 * schema (owned by the role), no rights on `public` nor on any other workspace's schema, and a
 * statement timeout. Then checks the isolation from the catalog. Steps: role ready, schema ready,
 * isolation checked. Transient errors (connection refused, …) throw and are retried by the
 * runner; the terminal state is reported here.
 */
export async function provisionWarehouse(
  job: WarehouseProvisionJobV1,
  adminUrl: string,
  openPassword: () => string,
  report: RunReporter,
): Promise<{ ok: boolean; summary: string; error?: { code: string; message: string } }> {
  const { database, schema, role } = job.payload;
  const [db, sch, rol] = [ident(database, 'database'), ident(schema, 'schema'), ident(role, 'role')];
  // The role's password, opened by the job runner's JobSecrets (SECRET_UNREADABLE when it does not open).
  const password = openPassword();
  const c = await admin(adminUrl, database);
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(database)]);
    await report.timed('role ready', async () => {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verifier = lit(scramVerifier(password));
      const attrs = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20';
      await c.query(rowCount ? `ALTER ROLE ${rol} WITH ${attrs} PASSWORD ${verifier}` : `CREATE ROLE ${rol} WITH ${attrs} PASSWORD ${verifier}`);
      await c.query(`ALTER ROLE ${rol} SET statement_timeout = ${Math.floor(job.payload.statementTimeoutMs)}`);
      await c.query(`ALTER ROLE ${rol} IN DATABASE ${db} SET search_path = ${sch}`);
      // Only the workspace roles the platform grants may connect, and nobody gets TEMP by default.
      await c.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
      await c.query(`GRANT CONNECT ON DATABASE ${db} TO ${rol}`);
      return { message: rowCount ? `role ${role} existed: password reset, attributes and statement timeout applied` : `role ${role} created` };
    });
    await report.timed('schema ready', async () => {
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${sch} AUTHORIZATION ${rol}`);
      await c.query(`ALTER SCHEMA ${sch} OWNER TO ${rol}`);
      await c.query(`REVOKE ALL ON SCHEMA ${sch} FROM PUBLIC`);
      // PostgreSQL ≥ 15 no longer lets PUBLIC create in `public`; older servers do: close it on every version.
      await c.query(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
      await c.query(`REVOKE ALL ON SCHEMA public FROM ${rol}`);
      return { message: `schema ${schema} owned by ${role}` };
    });
    await report.timed('isolation checked', async () => {
      const { rows } = await c.query<{ nspname: string }>(
        `SELECT n.nspname FROM pg_namespace n
          WHERE n.nspname <> $2 AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND (has_schema_privilege($1, n.oid, 'USAGE') OR has_schema_privilege($1, n.oid, 'CREATE'))`,
        [role, schema],
      );
      if (rows.length) throw new Error(`role ${role} can still use schema(s) ${rows.map((r) => r.nspname).join(', ')}`);
      const { rows: own } = await c.query<{ ok: boolean }>(`SELECT has_schema_privilege($1, $2, 'USAGE') AND has_schema_privilege($1, $2, 'CREATE') AS ok`, [
        role,
        schema,
      ]);
      if (!own[0]?.ok) throw new Error(`role ${role} cannot use its own schema ${schema}`);
      return { message: `${role} can use only ${schema} (no rights on public or other schemas)` };
    });
    await c.query('COMMIT');
    return { ok: true, summary: `warehouse schema ${schema} ready for role ${role}` };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (err instanceof PermanentJobError) throw err;
    const e = err as Error & { code?: string };
    // Connection-level trouble is transient (the runner retries); a refused statement is not.
    if (!e.code || /^(08|57P0|53)/.test(e.code)) throw err;
    return { ok: false, summary: 'provisioning failed', error: { code: `PG_${e.code}`, message: e.message } };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** `warehouse.purge`: drops the workspace's schema (CASCADE) and its role. Idempotent: what is gone stays gone. */
export async function purgeWarehouse(
  job: WarehousePurgeJobV1,
  adminUrl: string,
  report: RunReporter,
): Promise<{ ok: boolean; summary: string; error?: { code: string; message: string } }> {
  const { database, schema, role } = job.payload;
  const [sch, rol] = [ident(schema, 'schema'), ident(role, 'role')];
  ident(database, 'database');
  const c = await admin(adminUrl, database);
  try {
    // Open sessions of the role would keep using dropped objects' locks; end them first (best effort).
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]).catch(() => undefined);
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(database)]);
    await report.timed('schema dropped', async () => {
      await c.query(`DROP SCHEMA IF EXISTS ${sch} CASCADE`);
      return { message: `schema ${schema} dropped (or already gone)` };
    });
    await report.timed('role dropped', async () => {
      const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (rowCount) {
        // Revokes its grants here (CONNECT on the database included) and drops anything left it owns.
        await c.query(`DROP OWNED BY ${rol}`);
        await c.query(`DROP ROLE ${rol}`);
      }
      return { message: rowCount ? `role ${role} dropped` : `role ${role} was already gone` };
    });
    await c.query('COMMIT');
    return { ok: true, summary: `warehouse schema ${schema} and role ${role} purged` };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (err instanceof PermanentJobError) throw err;
    const e = err as Error & { code?: string };
    if (!e.code || /^(08|57P0|53)/.test(e.code)) throw err;
    return { ok: false, summary: 'purge failed', error: { code: `PG_${e.code}`, message: e.message } };
  } finally {
    await c.end().catch(() => undefined);
  }
}
