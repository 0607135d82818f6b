// `npm test [-- <jest args>]`: the same set-up as `npm start` (dependencies, Python venv,
// nats-server, chromium, build), then jest against a throwaway environment: PostgreSQL in a
// temp dir on a free port (unless DATABASE_URL is set), a throwaway nats-server (unless
// NATS_URL is set) and a fresh keypair. Exits with jest's exit code; PostgreSQL, NATS and the
// temp dir are always removed. Platform processes are not started: tests start what they need.
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
import { ensureNodeModules, loadPythonHelpers, pythonLogAdapter } from './lib/install.mjs';
import { buildAll } from './lib/build.mjs';
import { ensureDatabase, locatePgBinaries, startPostgres } from './lib/postgres.mjs';
import { NATS_TOOL, startNats } from './lib/nats.mjs';
import { ensureLocalCertificates, internalTlsEnabled } from './lib/tls.mjs';
import { generateAssertionKeys, generateMasterKey } from './lib/keys.mjs';
import { checkNodeVersion, maskUrl, truthy } from './lib/config.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = createLog('datalinx test');

/** jest options that take a value as the next argument (so that value is not a path pattern). */
const VALUE_FLAGS = new Set([
  '-c', '--config', '-t', '--testNamePattern', '-w', '--maxWorkers', '--selectProjects', '--ignoreProjects',
  '--shard', '--reporters', '--testTimeout', '--outputFile', '--coverageDirectory', '--rootDir', '--roots',
  '--testPathIgnorePatterns', '--testPathPatterns', '--testPathPattern', '--testMatch', '--testRegex', '--seed',
  '--maxConcurrency', '--changedSince', '--testEnvironment', '--testSequencer', '--testRunner', '--collectCoverageFrom',
  '--coverageProvider', '--coverageReporters', '--setupFiles', '--setupFilesAfterEach', '--workerIdleMemoryLimit',
  '--globalSetup', '--globalTeardown', '--moduleNameMapper', '--modulePaths', '--notifyMode', '--cacheDirectory',
]);

/**
 * Test files by what they need: `web` — everything under web/ (they run the built app with
 * `next start`); `browser` — tests that drive chromium (they mention playwright or
 * CHROMIUM_PATH), wherever they live.
 * @returns {{ web: string[], browser: string[] }}
 */
function specialTestFiles() {
  /** @type {{ web: string[], browser: string[] }} */
  const found = { web: [], browser: [] };
  const skip = new Set(['node_modules', '.git', '.next', 'dist', '.venv', '.datalinx', 'coverage']);
  /** @param {string} dir */
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(full);
      } else if (/\.(test|spec)\.[cm]?[jt]sx?$/.test(e.name)) {
        if (path.relative(repoRoot, full).startsWith(`web${path.sep}`)) found.web.push(full);
        if (/playwright|CHROMIUM_PATH/.test(fs.readFileSync(full, 'utf8'))) found.browser.push(full);
      }
    }
  };
  walk(repoRoot);
  return found;
}

/**
 * Which of those this jest invocation selects. With no path pattern jest runs everything.
 * DLX_WEB_TESTS=always|never overrides both answers.
 * @param {string[]} args
 * @returns {{ web: boolean, browser: boolean }}
 */
function selectedSpecialTests(args) {
  const override = (process.env.DLX_WEB_TESTS || '').toLowerCase();
  if (override === 'always') return { web: true, browser: true };
  if (override === 'never') return { web: false, browser: false };
  /** @type {string[]} */
  const patterns = [];
  /** @type {string[]} */
  const projects = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let value;
    if (arg.startsWith('--') && arg.includes('=')) [arg, value] = [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)];
    else if (VALUE_FLAGS.has(arg)) value = args[++i];
    if (arg === '--testPathPatterns' || arg === '--testPathPattern') patterns.push(value ?? '');
    else if (arg === '--selectProjects') projects.push(value ?? '');
    else if (!arg.startsWith('-')) patterns.push(arg);
  }
  if (projects.length > 0 && !projects.some((p) => /web|browser|e2e/i.test(p))) return { web: false, browser: false };
  if (patterns.length === 0) return { web: true, browser: true };
  const files = specialTestFiles();
  /** @param {string[]} list */
  const anySelected = (list) =>
    patterns.some((p) => {
      let re;
      try {
        re = new RegExp(p, 'i');
      } catch {
        return list.some((f) => f.toLowerCase().includes(p.toLowerCase()));
      }
      return list.some((f) => re.test(f));
    });
  return { web: anySelected(files.web), browser: anySelected(files.browser) };
}

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
    const selected = selectedSpecialTests(jestArgs);
    const tools = [];
    if (!env.NATS_URL) tools.push(NATS_TOOL);
    const chromiumPath = env.CHROMIUM_PATH || '/usr/bin/chromium';
    if (selected.browser && !fs.existsSync(chromiumPath)) {
      if (env.CHROMIUM_PATH) throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist`);
      tools.push({
        name: 'chromium',
        bin: 'chromium',
        debianPackage: 'chromium',
        why: 'headless browser for the web tests; or point CHROMIUM_PATH at one, or run only other tests',
        otherwise: 'elsewhere: install Chromium/Chrome and set CHROMIUM_PATH to its executable',
      });
    }
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
    // The web app is built for CI and whenever the selected tests include the browser tests
    // (they run against `next start`); otherwise it stays out of the unit-test loop.
    const buildWeb = truthy(env.CI) || selected.web;
    if (truthy(env.DLX_SKIP_BUILD)) log.warn('DLX_SKIP_BUILD is set: testing the existing builds');
    else await buildAll({ repoRoot, log, sup, web: buildWeb ? 'if-changed' : 'never' });

    // ── throwaway PostgreSQL + NATS ────────────────────────────────────────────
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
    const [databaseUrl, natsUrl] = await Promise.all([
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
    ]);
    // The default warehouse database (WAREHOUSE_ADMIN_URL's default). Tests that provision
    // warehouses create throwaway ones; WAREHOUSE_ADMIN_URL is deliberately not passed to jest.
    await ensureDatabase(repoRoot, databaseUrl, 'datalinx_warehouse');
    log.info(`PostgreSQL ${maskUrl(databaseUrl)}${env.DATABASE_URL ? ' (DATABASE_URL)' : ' (throwaway)'}, NATS ${maskUrl(natsUrl)}${env.NATS_URL ? ' (NATS_URL)' : ' (throwaway)'}`);

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
        DLX_VENV_DIR: venvDir,
        DLX_DATA_DIR: path.join(tmp, 'data'),
        DLX_ASSERTION_PUBLIC_KEY: keys.publicKeyPem,
        DLX_ASSERTION_PRIVATE_KEY: keys.privateKeyPem,
        DLX_MASTER_KEY: env.DLX_MASTER_KEY || generateMasterKey(),
        CHROMIUM_PATH: chromiumPath,
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
