import { migrationUrl, runMigrations } from '@datalinx/db';
import { createLogger } from '@datalinx/common';
import { authDataSource } from './data-source';

/** Applies pending migrations as the schema owner (DATABASE_MIGRATION_URL, else DATABASE_URL). */
export async function migrate(databaseUrl = migrationUrl()): Promise<string[]> {
  if (!databaseUrl) throw new Error('DATABASE_URL is required to run migrations');
  return runMigrations(authDataSource(databaseUrl, 2));
}

if (require.main === module) {
  const log = createLogger('auth-migrate');
  migrate()
    .then((applied) => log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date'))
    .catch((err) => {
      log.error({ err: (err as Error).message }, 'migration failed');
      process.exit(1);
    });
}
