import { createHash } from 'node:crypto';
import { Client } from 'pg';
import type { QueryRunner } from 'typeorm';

/**
 * The runtime role (ARCHITECTURE.md §3, step 7): services connect as a role that owns no table,
 * so `FORCE ROW LEVEL SECURITY` binds it and it can neither ALTER nor DROP anything. Migrations
 * run as the owner (DATABASE_MIGRATION_URL) and grant this role exactly the DML it needs.
 * Roles are cluster-wide: one name serves every database of the cluster.
 */
export const DEFAULT_RUNTIME_ROLE = 'datalinx_app';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The runtime role's name: DATABASE_RUNTIME_ROLE, default `datalinx_app` (a plain lower-case identifier). */
export function runtimeRoleName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.DATABASE_RUNTIME_ROLE?.trim() || DEFAULT_RUNTIME_ROLE;
  if (!ROLE_NAME.test(name)) throw new Error(`DATABASE_RUNTIME_ROLE must be a lower-case SQL identifier (got "${name}")`);
  return name;
}

/** What the runtime role gets on a service's schema. */
export interface RuntimeGrants {
  role: string;
  /** Tables it may only read (global catalogues written by migrations alone). */
  readOnlyTables?: readonly string[];
}

/** The SQLSTATEs of a concurrent CREATE ROLE that lost the race (roles are cluster-wide). */
const ROLE_RACE = new Set(['42710', '23505']);

/**
 * After a service's migrations: grants the runtime role USAGE on the schema, SELECT/INSERT/
 * UPDATE/DELETE on its tables (SELECT only on TypeORM's `migrations` table and on
 * `readOnlyTables`), USAGE/SELECT on its sequences, and the same by default for whatever later
 * migrations of this owner create. The role is created NOLOGIN when missing and the migrating
 * role may create roles; when it is missing and cannot be created, nothing is granted (the
 * deployment then has no role split). A runtime role that bypasses row-level security (superuser
 * or BYPASSRLS) is refused: it would make every policy moot.
 * Returns whether grants were made.
 */
export async function grantRuntimeRole(q: QueryRunner, schema: string, grants: RuntimeGrants): Promise<boolean> {
  const role = grants.role;
  if (!ROLE_NAME.test(role)) throw new Error(`invalid runtime role name "${role}"`);
  let [found] = (await q.query(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, [role])) as Array<{
    rolsuper: boolean;
    rolbypassrls: boolean;
  }>;
  if (!found) {
    const [me] = (await q.query(`SELECT rolsuper OR rolcreaterole AS can FROM pg_roles WHERE rolname = current_user`)) as Array<{ can: boolean }>;
    if (!me?.can) return false;
    try {
      await q.query(`CREATE ROLE "${role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT`);
    } catch (err) {
      if (!ROLE_RACE.has((err as { code?: string }).code ?? '')) throw err;
    }
    found = { rolsuper: false, rolbypassrls: false };
  }
  if (found.rolsuper || found.rolbypassrls) {
    throw new Error(`the runtime role "${role}" is a superuser or has BYPASSRLS: row-level security would not apply to it`);
  }
  const s = `"${schema}"`;
  const r = `"${role}"`;
  await q.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
  await q.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
  await q.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
  await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`);
  await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${r}`);
  // The migration history is the owner's: the runtime role reads it (service status) only.
  for (const table of ['migrations', ...(grants.readOnlyTables ?? [])]) {
    if (!ROLE_NAME.test(table)) throw new Error(`invalid table name "${table}"`);
    await q.query(`REVOKE INSERT, UPDATE, DELETE ON ${s}."${table}" FROM ${r}`);
  }
  return true;
}

const ensured = new Map<string, Promise<string>>();

/**
 * For tests and the in-process platform: the URL of `dbUrl`'s database as the runtime role,
 * which is created (or updated) from `adminUrl` as a LOGIN role that bypasses nothing. Its
 * password is derived from the admin URL, so every jest worker of one run computes the same one
 * and concurrent callers never lock each other out; an advisory lock in the admin database
 * serializes the cluster-wide role changes. Idempotent; once per process and admin URL.
 */
export function runtimeRoleUrl(adminUrl: string | undefined, dbUrl: string, role = runtimeRoleName()): Promise<string> {
  if (!adminUrl) return Promise.reject(new Error('an admin DATABASE_URL is required to set up the runtime role'));
  if (!ROLE_NAME.test(role)) return Promise.reject(new Error(`invalid runtime role name "${role}"`));
  const password = createHash('sha256').update(`datalinx-runtime-role\0${role}\0${adminUrl}`).digest('hex').slice(0, 32);
  const key = `${role}\0${adminUrl}`;
  let done = ensured.get(key);
  if (!done) {
    done = ensureLoginRole(adminUrl, role, password).then(() => password);
    done.catch(() => ensured.delete(key));
    ensured.set(key, done);
  }
  return done.then((pw) => {
    const url = new URL(dbUrl);
    url.username = role;
    url.password = pw;
    return url.toString();
  });
}

async function ensureLoginRole(adminUrl: string, role: string, password: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('dlx-runtime-role'))`);
    const attrs = `LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${c.escapeLiteral(password)}`;
    const { rowCount } = await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
    if (!rowCount) {
      await c.query('SAVEPOINT create_role');
      try {
        await c.query(`CREATE ROLE "${role}" ${attrs}`);
      } catch (err) {
        if (!ROLE_RACE.has((err as { code?: string }).code ?? '')) throw err;
        await c.query('ROLLBACK TO SAVEPOINT create_role');
        await c.query(`ALTER ROLE "${role}" ${attrs}`);
      }
    } else {
      await c.query(`ALTER ROLE "${role}" ${attrs}`);
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await c.end();
  }
}
