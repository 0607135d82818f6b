// Host checks and system packages: finding executables, and installing the few Debian packages
// the runners need (nats-server, chromium) when we are root on Debian. Anywhere else we print
// exactly what to install and stop.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export const isDebianLike = () => process.platform === 'linux' && fs.existsSync('/etc/debian_version') && Boolean(which('apt-get'));

/**
 * Absolute path of an executable on PATH (plus the sbin dirs, where Debian puts nats-server),
 * or null.
 * @param {string} cmd
 * @returns {string | null}
 */
export function which(cmd) {
  if (cmd.includes('/')) return isExecutable(cmd) ? path.resolve(cmd) : null;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin']) {
    if (!dirs.includes(extra)) dirs.push(extra);
  }
  for (const dir of dirs) {
    const candidate = path.join(dir, cmd);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/** @param {string} file */
function isExecutable(file) {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a command with inherited stdout/stderr (no stdin: CI has none) and resolves when it
 * exits 0.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string }} [opts]
 * @returns {Promise<void>}
 */
export function runInherit(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`\`${cmd} ${args.join(' ')}\` failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/**
 * @typedef {{ name: string, bin: string, debianPackage: string, why: string, otherwise: string }} SystemTool
 */

/**
 * Makes sure every tool exists; installs the missing ones with apt-get when root on Debian,
 * otherwise throws one error that lists exactly what to install.
 * @param {SystemTool[]} tools
 * @param {import('./log.mjs').Log} log
 * @returns {Promise<Record<string, string>>} tool name → absolute path
 */
export async function ensureSystemTools(tools, log) {
  /** @type {Record<string, string>} */
  const found = {};
  const missing = [];
  for (const tool of tools) {
    const p = which(tool.bin);
    if (p) found[tool.name] = p;
    else if (tool.bin.includes('/')) throw new Error(`${tool.bin} (${tool.name}) does not exist or is not executable`);
    else missing.push(tool);
  }
  if (missing.length === 0) return found;

  if (isRoot() && isDebianLike()) {
    const pkgs = missing.map((t) => t.debianPackage);
    log.step(`Installing ${pkgs.join(', ')} with apt-get (${missing.map((t) => t.why).join('; ')})`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await runInherit('apt-get', ['update'], { env });
    await runInherit('apt-get', ['install', '-y', ...pkgs], { env });
    for (const tool of missing) {
      const p = which(tool.bin);
      if (!p) throw new Error(`apt-get installed ${tool.debianPackage} but \`${tool.bin}\` is still not on PATH`);
      found[tool.name] = p;
    }
    return found;
  }

  const lines = missing.map((t) => `  - ${t.bin} (${t.why})\n` + `      Debian/Ubuntu: sudo apt-get install -y ${t.debianPackage}\n` + `      ${t.otherwise}`);
  throw new Error(`Missing system tools${isRoot() ? '' : ' (we install them automatically only as root on Debian)'}:\n` + lines.join('\n'));
}

/**
 * Chromium for the browser tests (playwright-core drives it): CHROMIUM_PATH, default
 * /usr/bin/chromium, installed with apt-get when that default is missing (root on Debian).
 * @param {import('./log.mjs').Log} log
 * @returns {Promise<string>} the executable
 */
export async function ensureChromium(log) {
  const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (isExecutable(chromiumPath)) return chromiumPath;
  if (process.env.CHROMIUM_PATH) throw new Error(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist or is not executable`);
  await ensureSystemTools(
    [
      {
        name: 'chromium',
        bin: 'chromium',
        debianPackage: 'chromium',
        why: 'headless browser for the browser tests; or point CHROMIUM_PATH at one, or leave them out (--selectProjects node)',
        otherwise: 'elsewhere: install Chromium/Chrome and set CHROMIUM_PATH to its executable',
      },
    ],
    log,
  );
  if (!isExecutable(chromiumPath)) throw new Error(`chromium was installed but ${chromiumPath} does not exist: set CHROMIUM_PATH`);
  return chromiumPath;
}
