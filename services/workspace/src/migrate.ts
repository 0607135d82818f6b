import { migrationUrl, runMigrations, runMigrationsCli } from '@datalinx/db';
import { workspaceDataSource } from './data-source';

/**
 * Applies pending migrations as the schema owner, then grants the runtime role (DATABASE_RUNTIME_ROLE)
 * its DML; `node dist/migrate.js` runs it with DATABASE_MIGRATION_URL, else DATABASE_URL.
 */
export async function migrate(databaseUrl = migrationUrl()): Promise<string[]> {
  if (!databaseUrl) throw new Error('DATABASE_MIGRATION_URL or DATABASE_URL is required to run migrations');
  return runMigrations(workspaceDataSource(databaseUrl, 2));
}

if (require.main === module) runMigrationsCli('workspace', () => migrate());
