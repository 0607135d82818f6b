// Building the workspace: TypeScript (`npm run build` = tsc -b, incremental), the gateway's
// GraphiQL bundle, and the Next.js app (slow: ~1 GB RAM, tens of seconds; rebuilt only when its
// inputs changed, tracked by a content hash stamp inside web/.next).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { npmCommand } from './install.mjs';

const WEB_STAMP = path.join('web', '.next', '.datalinx-build-stamp');
const SKIP_DIRS = new Set(['node_modules', '.next', 'dist', 'coverage', 'out', '.turbo', '__pycache__']);
const SKIP_FILES = new Set(['next-env.d.ts']);

/**
 * @param {string} dir
 * @param {string[]} out
 */
function walk(dir, out) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name.startsWith('.') && !e.name.startsWith('.env')) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) walk(full, out);
    } else if (e.isFile() && !SKIP_FILES.has(e.name) && !e.name.endsWith('.tsbuildinfo')) {
      out.push(full);
    }
  }
}

/**
 * Hash of everything `next build` reads: web/ sources, the shared packages' sources, the
 * lockfile and NEXT_PUBLIC_* variables (inlined into the bundle).
 * @param {string} repoRoot
 */
export function webInputsHash(repoRoot) {
  /** @type {string[]} */
  const files = [];
  walk(path.join(repoRoot, 'web'), files);
  walk(path.join(repoRoot, 'packages'), files);
  for (const f of ['package-lock.json', 'tsconfig.base.json']) {
    if (fs.existsSync(path.join(repoRoot, f))) files.push(path.join(repoRoot, f));
  }
  const h = crypto.createHash('sha256');
  for (const f of files.sort()) {
    h.update(path.relative(repoRoot, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  }
  for (const k of Object.keys(process.env)
    .filter((k) => k.startsWith('NEXT_PUBLIC_'))
    .sort()) {
    h.update(`${k}=${process.env[k]}\0`);
  }
  return h.digest('hex');
}

/**
 * @param {string} repoRoot
 * @returns {boolean} true when web/.next holds a build of the current inputs
 */
export function webBuildIsCurrent(repoRoot) {
  try {
    const stamp = fs.readFileSync(path.join(repoRoot, WEB_STAMP), 'utf8').trim();
    return stamp === webInputsHash(repoRoot) && fs.existsSync(path.join(repoRoot, 'web', '.next', 'BUILD_ID'));
  } catch {
    return false;
  }
}

/**
 * @param {{
 *   repoRoot: string,
 *   log: import('./log.mjs').Log,
 *   sup: import('./supervisor.mjs').Supervisor,
 *   web: 'if-changed' | 'never',
 * }} opts
 */
export async function buildAll({ repoRoot, log, sup, web }) {
  const npm = npmCommand();
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' };

  log.step('Building TypeScript workspaces (npm run build)');
  await sup.runTask({ name: 'build', cmd: npm.cmd, args: [...npm.prefixArgs, 'run', 'build'], cwd: repoRoot, env });

  const explorer = path.join(repoRoot, 'gateway', 'scripts', 'build-explorer.mjs');
  if (fs.existsSync(explorer)) {
    log.step('Building the GraphiQL explorer (gateway/scripts/build-explorer.mjs)');
    await sup.runTask({ name: 'explorer', cmd: process.execPath, args: [explorer], cwd: repoRoot, env });
  } else {
    log.warn('gateway/scripts/build-explorer.mjs not found: the GraphiQL explorer bundle is not built');
  }

  if (web === 'never') return;
  await buildWebIfChanged({ repoRoot, log, runTask: (spec) => sup.runTask(spec) });
}

/**
 * `next build` of web/ when its inputs changed since the last build (npm start, and the jest
 * projects whose tests run the built app: scripts/lib/jest-web-app.cjs).
 * @param {{
 *   repoRoot: string,
 *   log: import('./log.mjs').Log,
 *   runTask: (spec: { name: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv }) => Promise<unknown>,
 * }} opts
 */
export async function buildWebIfChanged({ repoRoot, log, runTask }) {
  if (webBuildIsCurrent(repoRoot)) {
    log.info('web app: build is up to date (inputs unchanged since the last next build)');
    return;
  }
  log.step('Building the web app (next build; ~1 GB RAM, takes a while)');
  const npm = npmCommand();
  const hash = webInputsHash(repoRoot);
  // next start needs a production build; a non-standard NODE_ENV breaks next build.
  await runTask({
    name: 'web build',
    cmd: npm.cmd,
    args: [...npm.prefixArgs, 'run', 'build', '-w', 'web'],
    cwd: repoRoot,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  });
  fs.writeFileSync(path.join(repoRoot, WEB_STAMP), `${hash}\n`);
}
