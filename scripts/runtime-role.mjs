// `node scripts/runtime-role.mjs`: creates (or updates) the runtime login role services connect
// as — NOSUPERUSER NOBYPASSRLS, owning nothing — on a PostgreSQL the deployment runs itself
// (docker-compose.yml's migrate service runs it before the migrations, which then grant the role
// its DML). `npm start` does the same for the embedded PostgreSQL (lib/postgres.mjs).
//
//   DATABASE_MIGRATION_URL  a role that may create roles (the schemas' owner); else DATABASE_URL
//   DATABASE_RUNTIME_ROLE   default datalinx_app
//   DATABASE_RUNTIME_PASSWORD  required
//
// Plain Node ESM with node built-ins only at the top level (pg is loaded from node_modules).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLoginRole } from './lib/postgres.mjs';
import { maskUrl } from './lib/config.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const adminUrl = env.DATABASE_MIGRATION_URL || env.DATABASE_URL;
const role = env.DATABASE_RUNTIME_ROLE || 'datalinx_app';
const password = env.DATABASE_RUNTIME_PASSWORD;
const problems = [];
if (!adminUrl) problems.push('DATABASE_MIGRATION_URL (or DATABASE_URL) is required: a role that may create roles');
if (!password) problems.push('DATABASE_RUNTIME_PASSWORD is required');
if (problems.length > 0) {
  process.stderr.write(`runtime-role: ${problems.join('; ')}\n`);
  process.exit(1);
}
try {
  await ensureLoginRole(repoRoot, /** @type {string} */ (adminUrl), role, /** @type {string} */ (password), /** @type {string} */ (adminUrl));
  process.stdout.write(`runtime-role: "${role}" can log in on ${maskUrl(/** @type {string} */ (adminUrl))}\n`);
} catch (err) {
  process.stderr.write(`runtime-role: ${/** @type {Error} */ (err).message}\n`);
  process.exit(1);
}
