import 'reflect-metadata';
import { createLogger } from '@datalinx/common';
import { DataSource, type EntityManager, type MixedList, type EntitySchema } from 'typeorm';
import { grantRuntimeRole, runtimeRoleName } from './runtime-role';

export interface DataSourceConfig {
  url: string;
  /** The service's own PostgreSQL schema (one per service). */
  schema: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations?: MixedList<Function | string>;
  poolMax?: number;
  statementTimeoutMs?: number;
  applicationName?: string;
}

/**
 * One factory for every service's TypeORM DataSource. `synchronize` is off for good: the schema
 * only changes through reviewed migrations. The migrations table lives in the service's schema.
 */
export function createDataSource(cfg: DataSourceConfig): DataSource {
  return new DataSource({
    type: 'postgres',
    url: cfg.url,
    schema: cfg.schema,
    entities: cfg.entities,
    migrations: cfg.migrations ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName: cfg.applicationName ?? `datalinx-${cfg.schema}`,
    extra: {
      max: cfg.poolMax ?? 10,
      statement_timeout: cfg.statementTimeoutMs ?? 15000,
      idleTimeoutMillis: 30000,
    },
  });
}

export interface MigrationOptions {
  /** The role services connect as (default: DATABASE_RUNTIME_ROLE, else `datalinx_app`). */
  runtimeRole?: string;
  /** Tables of this schema the runtime role may only read (global catalogues). */
  readOnlyTables?: readonly string[];
}

/**
 * Runs pending migrations for one service, as the schema's owner. The schema is created first
 * (TypeORM keeps its migrations table inside it). Concurrent runners (two instances booting at
 * once) serialize on an advisory lock keyed by the schema name, so a migration never runs twice.
 * Then the runtime role gets its grants on the schema (`grantRuntimeRole`): done here, for every
 * service alike, so no migration has to name a role whose name depends on the deployment.
 */
export async function runMigrations(ds: DataSource, opts: MigrationOptions = {}): Promise<string[]> {
  const initialized = ds.isInitialized;
  if (!initialized) await ds.initialize();
  const schema = (ds.options as { schema?: string }).schema ?? 'public';
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`dlx-migrate:${schema}`]);
    try {
      await runner.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      const applied = await ds.runMigrations({ transaction: 'each' });
      await grantRuntimeRole(runner, schema, { role: opts.runtimeRole ?? runtimeRoleName(), readOnlyTables: opts.readOnlyTables });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`dlx-migrate:${schema}`]);
    }
  } finally {
    await runner.release();
    if (!initialized) await ds.destroy();
  }
}

/**
 * The URL migrations run with: DATABASE_MIGRATION_URL (the owner of the schemas), else
 * DATABASE_URL (deployments without a role split).
 */
export function migrationUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.DATABASE_MIGRATION_URL || env.DATABASE_URL || undefined;
}

export interface AppliedMigration {
  name: string;
  /** When the migration was written (TypeORM's class timestamp), ISO 8601. */
  version: string;
}

/** Lists the migrations applied in the service's schema, oldest first. */
export async function listAppliedMigrations(ds: DataSource): Promise<AppliedMigration[]> {
  const schema = (ds.options as { schema?: string }).schema ?? 'public';
  const rows: Array<{ name: string; timestamp: string }> = await ds.query(`SELECT name, "timestamp" FROM "${schema}".migrations ORDER BY id`);
  return rows.map((r) => ({ name: r.name, version: new Date(Number(r.timestamp)).toISOString() }));
}

/**
 * Runs `fn` in a transaction scoped to one tenant: `app.current_org_id` is set with SET LOCAL
 * semantics (set_config(..., true)), which row-level security policies read. The setting ends
 * with the transaction, so a pooled connection never carries one tenant into the next request.
 */
export async function withTenant<T>(ds: DataSource, orgId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  if (!orgId) throw new Error('withTenant needs an organization id');
  return ds.transaction(async (em) => {
    await em.query(`SELECT set_config('app.current_org_id', $1, true)`, [orgId]);
    return fn(em);
  });
}

/**
 * For DAOs that serve both plain calls and a caller's transaction: on a DataSource (or a
 * manager outside any transaction, like `ds.manager`) `fn` runs in a new `withTenant`
 * transaction; on the EntityManager of a running transaction it runs right there — that
 * transaction must have been opened by `withTenant` for the same org (otherwise row-level
 * security shows it nothing and refuses its writes).
 */
export function inTenant<T>(db: DataSource | EntityManager, orgId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  if (db instanceof DataSource) return withTenant(db, orgId, fn);
  if (db.queryRunner?.isTransactionActive) return fn(db);
  return withTenant(db.connection, orgId, fn);
}

/**
 * The entry point of every service's `dist/migrate.js`: applies the migrations, logs what it did,
 * and exits non-zero on failure (the runners and the compose `migrate` service stop on it).
 */
export function runMigrationsCli(service: string, migrate: () => Promise<string[]>): void {
  const log = createLogger(`${service}-migrate`);
  migrate()
    .then((applied) => log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date'))
    .catch((err) => {
      log.error({ err: (err as Error).message }, 'migration failed');
      process.exit(1);
    });
}
