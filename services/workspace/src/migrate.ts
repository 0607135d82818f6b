import { migrationUrl, runMigrations } from '@datalinx/db';
import { createLogger } from '@datalinx/common';
import { workspaceDataSource } from './data-source';

/**
 * Applies pending migrations as the schema owner, then grants the runtime role (DATABASE_RUNTIME_ROLE)
 * its DML; `node dist/migrate.js` runs it with DATABASE_MIGRATION_URL, else DATABASE_URL.
 */
export async function migrate(databaseUrl = migrationUrl()): Promise<string[]> {
  if (!databaseUrl) throw new Error('DATABASE_MIGRATION_URL or DATABASE_URL is required to run migrations');
  return runMigrations(workspaceDataSource(databaseUrl, 2));
}

if (require.main === module) {
  const log = createLogger('workspace-migrate');
  migrate()
    .then((applied) => log.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date'))
    .catch((err) => {
      log.error({ err: (err as Error).message }, 'migration failed');
      process.exit(1);
    });
}
