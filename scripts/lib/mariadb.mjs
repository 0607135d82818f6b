// A throwaway MariaDB for `npm test` (the MySQL source cases), from the system's packages:
// `mariadb-install-db` into a temp data dir, then `mariadbd` on 127.0.0.1:<free port> with that
// data dir, its own socket and pid file, no binary log and relaxed flushing (tests only). It
// reads no my.cnf (`--no-defaults`), so the machine's own MariaDB and its settings are never
// touched. An init file creates a user with a random password that may do everything (tests
// create databases and users), so the tests connect like a customer does: over TCP, with a
// password. Stopped by the supervisor with the other infrastructure.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { isRoot, which } from './system.mjs';
import { sleep, terminateGroup } from './proc.mjs';
import { tail } from './log.mjs';

const MARIADB_OTHERWISE =
  'elsewhere: install MariaDB (macOS: brew install mariadb) so that mariadbd and mariadb-install-db are on PATH, or set MYSQL_URL=mysql://user:pass@127.0.0.1:3306';

/**
 * The tool descriptions for ensureSystemTools: the server binaries (mariadbd, mariadb-install-db)
 * without a system service (mariadb-server-core), and my_print_defaults, which
 * mariadb-install-db runs (mariadb-client-core).
 */
export const MARIADB_TOOLS = [
  {
    name: 'mariadbd',
    bin: 'mariadbd',
    debianPackage: 'mariadb-server-core',
    why: 'throwaway MariaDB for the MySQL source tests; or set MYSQL_URL to an existing MySQL/MariaDB',
    otherwise: MARIADB_OTHERWISE,
  },
  {
    name: 'my_print_defaults',
    bin: 'my_print_defaults',
    debianPackage: 'mariadb-client-core',
    why: 'mariadb-install-db needs it',
    otherwise: MARIADB_OTHERWISE,
  },
];

/** The user the tests connect as. */
const TEST_USER = 'datalinx_test';

/**
 * @typedef {{ url: string, port: number, user: string, password: string, pid: number, logFile: string }} RunningMariadb
 */

/**
 * `mariadb-install-db` next to `mariadbd` (older packages: mysql_install_db).
 * @param {string} serverBin
 */
function installDbBin(serverBin) {
  const candidates = [path.join(path.dirname(serverBin), '..', 'bin', 'mariadb-install-db'), path.join(path.dirname(serverBin), 'mariadb-install-db')];
  const found = candidates.find((c) => fs.existsSync(c)) ?? which('mariadb-install-db') ?? which('mysql_install_db');
  if (!found)
    throw new Error(`found ${serverBin} but not mariadb-install-db (Debian/Ubuntu: apt-get install -y ${MARIADB_TOOLS.map((t) => t.debianPackage).join(' ')})`);
  return path.resolve(found);
}

/**
 * MariaDB refuses to run as root without being told to: as root it runs as the OS user `mysql`
 * (which the Debian packages create), or as root when that user does not exist.
 * @returns {{ name: string, uid: number, gid: number } | null} null when not root
 */
function serverUser() {
  if (!isRoot()) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { name: 'mysql', uid, gid };
  } catch {
    return { name: 'root', uid: 0, gid: 0 };
  }
}

/**
 * Whether a MySQL server answers the handshake on the port (its first packet: length, sequence
 * 0, protocol version 10), without logging in.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function handshakes(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const done = (/** @type {boolean} */ ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(2000, () => done(false));
    sock.on('error', () => done(false));
    sock.once('data', (b) => done(b.length > 4 && b[3] === 0 && b[4] === 10));
  });
}

/**
 * Initialises a data dir under `dir` and starts MariaDB on 127.0.0.1:<port>; resolves once the
 * test user can log in (checked with the server's own handshake and the pid file, so another
 * server on the port is never mistaken for ours).
 * @param {{
 *   bin: string,
 *   dir: string,
 *   port: number,
 *   logFile: string,
 *   log: import('./log.mjs').Log,
 *   sup: import('./supervisor.mjs').Supervisor,
 * }} opts `dir` is ours alone (a temp dir) and removed by the caller
 * @returns {Promise<RunningMariadb>}
 */
export async function startThrowawayMariadb({ bin, dir, port, logFile, log, sup }) {
  const user = serverUser();
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o711); // the server's OS user must reach its data dir
  fs.mkdirSync(dataDir, { mode: 0o700 });
  if (user) fs.chownSync(dataDir, user.uid, user.gid);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });

  const installDb = installDbBin(bin);
  const userArgs = user ? [`--user=${user.name}`] : [];
  try {
    execFileSync(installDb, ['--no-defaults', `--datadir=${dataDir}`, ...userArgs, '--auth-root-authentication-method=normal', '--skip-test-db'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 120_000,
    });
  } catch (err) {
    const e = /** @type {{ stderr?: string, stdout?: string, message: string }} */ (err);
    throw new Error(`${installDb} failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`);
  }

  const password = crypto.randomBytes(18).toString('hex');
  const initFile = path.join(dataDir, 'datalinx-init.sql');
  fs.writeFileSync(
    initFile,
    `CREATE USER '${TEST_USER}'@'%' IDENTIFIED BY '${password}';\nGRANT ALL PRIVILEGES ON *.* TO '${TEST_USER}'@'%' WITH GRANT OPTION;\n`,
    { mode: 0o600 },
  );
  if (user) fs.chownSync(initFile, user.uid, user.gid);

  const logFd = fs.openSync(logFile, 'a');
  const pidFile = path.join(dataDir, 'mariadbd.pid');
  const args = [
    '--no-defaults',
    `--datadir=${dataDir}`,
    ...userArgs,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${path.join(dataDir, 'mariadbd.sock')}`,
    `--pid-file=${pidFile}`,
    `--init-file=${initFile}`,
    '--skip-name-resolve',
    '--skip-log-bin',
    '--innodb-flush-log-at-trx-commit=0',
    '--innodb-buffer-pool-size=64M',
    '--max-connections=300',
  ];
  const { managed } = sup.startInfra(
    { name: 'mariadb', cmd: bin, args, cwd: dir },
    {
      stdio: ['ignore', logFd, logFd],
      stop: async (m) => {
        await terminateGroup(m.pid, { graceMs: 15_000 });
      },
    },
  );
  fs.closeSync(logFd);

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (managed.exit) {
      throw new Error(
        `mariadbd exited during start-up (${managed.exit.signal ?? `exit code ${managed.exit.code}`}). Last log lines (${logFile}):\n${tail(logFile, 10)}`,
      );
    }
    if (sup.isStopping) throw new Error('shutting down');
    // The pid file is written once the server listens; it must be our child's.
    const pid = Number(
      (() => {
        try {
          return fs.readFileSync(pidFile, 'utf8').trim();
        } catch {
          return '';
        }
      })(),
    );
    if (pid === managed.pid && (await handshakes(port))) break;
    if (Date.now() > deadline) throw new Error(`MariaDB did not answer on 127.0.0.1:${port} within 60s. Log: ${logFile}`);
    await sleep(100);
  }
  log.info(`throwaway MariaDB on 127.0.0.1:${port} (data: ${dataDir}${user ? `, as the OS user ${user.name}` : ''})`);
  return {
    url: `mysql://${TEST_USER}:${password}@127.0.0.1:${port}`,
    port,
    user: TEST_USER,
    password,
    pid: managed.pid,
    logFile,
  };
}
