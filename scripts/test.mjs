// `npm test [-- <jest args>]`: the same set-up as `npm start` (dependencies, Python venv,
// nats-server, build), then jest against a throwaway environment: PostgreSQL in a temp dir on a
// free port (unless DATABASE_URL is set), a throwaway nats-server (unless NATS_URL is set), a
// throwaway MariaDB (unless MYSQL_URL is set) and a fresh keypair. Exits with jest's exit code;
// PostgreSQL, NATS, MariaDB and the temp dir are always removed. Platform processes are not
// started: tests start what they need.
//
// The jest arguments are passed through untouched. What only some tests need (chromium, the
// `next build` of web/) is the globalSetup of their jest project (jest.config.js), which jest
// runs only when the run includes a test of that project.
//
// jest gets DATABASE_URL as an ADMIN url: tests create throwaway databases from it and migrate
// them as the admin (owner), then connect services as the runtime role through
// `runtimeRoleUrl` (@datalinx/db), which creates that LOGIN role from the admin URL on first use
// (cluster-wide, idempotent, with a password derived from the admin URL so parallel jest workers
// agree). So the same happens on the throwaway PostgreSQL and on a DATABASE_URL you supply.
//
// Plain Node ESM with node built-ins only: this runs before `npm install`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createLog } from './lib/log.mjs';
import { Supervisor, ShutdownInProgress } from './lib/supervisor.mjs';
import { getFreePort } from './lib/net.mjs';
import { ensureSystemTools } from './lib/system.mjs';
import { MARIADB_TOOLS, startThrowawayMariadb } from './lib/mariadb.mjs';
import { ensureNodeModules, loadPythonHelpers, pythonLogAdapter } from './lib/install.mjs';
import { buildAll } from './lib/build.mjs';
import { ensureDatabase, locatePgBinaries, startPostgres } from './lib/postgres.mjs';
import { NATS_TOOL, startNats } from './lib/nats.mjs';
import { ensureLocalCertificates, internalTlsEnabled } from './lib/tls.mjs';
import { generateAssertionKeys, generateMasterKey } from './lib/keys.mjs';
import { checkNodeVersion, maskUrl, truthy } from './lib/config.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = createLog('datalinx test');

/** Extra jest args; `--watch` needs the terminal, so jest then runs in the foreground. */
const jestArgs = process.argv.slice(2);
const interactive = jestArgs.some((a) => a === '--watch' || a === '--watchAll');

async function main() {
  try {
    checkNodeVersion();
  } catch (err) {
    log.error(/** @type {Error} */ (err).message);
    process.exit(1);
  }
  const sup = new Supervisor({ log, graceMs: 10_000, exitCodeOnSignal: () => 130 });
  sup.installSignalHandlers();
  const env = process.env;
  try {
    // ── install what is missing ────────────────────────────────────────────────
    await ensureNodeModules({ repoRoot, log, sup, skip: truthy(env.DLX_SKIP_INSTALL) });
    if (!env.DATABASE_URL) locatePgBinaries(repoRoot);
    const tools = [];
    if (!env.NATS_URL) tools.push(NATS_TOOL);
    if (!env.MYSQL_URL) tools.push(...MARIADB_TOOLS);
    const found = await ensureSystemTools(tools, log);
    const python = await loadPythonHelpers(repoRoot);
    const venvDir = path.resolve(env.DLX_VENV_DIR || path.join(repoRoot, '.venv'));
    if (python) {
      log.step(`Python venv for dbt + Dagster (${venvDir})`);
      await python.ensurePythonVenv({ repoRoot, venvDir, log: pythonLogAdapter(log) });
    } else {
      log.warn('scripts/lib/python.mjs is not in this checkout: no Python venv; tests that need dbt/Dagster will fail');
    }

    // ── build ──────────────────────────────────────────────────────────────────
    // The web app (`next build`) is built by the globalSetup of the jest project whose tests
    // run it (jest.config.js), only when the run includes one of them.
    if (truthy(env.DLX_SKIP_BUILD)) log.warn('DLX_SKIP_BUILD is set: testing the existing builds');
    else await buildAll({ repoRoot, log, sup, web: 'never' });

    // ── throwaway PostgreSQL + NATS + MariaDB ──────────────────────────────────
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'datalinx-test-'));
    fs.chmodSync(tmp, 0o711); // PostgreSQL runs as the "postgres" user when we are root
    sup.addFinalizer(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // ── internal TLS: a throwaway CA and localhost certificate (DLX_INTERNAL_TLS=off: none) ──
    // PostgreSQL and NATS started here require TLS; jest gets TLS_* so the servers the tests create
    // speak TLS, and NODE_EXTRA_CA_CERTS so node's clients (fetch, https) trust that CA.
    const tlsFiles = internalTlsEnabled(env) ? ensureLocalCertificates({ dir: path.join(tmp, 'tls') }) : null;
    const tlsEnv = tlsFiles
      ? { TLS_CA_FILE: tlsFiles.caFile, TLS_CERT_FILE: tlsFiles.certFile, TLS_KEY_FILE: tlsFiles.keyFile, NODE_EXTRA_CA_CERTS: tlsFiles.caFile }
      : {};
    const [databaseUrl, natsUrl, mysqlUrl] = await Promise.all([
      (async () => {
        if (env.DATABASE_URL) return env.DATABASE_URL;
        const port = await getFreePort();
        const pg = await startPostgres({
          repoRoot,
          dataDir: path.join(tmp, 'pg'),
          port,
          password: crypto.randomBytes(18).toString('hex'),
          logFile: path.join(tmp, 'logs', 'postgres.log'),
          log,
          sup,
          throwaway: true,
          ...(tlsFiles ? { tls: tlsFiles } : {}),
        });
        return pg.adminUrl;
      })(),
      (async () => {
        if (env.NATS_URL) return env.NATS_URL;
        const nats = await startNats({
          bin: found['nats-server'],
          port: await getFreePort(),
          storeDir: path.join(tmp, 'nats'),
          logFile: path.join(tmp, 'logs', 'nats-server.log'),
          sup,
          ...(tlsFiles ? { tls: tlsFiles } : {}),
        });
        return nats.url;
      })(),
      (async () => {
        if (env.MYSQL_URL) return env.MYSQL_URL;
        const mariadb = await startThrowawayMariadb({
          bin: found.mariadbd,
          dir: path.join(tmp, 'mariadb'),
          port: await getFreePort(),
          logFile: path.join(tmp, 'logs', 'mariadb.log'),
          log,
          sup,
        });
        return mariadb.url;
      })(),
    ]);
    // The default warehouse database (WAREHOUSE_ADMIN_URL's default). Tests that provision
    // warehouses create throwaway ones; WAREHOUSE_ADMIN_URL is deliberately not passed to jest.
    await ensureDatabase(repoRoot, databaseUrl, 'datalinx_warehouse');
    log.info(
      `PostgreSQL ${maskUrl(databaseUrl)}${env.DATABASE_URL ? ' (DATABASE_URL)' : ' (throwaway)'}, NATS ${maskUrl(natsUrl)}${env.NATS_URL ? ' (NATS_URL)' : ' (throwaway)'}, MariaDB ${maskUrl(mysqlUrl)}${env.MYSQL_URL ? ' (MYSQL_URL)' : ' (throwaway)'}`,
    );

    // ── jest ───────────────────────────────────────────────────────────────────
    const keys = generateAssertionKeys();
    /** @type {string} */
    let jestBin;
    try {
      jestBin = createRequire(path.join(repoRoot, 'package.json')).resolve('jest/bin/jest');
    } catch {
      throw new Error('jest is not installed (npm ci did not run?)');
    }
    log.step(`jest ${jestArgs.join(' ')}`.trim());
    const result = await sup.runTask({
      name: 'jest',
      cmd: process.execPath,
      args: [jestBin, ...jestArgs],
      cwd: repoRoot,
      foreground: interactive,
      check: false,
      env: {
        ...env,
        DATABASE_URL: databaseUrl,
        NATS_URL: natsUrl,
        MYSQL_URL: mysqlUrl,
        DLX_VENV_DIR: venvDir,
        DLX_DATA_DIR: path.join(tmp, 'data'),
        DLX_ASSERTION_PUBLIC_KEY: keys.publicKeyPem,
        DLX_ASSERTION_PRIVATE_KEY: keys.privateKeyPem,
        DLX_MASTER_KEY: env.DLX_MASTER_KEY || generateMasterKey(),
        DLX_TEST: '1',
        ...tlsEnv,
        NEXT_TELEMETRY_DISABLED: '1',
      },
    });
    const code = result.code ?? 1;
    log.info(`jest finished with exit code ${code}${result.signal ? ` (signal ${result.signal})` : ''}; cleaning up`);
    return sup.shutdown(code);
  } catch (err) {
    if (err instanceof ShutdownInProgress || sup.isStopping) return sup.shutdown(130);
    log.error(/** @type {Error} */ (err).message);
    return sup.shutdown(1);
  }
}

await main();
