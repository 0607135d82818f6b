import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { storedFilePath } from '@datalinx/contracts';

/** The MariaDB/MySQL server the MYSQL cases use: local, root without a password. */
export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

/**
 * Whether MariaDB/MySQL answers at MYSQL, probed in a child process so it can be decided
 * synchronously, before the suite is declared: a machine without MariaDB then lists the MySQL
 * cases as skipped (`(mysqlUp ? it : it.skip)`) instead of passing them vacuously. When it does
 * not answer, says so on stderr, naming what is skipped (`skipping`).
 */
export function mysqlReachable(skipping: string): boolean {
  const probe = spawnSync(
    process.execPath,
    ['-e', `require('mysql2/promise').createConnection(${JSON.stringify({ ...MYSQL, connectTimeout: 2000 })}).then((c) => c.end().then(() => process.exit(0)), () => process.exit(1))`],
    { cwd: path.resolve(__dirname, '..', '..'), timeout: 10000 },
  );
  if (probe.status !== 0) process.stderr.write(`MariaDB/MySQL is not reachable at ${MYSQL.host}:${MYSQL.port} as root without a password: skipping ${skipping}.\n`);
  return probe.status === 0;
}

/** The POSTGRES connection config of a database on the test server (DATABASE_URL's host, port and user), TLS off. */
export function postgresSource(database: string) {
  const pgUrl = new URL(process.env.DATABASE_URL!);
  return { type: 'POSTGRES', host: pgUrl.hostname, port: Number(pgUrl.port || 5432), database, user: decodeURIComponent(pgUrl.username) || 'postgres', sslMode: 'disable' };
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

/** The MYSQL connection config of a database on the MYSQL server, as root, TLS off. */
export function mysqlSource(database: string) {
  return { type: 'MYSQL', host: MYSQL.host, port: MYSQL.port, database, user: MYSQL.user, ssl: false };
}
