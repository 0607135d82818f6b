import { migrationUrl, runMigrations, runMigrationsCli } from '@datalinx/db';
import { authDataSource } from './data-source';

/** Applies pending migrations as the schema owner (DATABASE_MIGRATION_URL, else DATABASE_URL). */
export async function migrate(databaseUrl = migrationUrl()): Promise<string[]> {
  if (!databaseUrl) throw new Error('DATABASE_URL is required to run migrations');
  return runMigrations(authDataSource(databaseUrl, 2));
}

if (require.main === module) runMigrationsCli('auth', () => migrate());
