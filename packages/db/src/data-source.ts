import 'reflect-metadata';
import { DataSource, type EntityManager, type MixedList, type EntitySchema } from 'typeorm';

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

/**
 * Runs pending migrations for one service. The schema is created first (TypeORM keeps its
 * migrations table inside it). Concurrent runners (two instances booting at once) serialize on
 * an advisory lock keyed by the schema name, so a migration never runs twice.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
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
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`dlx-migrate:${schema}`]);
    }
  } finally {
    await runner.release();
    if (!initialized) await ds.destroy();
  }
}

export interface AppliedMigration {
  name: string;
  /** When the migration was written (TypeORM's class timestamp), ISO 8601. */
  version: string;
}

/** Lists the migrations applied in the service's schema, oldest first. */
export async function listAppliedMigrations(ds: DataSource): Promise<AppliedMigration[]> {
  const schema = (ds.options as { schema?: string }).schema ?? 'public';
  const rows: Array<{ name: string; timestamp: string }> = await ds.query(
    `SELECT name, "timestamp" FROM "${schema}".migrations ORDER BY id`,
  );
  return rows.map((r) => ({ name: r.name, version: new Date(Number(r.timestamp)).toISOString() }));
}

/**
 * Runs `fn` in a transaction scoped to one tenant: `app.current_org_id` is set with SET LOCAL
 * semantics (set_config(..., true)), which row-level security policies read.
 */
export async function withTenant<T>(ds: DataSource, orgId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return ds.transaction(async (em) => {
    await em.query(`SELECT set_config('app.current_org_id', $1, true)`, [orgId]);
    return fn(em);
  });
}
