// @ts-check
/**
 * The Python side of the data plane: a project venv with the pinned dbt + Dagster stack
 * (workers/python/requirements.txt) and the command that serves the Dagster UI.
 *
 * Plain Node ESM using only built-ins: it runs before `npm install`. No `import.meta`, so the
 * module also loads where a test transforms it to CommonJS.
 *
 * The venv is (re)installed only when the sha256 of requirements.txt differs from the stamp
 * written inside the venv after the last successful install, so a second run costs a couple of
 * process spawns.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Oldest and first unsupported CPython of the pinned set (networkx & co need 3.11; dagster-dbt stops at 3.13). */
export const PYTHON_MIN = /** @type {const} */ ([3, 11]);
export const PYTHON_MAX_EXCLUSIVE = /** @type {const} */ ([3, 14]);

/** Where the Python sources, requirements and Dagster templates live, relative to the repo. */
export const PYTHON_DIR = path.join('workers', 'python');
export const REQUIREMENTS_FILE = path.join(PYTHON_DIR, 'requirements.txt');

/** Written inside the venv after a successful install: `{ requirementsSha256, python, installedAt }`. */
const STAMP_FILE = '.datalinx-requirements.json';
/** pip's output of the last install, inside the venv. */
const PIP_LOG_FILE = 'pip-install.log';
/** Candidates tried, in order, when DLX_PYTHON is not set. */
const PYTHON_CANDIDATES = ['python3', 'python3.13', 'python3.12', 'python3.11', 'python'];
const LOCK_WAIT_MAX_MS = 20 * 60 * 1000;
const LOCK_POLL_MS = 500;

const INSTALL_ADVICE =
  `Install CPython ${PYTHON_MIN.join('.')}–${PYTHON_MAX_EXCLUSIVE[0]}.${PYTHON_MAX_EXCLUSIVE[1] - 1} with venv support ` +
  '(Debian 12: `apt-get install python3 python3-venv`, which is 3.11; Ubuntu 24.04: the same command gives 3.12), ' +
  'or point DLX_PYTHON at such an interpreter (e.g. DLX_PYTHON=/usr/bin/python3.11).';

/**
 * @typedef {{ python: string, pip: string, dbt: string, dagster: string, dagsterWebserver: string, dagsterDaemon: string, binDir: string }} VenvPaths
 * @typedef {(message: string) => void} Log
 * @typedef {{ executable: string, version: string }} PythonInfo
 * @typedef {{ venvDir: string, python: string, pythonVersion: string, installed: boolean, durationMs: number }} EnsureResult
 */

/**
 * Executables of a venv.
 * @param {string} venvDir
 * @returns {VenvPaths}
 */
export function venvPaths(venvDir) {
  const windows = process.platform === 'win32';
  const binDir = path.join(path.resolve(venvDir), windows ? 'Scripts' : 'bin');
  /** @param {string} name */
  const exe = (name) => path.join(binDir, windows ? `${name}.exe` : name);
  return {
    python: exe('python'),
    pip: exe('pip'),
    dbt: exe('dbt'),
    dagster: exe('dagster'),
    dagsterWebserver: exe('dagster-webserver'),
    dagsterDaemon: exe('dagster-daemon'),
    binDir,
  };
}

/**
 * The venv directory: DLX_VENV_DIR, else `<repo>/.venv`.
 * @param {string} repoRoot
 * @param {NodeJS.ProcessEnv} [env]
 */
export function defaultVenvDir(repoRoot, env = process.env) {
  return path.resolve(env.DLX_VENV_DIR || path.join(repoRoot, '.venv'));
}

/**
 * @param {string} file
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number }} [options]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string, error?: NodeJS.ErrnoException }>}
 */
function run(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const err = /** @type {(NodeJS.ErrnoException & { code?: unknown }) | null} */ (error);
        const code = err == null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), error: err ?? undefined });
      },
    );
  });
}

/**
 * A child env without variables that would point Python at another installation.
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function pythonEnv(base = process.env) {
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...base, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONNOUSERSITE: '1' };
  delete env.PYTHONHOME;
  delete env.PYTHONPATH;
  delete env.VIRTUAL_ENV;
  return env;
}

const PROBE = [
  'import json, sys, importlib.util as u',
  'print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable,',
  ' "venv": u.find_spec("venv") is not None, "ensurepip": u.find_spec("ensurepip") is not None}))',
].join('\n');

/** @param {readonly number[]} a @param {readonly number[]} b */
function compareVersions(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** @param {readonly number[]} version */
function supported(version) {
  return compareVersions(version, PYTHON_MIN) >= 0 && compareVersions(version, PYTHON_MAX_EXCLUSIVE) < 0;
}

/**
 * Finds an interpreter that can create the venv: DLX_PYTHON if set, else the first suitable of
 * python3, python3.13, python3.12, python3.11, python on PATH.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<PythonInfo>}
 */
export async function findPython(env = process.env) {
  const candidates = env.DLX_PYTHON ? [env.DLX_PYTHON] : PYTHON_CANDIDATES;
  /** @type {string[]} */
  const rejected = [];
  for (const candidate of candidates) {
    const res = await run(candidate, ['-c', PROBE], { env: pythonEnv(env), timeoutMs: 30_000 });
    if (res.error && res.error.code === 'ENOENT') {
      rejected.push(`${candidate}: not found`);
      continue;
    }
    if (res.code !== 0) {
      rejected.push(`${candidate}: failed to run (${(res.stderr || res.stdout).trim().split('\n').pop() ?? 'no output'})`);
      continue;
    }
    /** @type {{ version: number[], executable: string, venv: boolean, ensurepip: boolean }} */
    let info;
    try {
      info = JSON.parse(res.stdout.trim().split('\n').pop() ?? '');
    } catch {
      rejected.push(`${candidate}: unexpected output ${JSON.stringify(res.stdout.slice(0, 200))}`);
      continue;
    }
    const version = info.version.join('.');
    if (!supported(info.version)) {
      rejected.push(`${candidate} (${info.executable}): Python ${version} is not supported`);
      continue;
    }
    if (!info.venv || !info.ensurepip) {
      rejected.push(
        `${candidate} (${info.executable}): Python ${version} lacks the venv/ensurepip modules ` +
          `(Debian/Ubuntu: apt-get install python3-venv, or python${info.version[0]}.${info.version[1]}-venv)`,
      );
      continue;
    }
    return { executable: info.executable, version };
  }
  throw new Error(`python: no suitable Python interpreter for the data-plane venv.\n  ${rejected.join('\n  ')}\n${INSTALL_ADVICE}`);
}

/**
 * sha256 of the requirements file, the key of the install stamp.
 * @param {string} repoRoot
 */
export async function requirementsSha256(repoRoot) {
  const file = path.join(repoRoot, REQUIREMENTS_FILE);
  let content;
  try {
    content = await readFile(file);
  } catch (err) {
    throw new Error(`python: cannot read ${file} (${/** @type {Error} */ (err).message}); is repoRoot right?`);
  }
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Version of the venv's interpreter, or why it does not run.
 * @param {string} venvDir
 * @returns {Promise<{ ok: true, version: number[] } | { ok: false, reason: string }>}
 */
async function probeVenv(venvDir) {
  const { python } = venvPaths(venvDir);
  if (!existsSync(python)) return { ok: false, reason: `${python} does not exist` };
  const res = await run(python, ['-c', 'import sys, pip; print(*sys.version_info[:3])'], { env: pythonEnv(), timeoutMs: 30_000 });
  if (res.code !== 0) {
    return { ok: false, reason: `${python} does not run (${(res.stderr || String(res.error?.message)).trim().split('\n').pop()})` };
  }
  const version = res.stdout.trim().split(/\s+/).map(Number);
  if (!supported(version)) return { ok: false, reason: `it has Python ${version.join('.')}, outside the supported range` };
  return { ok: true, version };
}

/**
 * Cross-process lock (a directory in the OS temp dir, keyed by the venv path) so that two runners
 * started together do not pip-install into the same venv at once. A lock whose owner died is
 * taken over.
 * @param {string} venvDir
 * @param {Log} log
 * @returns {Promise<() => Promise<void>>} release
 */
async function lockVenv(venvDir, log) {
  const key = createHash('sha256').update(path.resolve(venvDir)).digest('hex').slice(0, 16);
  const lockDir = path.join(os.tmpdir(), `datalinx-venv-${key}.lock`);
  const started = Date.now();
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(path.join(lockDir, 'pid'), String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'));
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() - started > LOCK_WAIT_MAX_MS) {
      throw new Error(
        `python: another process (pid ${owner}) has been setting up ${venvDir} for over ${LOCK_WAIT_MAX_MS / 60000} min; ` +
          `stop it, or remove ${lockDir} if it is gone.`,
      );
    }
    if (!announced) {
      log(`python: waiting for another setup of ${venvDir} (pid ${Number.isNaN(owner) ? '?' : owner}) to finish ...`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
}

/** @param {number} pid */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * Runs a command with stdout and stderr appended to a log file.
 * @param {string} file
 * @param {string[]} args
 * @param {string} logFile
 * @param {{ cwd: string, env: NodeJS.ProcessEnv }} options
 * @returns {Promise<number>} exit code (-1 if the process could not start or was killed)
 */
function runLogged(file, args, logFile, options) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(logFile, { flags: 'a' });
    out.on('error', reject);
    out.write(`\n$ ${[file, ...args].join(' ')}\n`, () => {
      const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.pipe(out, { end: false });
      child.stderr.pipe(out, { end: false });
      child.on('error', (err) => {
        out.end(`\n[spawn failed: ${err.message}]\n`, () => resolve(-1));
      });
      child.on('close', (code, signal) => {
        out.end(signal ? `\n[killed by ${signal}]\n` : `\n[exit ${code}]\n`, () => resolve(code ?? -1));
      });
    });
  });
}

/** @param {string} file @param {number} lines */
function tail(file, lines) {
  try {
    return readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((line) => (line.length > 400 ? `${line.slice(0, 400)} ...` : line))
      .join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Makes sure the venv exists and holds exactly the pinned requirements; instant when the stamp
 * matches requirements.txt.
 * @param {{ repoRoot: string, venvDir?: string, log?: Log }} options
 * @returns {Promise<EnsureResult>}
 */
export async function ensurePythonVenv({ repoRoot, venvDir, log = console.log }) {
  const started = Date.now();
  const root = path.resolve(repoRoot);
  const dir = path.resolve(venvDir ?? defaultVenvDir(root));
  const paths = venvPaths(dir);
  const sha = await requirementsSha256(root);
  const stampFile = path.join(dir, STAMP_FILE);

  const release = await lockVenv(dir, log);
  try {
    let probe = await probeVenv(dir);
    const stamp = await readFile(stampFile, 'utf8')
      .then((s) => /** @type {{ requirementsSha256?: string }} */ (JSON.parse(s)))
      .catch(() => null);
    if (probe.ok && stamp?.requirementsSha256 === sha) {
      return { venvDir: dir, python: paths.python, pythonVersion: probe.version.join('.'), installed: false, durationMs: Date.now() - started };
    }

    if (!probe.ok) {
      const base = await findPython();
      const exists = existsSync(dir);
      log(
        exists
          ? `python: venv at ${dir} is unusable (${probe.reason}); recreating it with ${base.executable} (Python ${base.version}) ...`
          : `python: creating venv at ${dir} with ${base.executable} (Python ${base.version}) ...`,
      );
      await mkdir(path.dirname(dir), { recursive: true });
      const args = ['-m', 'venv', ...(exists ? ['--clear'] : []), dir];
      const res = await run(base.executable, args, { env: pythonEnv(), timeoutMs: 5 * 60_000 });
      if (res.code !== 0) {
        throw new Error(
          `python: \`${base.executable} ${args.join(' ')}\` failed:\n${(res.stderr || res.stdout || String(res.error?.message)).trim()}\n` +
            `If it mentions ensurepip, install the venv module (Debian/Ubuntu: apt-get install python3-venv). ${INSTALL_ADVICE}`,
        );
      }
      probe = await probeVenv(dir);
      if (!probe.ok) throw new Error(`python: the new venv at ${dir} does not work: ${probe.reason}. Delete ${dir} and retry.`);
    }

    // A changed requirements file invalidates the stamp before pip starts, so an interrupted
    // install is retried next time.
    await rm(stampFile, { force: true });
    const logFile = path.join(dir, PIP_LOG_FILE);
    writeFileSync(logFile, `# pip install of ${REQUIREMENTS_FILE} (sha256 ${sha}) at ${new Date().toISOString()}\n`);
    log(`python: installing ${REQUIREMENTS_FILE} into ${dir} (about a minute the first time; pip output in ${logFile}) ...`);
    const env = pythonEnv();
    const pipStarted = Date.now();
    const installCode = await runLogged(
      paths.python,
      ['-m', 'pip', 'install', '--no-input', '--require-virtualenv', '-r', path.join(root, REQUIREMENTS_FILE)],
      logFile,
      { cwd: root, env },
    );
    if (installCode !== 0) {
      throw new Error(
        `python: \`pip install -r ${REQUIREMENTS_FILE}\` failed (exit ${installCode}). Last lines:\n${tail(logFile, 15)}\n` +
          `Full log: ${logFile}. PyPI must be reachable (check proxy/index settings: pip config list); ` +
          `fix the cause and run again, or delete ${dir} to start from scratch.`,
      );
    }
    const checkCode = await runLogged(paths.python, ['-m', 'pip', 'check'], logFile, { cwd: root, env });
    if (checkCode !== 0) {
      throw new Error(
        `python: \`pip check\` found inconsistent packages in ${dir} after installing ${REQUIREMENTS_FILE}:\n${tail(logFile, 10)}\n` +
          `Full log: ${logFile}. Delete ${dir} and run again; if it persists, regenerate requirements.txt (workers/python/README.md).`,
      );
    }
    const pythonVersion = probe.version.join('.');
    await writeFile(stampFile, JSON.stringify({ requirementsSha256: sha, python: pythonVersion, installedAt: new Date().toISOString() }, null, 2) + '\n');
    log(`python: venv ready in ${((Date.now() - pipStarted) / 1000).toFixed(1)} s (Python ${pythonVersion}, ${dir})`);
    return { venvDir: dir, python: paths.python, pythonVersion, installed: true, durationMs: Date.now() - started };
  } finally {
    await release();
  }
}

/**
 * Environment for Dagster and dbt processes of the data plane: the venv's bin first on PATH,
 * DAGSTER_HOME = `<dataDir>/dagster`, DLX_DATA_DIR for the code location's dbt artifacts.
 * DAGSTER_PG_URL (scaled-out mode) is passed through, with `postgres://` made `postgresql://`.
 * @param {{ venvDir: string, dataDir: string, env?: NodeJS.ProcessEnv }} options
 * @returns {NodeJS.ProcessEnv}
 */
export function dagsterEnv({ venvDir, dataDir, env = {} }) {
  const { binDir } = venvPaths(venvDir);
  // Only inherited Python variables are dropped; ones the caller passes explicitly are kept.
  const merged = { ...pythonEnv(process.env), ...env };
  // SQLAlchemy (under dagster-postgres) rejects the `postgres://` scheme that libpq and
  // node-postgres accept, so a DATABASE_URL-style value is rewritten.
  if (merged.DAGSTER_PG_URL?.startsWith('postgres://')) {
    merged.DAGSTER_PG_URL = `postgresql://${merged.DAGSTER_PG_URL.slice('postgres://'.length)}`;
  }
  return {
    ...merged,
    PATH: [binDir, merged.PATH ?? ''].filter(Boolean).join(path.delimiter),
    VIRTUAL_ENV: path.resolve(venvDir),
    DAGSTER_HOME: path.join(path.resolve(dataDir), 'dagster'),
    DLX_DATA_DIR: path.resolve(dataDir),
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    PYTHONUNBUFFERED: '1',
  };
}

/**
 * Writes `<dataDir>/dagster/dagster.yaml` from the template for the mode in use: embedded
 * (SQLite, workers/python/dagster.yaml) or, when DAGSTER_PG_URL is set, scaled-out
 * (PostgreSQL, workers/python/dagster.postgres.yaml). Rewritten only when it differs.
 * @param {{ repoRoot: string, dataDir: string, env?: NodeJS.ProcessEnv }} options
 * @returns {{ dagsterHome: string, configFile: string, mode: 'sqlite' | 'postgres' }}
 */
export function writeDagsterInstanceConfig({ repoRoot, dataDir, env = process.env }) {
  const dagsterHome = path.join(path.resolve(dataDir), 'dagster');
  mkdirSync(dagsterHome, { recursive: true });
  const mode = env.DAGSTER_PG_URL ? 'postgres' : 'sqlite';
  const template = path.join(path.resolve(repoRoot), PYTHON_DIR, mode === 'postgres' ? 'dagster.postgres.yaml' : 'dagster.yaml');
  const content =
    `# Generated from ${path.relative(path.resolve(repoRoot), template)} by scripts/lib/python.mjs;\n` +
    '# edit the template, this copy is overwritten.\n' +
    readFileSync(template, 'utf8');
  const configFile = path.join(dagsterHome, 'dagster.yaml');
  const current = existsSync(configFile) ? readFileSync(configFile, 'utf8') : null;
  if (current !== content) writeFileSync(configFile, content);
  return { dagsterHome, configFile, mode };
}

/**
 * How to spawn the Dagster UI (dagster-webserver) on 127.0.0.1:port with the Datalinx code
 * location; also prepares DAGSTER_HOME (`<dataDir>/dagster`) and its dagster.yaml.
 * @param {{ repoRoot: string, venvDir?: string, dataDir: string, port: number, env?: NodeJS.ProcessEnv }} options
 *   env: extra variables on top of process.env (e.g. DBT_PG_*, DAGSTER_PG_URL).
 * @returns {{ cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string }}
 */
export function dagsterWebserverCommand({ repoRoot, venvDir, dataDir, port, env = {} }) {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`dagster: invalid port ${port}`);
  const root = path.resolve(repoRoot);
  const dir = path.resolve(venvDir ?? defaultVenvDir(root, { ...process.env, ...env }));
  const childEnv = dagsterEnv({ venvDir: dir, dataDir, env });
  writeDagsterInstanceConfig({ repoRoot: root, dataDir, env: childEnv });
  return {
    cmd: venvPaths(dir).dagsterWebserver,
    args: ['-w', 'workspace.yaml', '-p', String(port), '-h', '127.0.0.1'],
    env: childEnv,
    cwd: path.join(root, PYTHON_DIR),
  };
}

/**
 * How to spawn the Dagster daemon (`dagster-daemon run`) beside the webserver: same DAGSTER_HOME,
 * env and code location. It dequeues the runs the workers launch (QueuedRunCoordinator, one run
 * at a time per workspace) and launches them; without it, runs stay QUEUED.
 * @param {{ repoRoot: string, venvDir?: string, dataDir: string, env?: NodeJS.ProcessEnv }} options
 * @returns {{ cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string }}
 */
export function dagsterDaemonCommand({ repoRoot, venvDir, dataDir, env = {} }) {
  const root = path.resolve(repoRoot);
  const dir = path.resolve(venvDir ?? defaultVenvDir(root, { ...process.env, ...env }));
  const childEnv = dagsterEnv({ venvDir: dir, dataDir, env });
  writeDagsterInstanceConfig({ repoRoot: root, dataDir, env: childEnv });
  return {
    cmd: venvPaths(dir).dagsterDaemon,
    args: ['run', '-w', 'workspace.yaml'],
    env: childEnv,
    cwd: path.join(root, PYTHON_DIR),
  };
}
