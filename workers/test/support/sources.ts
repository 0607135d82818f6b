import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { storedFilePath } from '@datalinx/contracts';

/**
 * The MariaDB/MySQL server of the MYSQL cases: MYSQL_URL (mysql://user:password@host:port), a
 * user that may create databases and users. `npm test` always sets it: to MYSQL_URL when given,
 * otherwise to a throwaway MariaDB it starts (scripts/lib/mariadb.mjs).
 */
export const MYSQL = mysqlFromUrl(process.env.MYSQL_URL);

function mysqlFromUrl(raw: string | undefined): { host: string; port: number; user: string; password: string } {
  if (!raw) return { host: '127.0.0.1', port: 3306, user: 'root', password: '' }; // unused: the MySQL cases are skipped
  const u = new URL(raw);
  if (u.protocol !== 'mysql:') throw new Error(`MYSQL_URL must be mysql://user:password@host:port (got ${u.protocol}//…)`);
  return { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username) || 'root', password: decodeURIComponent(u.password) };
}

/**
 * Whether the MySQL cases run: when MYSQL_URL is set (an unreachable server then fails them,
 * it never skips them). Decided before the suite is declared, so jest run directly without
 * MYSQL_URL lists them as skipped (`(mysqlUp ? it : it.skip)`) instead of passing them
 * vacuously, and says so on stderr, naming what is skipped (`skipping`).
 */
export function mysqlReachable(skipping: string): boolean {
  if (process.env.MYSQL_URL) return true;
  process.stderr.write(`MYSQL_URL is not set (npm test starts a throwaway MariaDB and sets it): skipping ${skipping}.\n`);
  return false;
}

/**
 * The POSTGRES connection config of a database on the test server (DATABASE_URL's host, port and
 * user), TLS preferred: the PostgreSQL `npm test` starts accepts TLS connections only.
 */
export function postgresSource(database: string) {
  const pgUrl = new URL(process.env.DATABASE_URL!);
  return {
    type: 'POSTGRES',
    host: pgUrl.hostname,
    port: Number(pgUrl.port || 5432),
    database,
    user: decodeURIComponent(pgUrl.username) || 'postgres',
    sslMode: 'prefer',
  };
}

/** The secrets of a postgresSource: DATABASE_URL's password, or null when it has none (trust auth). */
export function postgresSourceSecrets(): { password: string } | null {
  const pgUrl = new URL(process.env.DATABASE_URL!);
  return pgUrl.password ? { password: decodeURIComponent(pgUrl.password) } : null;
}

/**
 * Puts `content` into file storage (DLX_FILE_STORAGE_DIR `storage`) under a new fileId, where the
 * workspace service puts an upload; returns the fileId and the size, as a FILE connection records them.
 */
export function storeFile(storage: string, workspaceId: string, content: Buffer | string): { fileId: string; sizeBytes: number } {
  const fileId = randomUUID();
  const file = storedFilePath(storage, workspaceId, fileId);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return { fileId, sizeBytes: Buffer.byteLength(content) };
}

/** storeFile, returned as the FILE connection config of the upload. */
export function fileSource(storage: string, workspaceId: string, fileName: string, format: 'CSV' | 'JSON' | 'JSONL', text: string) {
  const { fileId, sizeBytes } = storeFile(storage, workspaceId, text);
  return { type: 'FILE', fileId, fileName, format, sizeBytes };
}

/** The MYSQL connection config of a database on the MYSQL server, as MYSQL's user, TLS off. */
export function mysqlSource(database: string) {
  return { type: 'MYSQL' as const, host: MYSQL.host, port: MYSQL.port, database, user: MYSQL.user, ssl: false };
}

/** The secrets of a mysqlSource: MYSQL's password, or null when it has none. */
export function mysqlSourceSecrets(): { password: string } | null {
  return MYSQL.password ? { password: MYSQL.password } : null;
}
