// "Install what is missing": npm dependencies (stamp-checked) and the Python venv (delegated to
// scripts/lib/python.mjs, owned by the data-plane side).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const INSTALL_STAMP = path.join('node_modules', '.datalinx-install-stamp');

/**
 * What the install depends on: package-lock.json, or (no lockfile) every package.json.
 * @param {string} repoRoot
 * @returns {{ hash: string, hasLock: boolean }}
 */
export function installInputsHash(repoRoot) {
  const lock = path.join(repoRoot, 'package-lock.json');
  const h = crypto.createHash('sha256');
  if (fs.existsSync(lock)) {
    h.update(fs.readFileSync(lock));
    return { hash: h.digest('hex'), hasLock: true };
  }
  const manifests = [path.join(repoRoot, 'package.json')];
  for (const top of fs.readdirSync(repoRoot, { withFileTypes: true })) {
    if (!top.isDirectory() || top.name === 'node_modules' || top.name.startsWith('.')) continue;
    const dir = path.join(repoRoot, top.name);
    if (fs.existsSync(path.join(dir, 'package.json'))) manifests.push(path.join(dir, 'package.json'));
    for (const sub of fs.readdirSync(dir, { withFileTypes: true })) {
      if (sub.isDirectory() && sub.name !== 'node_modules' && fs.existsSync(path.join(dir, sub.name, 'package.json'))) {
        manifests.push(path.join(dir, sub.name, 'package.json'));
      }
    }
  }
  for (const m of manifests.sort()) h.update(path.relative(repoRoot, m)).update('\0').update(fs.readFileSync(m)).update('\0');
  return { hash: h.digest('hex'), hasLock: false };
}

/**
 * Why an install is needed, or null when node_modules matches the last successful install
 * (writing the stamp when it adopts an install made by hand).
 * @param {string} repoRoot
 * @returns {string | null}
 */
export function installNeeded(repoRoot) {
  if (!fs.existsSync(path.join(repoRoot, 'node_modules'))) return 'node_modules is missing';
  let stamp = '';
  try {
    stamp = fs.readFileSync(path.join(repoRoot, INSTALL_STAMP), 'utf8').trim();
  } catch {
    if (installedAfterLockfile(repoRoot)) {
      // Installed by hand after the lockfile last changed: adopt it rather than reinstall.
      writeInstallStamp(repoRoot);
      return null;
    }
    return 'node_modules was not installed after package-lock.json last changed (no install stamp)';
  }
  const { hash, hasLock } = installInputsHash(repoRoot);
  if (stamp !== hash) return hasLock ? 'package-lock.json changed since the last install' : 'a package.json changed since the last install';
  return null;
}

/**
 * npm writes node_modules/.package-lock.json at the end of every successful install or ci; when
 * it is newer than package-lock.json, node_modules matches the current lockfile.
 * @param {string} repoRoot
 */
function installedAfterLockfile(repoRoot) {
  try {
    const lock = fs.statSync(path.join(repoRoot, 'package-lock.json'));
    const hidden = fs.statSync(path.join(repoRoot, 'node_modules', '.package-lock.json'));
    return hidden.mtimeMs >= lock.mtimeMs;
  } catch {
    return false;
  }
}

/** @param {string} repoRoot */
export function writeInstallStamp(repoRoot) {
  fs.writeFileSync(path.join(repoRoot, INSTALL_STAMP), `${installInputsHash(repoRoot).hash}\n`);
}

/**
 * The npm that runs us (`npm start` sets npm_execpath), else `npm` from PATH.
 * @returns {{ cmd: string, prefixArgs: string[] }}
 */
export function npmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && /npm-cli\.c?js$/.test(execPath) && fs.existsSync(execPath)) {
    return { cmd: process.execPath, prefixArgs: [execPath] };
  }
  return { cmd: 'npm', prefixArgs: [] };
}

/**
 * `npm ci` (or `npm install` without a lockfile) when node_modules is missing or stale.
 * `--include=dev` because NODE_ENV=production in the caller's shell would otherwise drop the
 * compiler and test runner.
 * @param {{ repoRoot: string, log: import('./log.mjs').Log, sup: import('./supervisor.mjs').Supervisor, skip?: boolean }} opts
 */
export async function ensureNodeModules({ repoRoot, log, sup, skip = false }) {
  const reason = installNeeded(repoRoot);
  if (!reason) return;
  if (skip) {
    log.warn(`npm dependencies may be stale (${reason}), but DLX_SKIP_INSTALL is set: not installing`);
    return;
  }
  const hasLock = fs.existsSync(path.join(repoRoot, 'package-lock.json'));
  const verb = hasLock ? 'ci' : 'install';
  log.step(`npm ${verb} (${reason})`);
  const npm = npmCommand();
  await sup.runTask({
    name: `npm ${verb}`,
    cmd: npm.cmd,
    args: [...npm.prefixArgs, verb, '--no-audit', '--no-fund', '--include=dev'],
    cwd: repoRoot,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  });
  writeInstallStamp(repoRoot);
}

/**
 * @typedef {{
 *   ensurePythonVenv: (o: { repoRoot: string, venvDir: string, log: unknown }) => Promise<unknown> | unknown,
 *   dagsterWebserverCommand: (o: { repoRoot: string, venvDir: string, dataDir: string, port: number, env: NodeJS.ProcessEnv }) =>
 *     { cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string } | Promise<{ cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string }>,
 *   dagsterDaemonCommand: (o: { repoRoot: string, venvDir: string, dataDir: string, env: NodeJS.ProcessEnv }) =>
 *     { cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string },
 * }} PythonHelpers
 */

/**
 * scripts/lib/python.mjs (the venv with dbt + Dagster) or null when it is not in the checkout.
 * @param {string} repoRoot
 * @returns {Promise<PythonHelpers | null>}
 */
export async function loadPythonHelpers(repoRoot) {
  const file = path.join(repoRoot, 'scripts', 'lib', 'python.mjs');
  if (!fs.existsSync(file)) return null;
  const mod = await import(pathToFileURL(file).href);
  if (typeof mod.ensurePythonVenv !== 'function' || typeof mod.dagsterWebserverCommand !== 'function' || typeof mod.dagsterDaemonCommand !== 'function') {
    throw new Error(`${file} must export ensurePythonVenv(), dagsterWebserverCommand() and dagsterDaemonCommand()`);
  }
  return /** @type {PythonHelpers} */ (mod);
}

/**
 * A logger the Python helper can call either as a function or as an object.
 * @param {import('./log.mjs').Log} log
 */
export function pythonLogAdapter(log) {
  /** @param {string} msg */
  const fn = (msg) => log.info(msg);
  return Object.assign(fn, log);
}
