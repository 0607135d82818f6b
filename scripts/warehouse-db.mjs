// `node scripts/warehouse-db.mjs`: creates the warehouse database (ARCHITECTURE.md §7: customer
// data apart from the system database) when it is missing, on a PostgreSQL the deployment runs
// itself (docker-compose.yml's migrate service). `npm start` / `npm test` do the same for the
// PostgreSQL they provide.
//
//   WAREHOUSE_ADMIN_URL  the warehouse database's admin URL; its database is the one created,
//                        through the same server's `postgres` database
//
// Plain Node ESM with node built-ins only at the top level (pg is loaded from node_modules).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from './lib/postgres.mjs';
import { maskUrl } from './lib/config.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const url = process.env.WAREHOUSE_ADMIN_URL;
if (!url) {
  process.stderr.write('warehouse-db: WAREHOUSE_ADMIN_URL is required\n');
  process.exit(1);
}
try {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('WAREHOUSE_ADMIN_URL names no database');
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const created = await ensureDatabase(repoRoot, maintenance.toString(), name);
  process.stdout.write(`warehouse-db: database "${name}" ${created ? 'created' : 'exists'} on ${maskUrl(url)}\n`);
} catch (err) {
  process.stderr.write(`warehouse-db: ${/** @type {Error} */ (err).message}\n`);
  process.exit(1);
}
