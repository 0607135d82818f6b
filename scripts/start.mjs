// `npm start`: install what is missing, start PostgreSQL + NATS (embedded unless DATABASE_URL /
// NATS_URL are set), build, migrate, run every Datalinx process under one supervisor, print the
// URLs. Ctrl-C stops everything in order. See scripts/README.md.
//
// Plain Node ESM with node built-ins only: this runs before `npm install`.
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { bold, createLog, paint, reserveNameWidth } from './lib/log.mjs';
import { Supervisor, ShutdownInProgress, acquireLock, cleanupOrphans } from './lib/supervisor.mjs';
import { assertPortsFree, waitForHttp } from './lib/net.mjs';
import { ensureSystemTools } from './lib/system.mjs';
import { ensureNodeModules, loadPythonHelpers, pythonLogAdapter } from './lib/install.mjs';
import { buildAll } from './lib/build.mjs';
import { ROLE_NAME, ensureDatabase, ensureLoginRole, locatePgBinaries, placePgDataDir, rlsBypassOf, startPostgres } from './lib/postgres.mjs';
import { NATS_TOOL, startNats } from './lib/nats.mjs';
import { OPENSSL_TOOL, internalTlsEnabled, resolveCertificates } from './lib/tls.mjs';
import { ensureAssertionKeys, ensureSecret, generateAssertionKeys, generateMasterKey, readSecret } from './lib/keys.mjs';
import { checkNodeVersion, readPort, maskUrl, truthy } from './lib/config.mjs';
import { workerNetworkEnv } from './lib/network-policy.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = createLog('datalinx');

/** The five subgraphs in start order, with their port variable and default port. */
const SUBGRAPHS = /** @type {const} */ ([
  ['auth', 'AUTH_PORT', 4001],
  ['workspace', 'WORKSPACE_PORT', 4002],
  ['schema', 'SCHEMA_PORT', 4003],
  ['mapping', 'MAPPING_PORT', 4004],
  ['monitoring', 'MONITORING_PORT', 4005],
]);

function readConfig() {
  const env = process.env;
  /** @type {string[]} */
  const problems = [];
  const dataDir = path.resolve(env.DLX_DATA_DIR || path.join(repoRoot, '.datalinx'));
  const cfg = {
    dataDir,
    venvDir: path.resolve(env.DLX_VENV_DIR || path.join(repoRoot, '.venv')),
    databaseUrl: env.DATABASE_URL || '',
    /** The schemas' owner, for migrations; DATABASE_URL when unset (no role split). */
    migrationUrl: env.DATABASE_MIGRATION_URL || '',
    /** The role services connect as on the embedded PostgreSQL. */
    runtimeRole: env.DATABASE_RUNTIME_ROLE || 'datalinx_app',
    natsUrl: env.NATS_URL || '',
    pgPort: readPort('DLX_PG_PORT', 54329, problems),
    natsPort: readPort('DLX_NATS_PORT', 42229, problems),
    gatewayPort: readPort('GATEWAY_PORT', 4000, problems),
    webPort: readPort('WEB_PORT', 3000, problems),
    dagsterPort: readPort('DAGSTER_PORT', 3070, problems),
    subgraphs: SUBGRAPHS.map(([name, envVar, dflt]) => ({ name, envVar, port: readPort(envVar, dflt, problems) })),
    logLevel: env.LOG_LEVEL || 'info',
    nodeEnv: env.NODE_ENV || 'production',
    graceMs: Number(env.DLX_SHUTDOWN_GRACE_MS || 10_000),
    skipInstall: truthy(env.DLX_SKIP_INSTALL),
    skipBuild: truthy(env.DLX_SKIP_BUILD),
    /** TLS between every process, PostgreSQL and NATS (DLX_INTERNAL_TLS=off: a mesh terminates TLS). */
    internalTls: true,
    /** Where the browser-facing servers (web app, gateway, explorer) listen; only loopback may stay plain HTTP. */
    bindAddress: (env.DLX_BIND_ADDRESS || '127.0.0.1').trim(),
  };
  try {
    cfg.internalTls = internalTlsEnabled(env);
  } catch (err) {
    problems.push(/** @type {Error} */ (err).message);
  }
  if (!isLoopbackAddress(cfg.bindAddress) && !cfg.internalTls) {
    problems.push(
      `DLX_BIND_ADDRESS=${cfg.bindAddress} is not loopback: the web app and the gateway are then served only over TLS, which needs DLX_INTERNAL_TLS on (or bind 127.0.0.1 behind your own TLS proxy)`,
    );
  }
  if (!Number.isFinite(cfg.graceMs) || cfg.graceMs < 0) problems.push('DLX_SHUTDOWN_GRACE_MS must be a number of milliseconds');
  if (!ROLE_NAME.test(cfg.runtimeRole)) problems.push(`DATABASE_RUNTIME_ROLE must be a lower-case SQL identifier (got "${cfg.runtimeRole}")`);
  if (cfg.migrationUrl && !cfg.databaseUrl)
    problems.push('DATABASE_MIGRATION_URL is set without DATABASE_URL: set both (external PostgreSQL) or neither (embedded)');
  if (problems.length > 0) throw new Error(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return cfg;
}

/**
 * Loopback alone: 127.0.0.0/8, ::1, localhost. Anything else (0.0.0.0, ::, a LAN address) reaches
 * other machines.
 * @param {string} address
 */
function isLoopbackAddress(address) {
  return address === 'localhost' || address === '::1' || /^127(\.\d{1,3}){3}$/.test(address);
}

/** @param {ReturnType<typeof readConfig>} cfg */
function portClaims(cfg, withDagster = true) {
  return [
    ...(cfg.databaseUrl ? [] : [{ port: cfg.pgPort, envVar: 'DLX_PG_PORT', what: 'embedded PostgreSQL' }]),
    ...(cfg.natsUrl ? [] : [{ port: cfg.natsPort, envVar: 'DLX_NATS_PORT', what: 'nats-server' }]),
    { port: cfg.gatewayPort, envVar: 'GATEWAY_PORT', what: 'gateway' },
    ...cfg.subgraphs.map((s) => ({ port: s.port, envVar: s.envVar, what: `${s.name} subgraph` })),
    { port: cfg.webPort, envVar: 'WEB_PORT', what: 'web app' },
    ...(withDagster ? [{ port: cfg.dagsterPort, envVar: 'DAGSTER_PORT', what: 'Dagster UI' }] : []),
  ];
}

/**
 * `next start` through next's own bin (one process less than npx; npx as a fallback) on `host`;
 * with `tls`, web/server.mjs instead (next's request handler on a node https server).
 * @param {number} port
 * @param {string} host
 * @param {boolean} tls
 */
function nextStart(port, host, tls) {
  if (tls) return { cmd: process.execPath, args: [path.join(repoRoot, 'web', 'server.mjs')] };
  try {
    const bin = createRequire(path.join(repoRoot, 'web', 'package.json')).resolve('next/dist/bin/next');
    return { cmd: process.execPath, args: [bin, 'start', '-p', String(port), '-H', host] };
  } catch {
    return { cmd: 'npx', args: ['next', 'start', '-p', String(port), '-H', host] };
  }
}

/**
 * The supervisor's own requests (readiness of the https servers) trust the platform CA: undici
 * (installed with the gateway) as node's fetch dispatcher.
 * @param {string} caFile
 */
function trustCaForOwnRequests(caFile) {
  const undici = createRequire(path.join(repoRoot, 'gateway', 'package.json'))('undici');
  undici.setGlobalDispatcher(new undici.Agent({ connect: { ca: fs.readFileSync(caFile, 'utf8'), minVersion: 'TLSv1.2' } }));
}

async function main() {
  /** @type {ReturnType<typeof readConfig>} */
  let cfg;
  try {
    checkNodeVersion();
    cfg = readConfig();
  } catch (err) {
    log.error(/** @type {Error} */ (err).message);
    process.exit(1);
  }
  let running = false;
  const runDir = path.join(cfg.dataDir, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const sup = new Supervisor({
    log,
    graceMs: cfg.graceMs,
    // A stop requested while everything runs is a normal end; during set-up it interrupts.
    exitCodeOnSignal: () => (running ? 0 : 130),
  });
  sup.installSignalHandlers();
  reserveNameWidth(['gateway', 'workers', 'web', 'dagster', 'dagster-daemon', ...cfg.subgraphs.map((s) => `migrate ${s.name}`)]);
  try {
    acquireLock(path.join(runDir, 'supervisor.lock'));
    // Only now is the state file ours: a previous run's leftovers are stopped first.
    await cleanupOrphans(path.join(runDir, 'processes.json'), log);
    sup.stateFile = path.join(runDir, 'processes.json');
    const python = await loadPythonHelpers(repoRoot);
    await assertPortsFree(portClaims(cfg, Boolean(python)));

    // ── install what is missing ────────────────────────────────────────────────
    await ensureNodeModules({ repoRoot, log, sup, skip: cfg.skipInstall });
    if (!cfg.databaseUrl) locatePgBinaries(repoRoot);
    /** @type {string | null} */
    let natsBin = null;
    if (!cfg.natsUrl) natsBin = (await ensureSystemTools([NATS_TOOL], log))['nats-server'];
    if (cfg.internalTls && !(process.env.TLS_CERT_FILE && process.env.TLS_KEY_FILE && process.env.TLS_CA_FILE)) await ensureSystemTools([OPENSSL_TOOL], log);
    if (python) {
      log.step(`Python venv for dbt + Dagster (${cfg.venvDir})`);
      await python.ensurePythonVenv({ repoRoot, venvDir: cfg.venvDir, log: pythonLogAdapter(log) });
    } else {
      log.warn('scripts/lib/python.mjs is not in this checkout: no Python venv (dbt, Dagster) and no Dagster UI');
    }

    // ── keys ───────────────────────────────────────────────────────────────────
    const keyDir = path.join(cfg.dataDir, 'keys');
    const keys = ensureAssertionKeys({ dir: keyDir, env: process.env });
    const masterKey = process.env.DLX_MASTER_KEY || ensureSecret(keyDir, 'master-key', generateMasterKey).value;
    // The auth service signs access tokens with its own Ed25519 key (published as JWKS); only auth gets it.
    const authSigningKey =
      process.env.DLX_AUTH_SIGNING_KEY || ensureSecret(keyDir, 'auth-signing-ed25519.key.pem', () => generateAssertionKeys().privateKeyPem).value;
    // The local CA and the localhost certificate every server presents (TLS_* set: the operator's own).
    const tlsFiles = cfg.internalTls ? resolveCertificates({ dir: path.join(cfg.dataDir, 'tls'), env: process.env }) : null;
    if (tlsFiles) trustCaForOwnRequests(tlsFiles.caFile);
    const scheme = tlsFiles ? 'https' : 'http';
    // Browser-facing servers bound beyond loopback are served over TLS only.
    const webTls = Boolean(tlsFiles) && !isLoopbackAddress(cfg.bindAddress);
    // The gateway is browser-facing (GraphQL, the explorer): like the web app it stays plain HTTP
    // while bound to loopback alone (a browser treats localhost as a secure context and would not
    // trust the local CA), and serves only TLS anywhere else. Its hops to the subgraphs are TLS either way.
    const gatewayScheme = webTls ? 'https' : 'http';
    const browserHost = isLoopbackAddress(cfg.bindAddress) ? 'localhost' : cfg.bindAddress.includes(':') ? `[${cfg.bindAddress}]` : cfg.bindAddress;

    // ── build ──────────────────────────────────────────────────────────────────
    if (cfg.skipBuild) log.warn('DLX_SKIP_BUILD is set: using the existing dist/ and web/.next builds');
    else await buildAll({ repoRoot, log, sup, web: 'if-changed' });

    // ── PostgreSQL + NATS ──────────────────────────────────────────────────────
    await assertPortsFree(portClaims(cfg, Boolean(python)));
    // Two URLs (ARCHITECTURE.md §3 step 7): services connect with `databaseUrl`, as a runtime
    // role that owns no table (row-level security binds it); migrations run with `ownerUrl`.
    let databaseUrl = cfg.databaseUrl;
    let ownerUrl = cfg.migrationUrl || cfg.databaseUrl;
    let pgLine = '';
    /** WAREHOUSE_ADMIN_URL for the workers (they provision each workspace's schema and role). */
    let warehouseUrl = process.env.WAREHOUSE_ADMIN_URL || '';
    /** DAGSTER_PG_URL: Dagster's runs and event logs (dagster-postgres) in their own database on the platform's PostgreSQL. */
    let dagsterPgUrl = process.env.DAGSTER_PG_URL || '';
    if (!databaseUrl) {
      // As root, somewhere the OS user postgres cannot enter (/root): the cluster is placed elsewhere.
      const pgDir = placePgDataDir(path.join(cfg.dataDir, 'pg'), log);
      const pwFile = path.join(keyDir, 'postgres-password');
      const clusterExists = fs.existsSync(path.join(pgDir, 'PG_VERSION'));
      const existingPw = readSecret(pwFile);
      if (clusterExists && !existingPw) {
        throw new Error(
          `${pgDir} holds a PostgreSQL cluster but its password file ${pwFile} is gone. Restore it, or remove ${pgDir} to start with an empty database.`,
        );
      }
      const password = existingPw ?? ensureSecret(keyDir, 'postgres-password', () => crypto.randomBytes(18).toString('hex')).value;
      log.step(`Starting embedded PostgreSQL on 127.0.0.1:${cfg.pgPort} (data: ${pgDir})`);
      const pg = await startPostgres({
        repoRoot,
        dataDir: pgDir,
        port: cfg.pgPort,
        portEnvVar: 'DLX_PG_PORT',
        password,
        logFile: path.join(cfg.dataDir, 'logs', 'postgres.log'),
        log,
        sup,
        ...(tlsFiles ? { tls: tlsFiles } : {}),
      });
      if (await ensureDatabase(repoRoot, pg.adminUrl, 'datalinx')) log.info('created database "datalinx"');
      ownerUrl = pg.url('datalinx');
      // The customer-data warehouse (ARCHITECTURE.md §7): its own database, apart from the system one.
      if (await ensureDatabase(repoRoot, pg.adminUrl, 'datalinx_warehouse')) log.info('created database "datalinx_warehouse"');
      warehouseUrl = pg.url('datalinx_warehouse');
      if (python && !dagsterPgUrl) {
        if (await ensureDatabase(repoRoot, pg.adminUrl, 'datalinx_dagster')) log.info('created database "datalinx_dagster"');
        dagsterPgUrl = pg.url('datalinx_dagster');
      }
      // The runtime role's password is set on every start, so the file is the only truth.
      const runtimePw = ensureSecret(keyDir, 'runtime-db-password', () => crypto.randomBytes(18).toString('hex'));
      databaseUrl = await ensureLoginRole(repoRoot, pg.adminUrl, cfg.runtimeRole, runtimePw.value, ownerUrl);
      pgLine = `${maskUrl(databaseUrl)}  ${paint(2, `(embedded; services connect as ${cfg.runtimeRole}, migrations as postgres; passwords in ${keyDir}; log ${pg.logFile})`)}`;
    } else {
      pgLine = `${maskUrl(databaseUrl)}  ${paint(2, cfg.migrationUrl ? '(from DATABASE_URL; migrations with DATABASE_MIGRATION_URL)' : '(from DATABASE_URL)')}`;
      if (!process.env.WAREHOUSE_ADMIN_URL) {
        // Default: database datalinx_warehouse on the same server, administered by the owner.
        const u = new URL(ownerUrl);
        u.pathname = '/datalinx_warehouse';
        warehouseUrl = u.toString();
        if (await ensureDatabase(repoRoot, ownerUrl, 'datalinx_warehouse')) log.info('created database "datalinx_warehouse"');
      }
      if (python && !dagsterPgUrl) {
        // Default: database datalinx_dagster on the same server, owned by the owner.
        const u = new URL(ownerUrl);
        u.pathname = '/datalinx_dagster';
        dagsterPgUrl = u.toString();
        if (await ensureDatabase(repoRoot, ownerUrl, 'datalinx_dagster')) log.info('created database "datalinx_dagster"');
      }
    }
    let natsUrl = cfg.natsUrl;
    let natsLine = '';
    if (!natsUrl) {
      const storeDir = path.join(cfg.dataDir, 'nats');
      log.step(`Starting nats-server with JetStream on 127.0.0.1:${cfg.natsPort} (store: ${storeDir})`);
      const nats = await startNats({
        bin: /** @type {string} */ (natsBin),
        port: cfg.natsPort,
        portEnvVar: 'DLX_NATS_PORT',
        storeDir,
        logFile: path.join(cfg.dataDir, 'logs', 'nats-server.log'),
        sup,
        ...(tlsFiles ? { tls: tlsFiles } : {}),
      });
      natsUrl = nats.url;
      natsLine = `${natsUrl}  ${paint(2, `(JetStream${tlsFiles ? '; TLS required, verified against the local CA' : ''}; log ${nats.logFile})`)}`;
    } else {
      natsLine = `${maskUrl(natsUrl)}  ${paint(2, '(from NATS_URL)')}`;
    }

    /** @type {NodeJS.ProcessEnv} */
    const common = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      LOG_LEVEL: cfg.logLevel,
      NODE_ENV: cfg.nodeEnv,
      DLX_DATA_DIR: cfg.dataDir,
      DLX_VENV_DIR: cfg.venvDir,
      DLX_ASSERTION_PUBLIC_KEY: keys.publicKeyPem,
      DLX_MASTER_KEY: masterKey,
      NEXT_TELEMETRY_DISABLED: '1',
      DLX_INTERNAL_TLS: tlsFiles ? 'on' : 'off',
      // Servers present this certificate; node clients (fetch, https, pg, NATS) verify against the CA.
      ...(tlsFiles
        ? { TLS_CERT_FILE: tlsFiles.certFile, TLS_KEY_FILE: tlsFiles.keyFile, TLS_CA_FILE: tlsFiles.caFile, NODE_EXTRA_CA_CERTS: tlsFiles.caFile }
        : {}),
    };
    if (!tlsFiles) for (const k of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CA_FILE']) delete common[k];
    delete common.DLX_ASSERTION_PRIVATE_KEY; // only the gateway signs
    delete common.DATABASE_MIGRATION_URL; // only migrations act as the owner
    delete common.DLX_AUTH_SIGNING_KEY; // only auth signs access tokens
    /** Migrations: as the owner (auth's migrate.js reads DATABASE_URL, the others DATABASE_MIGRATION_URL first). */
    const migrateEnv = { ...common, DATABASE_URL: ownerUrl, DATABASE_MIGRATION_URL: ownerUrl, DATABASE_RUNTIME_ROLE: cfg.runtimeRole };

    // ── migrations ─────────────────────────────────────────────────────────────
    log.step('Running migrations');
    for (const { name } of cfg.subgraphs) {
      const script = path.join(repoRoot, 'services', name, 'dist', 'migrate.js');
      if (!fs.existsSync(script)) throw new Error(`${path.relative(repoRoot, script)} is missing (did the build run? DLX_SKIP_BUILD?)`);
      await sup.runTask({ name: `migrate ${name}`, cmd: process.execPath, args: [script], cwd: repoRoot, env: migrateEnv, prefix: true });
    }

    if (cfg.databaseUrl) {
      const who = await rlsBypassOf(repoRoot, databaseUrl);
      if (who.bypasses) {
        log.warn(
          `DATABASE_URL logs in as "${who.role}", which bypasses row-level security: connect the services as a runtime role that owns nothing (DATABASE_URL) and run migrations as the owner (DATABASE_MIGRATION_URL)`,
        );
      }
    }

    // ── processes ──────────────────────────────────────────────────────────────
    /** @param {string} rel */
    const entry = (rel) => {
      const file = path.join(repoRoot, rel);
      if (!fs.existsSync(file)) throw new Error(`${rel} is missing (did the build run? DLX_SKIP_BUILD?)`);
      return file;
    };
    /** @param {import('./lib/supervisor.mjs').Managed} m */
    const diedReason = (m) => () => (m.exit ? `${m.name} exited (${m.exit.signal ?? `exit code ${m.exit.code}`})` : sup.isStopping ? 'shutting down' : null);

    log.step('Starting the subgraphs');
    const subgraphProcs = cfg.subgraphs.map((s) => ({
      s,
      m: sup.startChild({
        name: s.name,
        cmd: process.execPath,
        args: [entry(`services/${s.name}/dist/index.js`)],
        cwd: repoRoot,
        env: {
          ...common,
          [s.envVar]: String(s.port),
          ...(s.name === 'auth' ? { DLX_AUTH_SIGNING_KEY: authSigningKey } : {}),
          ...(s.name === 'workspace' && warehouseUrl ? { WAREHOUSE_ADMIN_URL: warehouseUrl } : {}),
        },
      }),
    }));
    await Promise.all(subgraphProcs.map(({ s, m }) => waitForHttp(`${scheme}://127.0.0.1:${s.port}/readyz`, { timeoutMs: 120_000, abort: diedReason(m) })));

    log.step('Starting the gateway');
    /** @type {NodeJS.ProcessEnv} */
    // Cookies reach browsers through the web app: over plain http://localhost some browsers (Safari) refuse `Secure` cookies even there.
    const gatewayEnv = {
      ...common,
      GATEWAY_PORT: String(cfg.gatewayPort),
      GATEWAY_BIND_ADDRESS: cfg.bindAddress,
      DLX_ASSERTION_PRIVATE_KEY: keys.privateKeyPem,
      GATEWAY_COOKIE_SECURE: webTls ? 'true' : 'false',
    };
    if (!webTls) for (const k of ['TLS_CERT_FILE', 'TLS_KEY_FILE']) delete gatewayEnv[k];
    for (const s of cfg.subgraphs) gatewayEnv[`${s.name.toUpperCase()}_URL`] = `${scheme}://127.0.0.1:${s.port}/graphql`;
    const gateway = sup.startChild({ name: 'gateway', cmd: process.execPath, args: [entry('gateway/dist/index.js')], cwd: repoRoot, env: gatewayEnv });
    await waitForHttp(`${gatewayScheme}://127.0.0.1:${cfg.gatewayPort}/readyz`, { timeoutMs: 120_000, abort: diedReason(gateway) });

    log.step('Starting workers, web app' + (python ? ' and Dagster UI' : ''));
    // Tenants' connections may reach loopback (local databases) but never this platform's own servers.
    const networkEnv = workerNetworkEnv({
      databaseUrl: /** @type {string} */ (databaseUrl),
      warehouseUrl,
      natsUrl: /** @type {string} */ (natsUrl),
      gatewayPort: cfg.gatewayPort,
      subgraphPorts: cfg.subgraphs.map((s) => s.port),
      webPort: cfg.webPort,
      dagsterPort: python ? cfg.dagsterPort : undefined,
    });
    sup.startChild({
      name: 'workers',
      cmd: process.execPath,
      args: [entry('workers/dist/index.js')],
      cwd: repoRoot,
      // With the Python venv, pipeline runs execute as Dagster runs (launched on the webserver below, dequeued by the daemon).
      env: { ...common, WAREHOUSE_ADMIN_URL: warehouseUrl, ...networkEnv, ...(python ? { DAGSTER_URL: `http://127.0.0.1:${cfg.dagsterPort}` } : {}) },
    });
    const next = nextStart(cfg.webPort, cfg.bindAddress, webTls);
    const web = sup.startChild({
      name: 'web',
      ...next,
      cwd: path.join(repoRoot, 'web'),
      env: {
        ...common,
        NODE_ENV: 'production',
        GATEWAY_URL: `${gatewayScheme}://127.0.0.1:${cfg.gatewayPort}/graphql`,
        PORT: String(cfg.webPort),
        HOSTNAME: cfg.bindAddress,
        WEB_TLS: webTls ? 'on' : 'off',
      },
    });
    /** @type {Promise<void>[]} */
    const waits = [waitForHttp(`${webTls ? 'https' : 'http'}://127.0.0.1:${cfg.webPort}/healthz`, { timeoutMs: 120_000, abort: diedReason(web) })];
    let dagsterNote = '';
    if (python) {
      const dagsterDataDir = cfg.dataDir;
      // Runs and event logs in PostgreSQL (dagster-postgres, workers/python/dagster.postgres.yaml), shared by the webserver, the daemon and the runs.
      const dagsterStorage = dagsterPgUrl ? { DAGSTER_PG_URL: dagsterPgUrl } : {};
      const spec = await python.dagsterWebserverCommand({
        repoRoot,
        venvDir: cfg.venvDir,
        dataDir: dagsterDataDir,
        port: cfg.dagsterPort,
        env: { ...common, ...dagsterStorage },
      });
      const dagster = sup.startChild({ name: 'dagster', cmd: spec.cmd, args: spec.args, cwd: spec.cwd ?? repoRoot, env: { ...common, ...(spec.env ?? {}) } });
      waits.push(
        waitForHttp(`http://127.0.0.1:${cfg.dagsterPort}/server_info`, { timeoutMs: 180_000, accept: (st) => st < 500, abort: diedReason(dagster) }).catch(
          (err) => {
            if (dagster.exit || sup.isStopping) throw err;
            dagsterNote = paint(33, ' (not answering yet — still starting?)');
          },
        ),
      );
      // The daemon launches the queued runs; their steps (the workers' TypeScript load through Dagster
      // Pipes, dbt) need what the workers have: the master key (in common), the warehouse, the network policy.
      const daemonSpec = await python.dagsterDaemonCommand({
        repoRoot,
        venvDir: cfg.venvDir,
        dataDir: dagsterDataDir,
        env: { ...common, ...dagsterStorage, WAREHOUSE_ADMIN_URL: warehouseUrl, ...networkEnv, DLX_NODE: process.execPath },
      });
      sup.startChild({ name: 'dagster-daemon', cmd: daemonSpec.cmd, args: daemonSpec.args, cwd: daemonSpec.cwd ?? repoRoot, env: daemonSpec.env });
    }
    await Promise.all(waits);
    running = true;

    // ── URLs ───────────────────────────────────────────────────────────────────
    const line = '─'.repeat(78);
    const row = (/** @type {string} */ label, /** @type {string} */ value) => `  ${label.padEnd(20)} ${value}`;
    const out = [
      '',
      paint(32, line),
      `  ${bold(paint(32, 'Datalinx is running'))}`,
      '',
      row('Web app', bold(`${webTls ? 'https' : 'http'}://${browserHost}:${cfg.webPort}`)),
      row('GraphQL (gateway)', `${gatewayScheme}://${browserHost}:${cfg.gatewayPort}/graphql`),
      row('GraphiQL explorer', `${gatewayScheme}://${browserHost}:${cfg.gatewayPort}/explorer`),
      row('Subgraphs', ''),
      ...cfg.subgraphs.map((s) => row(`  ${s.name}`, `${scheme}://localhost:${s.port}/graphql`)),
      row(
        'Dagster UI',
        python
          ? `http://localhost:${cfg.dagsterPort}${dagsterNote}  ${paint(2, '(plain HTTP, loopback only)')}`
          : paint(33, 'not started (scripts/lib/python.mjs missing)'),
      ),
      row('PostgreSQL', pgLine),
      row('NATS', natsLine),
      row(
        'Internal TLS',
        tlsFiles
          ? `on: TLS 1.2+ on every hop (gateway → subgraphs, services → PostgreSQL with sslmode=verify-full, services → NATS)  ${paint(2, `(CA ${tlsFiles.caFile}; DLX_INTERNAL_TLS=off to turn off)`)}`
          : paint(33, 'off (DLX_INTERNAL_TLS=off): every hop is plain text; the network must protect it'),
      ),
      row(
        'Browser-facing',
        webTls
          ? `https only, bound to ${cfg.bindAddress}  ${paint(2, `(trust ${tlsFiles?.caFile} in your browser)`)}`
          : `${cfg.bindAddress} (loopback only)${tlsFiles ? `  ${paint(2, `web app and gateway plain HTTP on loopback; every internal hop TLS`)}` : ''}`,
      ),
      row(
        'Connections reach',
        `${networkEnv.CONNECTION_ALLOWED_NETWORKS ? `public addresses and ${networkEnv.CONNECTION_ALLOWED_NETWORKS}` : 'public addresses only'}  ${paint(2, '(CONNECTION_ALLOWED_NETWORKS: local databases work)')}`,
      ),
      row('…but never', `${networkEnv.DLX_PLATFORM_ENDPOINTS.split(',').join(', ')}  ${paint(2, "(DLX_PLATFORM_ENDPOINTS: the platform's own servers)")}`),
      '',
      row('Data dir', cfg.dataDir),
      '',
      `  Press ${bold('Ctrl-C')} to stop everything.`,
      paint(32, line),
      '',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    setInterval(() => {}, 1 << 30); // keep the supervisor alive while children run
  } catch (err) {
    if (err instanceof ShutdownInProgress || sup.isStopping) return sup.shutdown(130);
    log.error(/** @type {Error} */ (err).message);
    return sup.shutdown(1);
  }
}

await main();
