import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DbtProjectFile } from './project';

/**
 * Where a workspace's generated project for one mapping version lives:
 * `<root>/dbt/<workspaceId>/v<version>/`, with `root` the data directory (DLX_DATA_DIR, default
 * `.datalinx`, as the workers use it).
 */
export function dbtProjectDir(root: string, workspaceId: string, version: number): string {
  if (!/^[A-Za-z0-9_-]+$/.test(workspaceId)) throw new Error(`dbt project: invalid workspace id "${workspaceId}"`);
  if (!Number.isInteger(version) || version < 0) throw new Error(`dbt project: invalid version ${version}`);
  return path.join(path.resolve(root), 'dbt', workspaceId, `v${version}`);
}

/** A relative path inside the project: no absolute paths, no `..`, no empty segments. */
function checkedPath(p: string): string {
  const parts = p.split('/');
  if (p.startsWith('/') || parts.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
    throw new Error(`dbt project: invalid file path "${p}"`);
  }
  return path.join(...parts);
}

/**
 * Writes the project's files as `dir`, replacing what was there: the files go into a temporary
 * sibling directory that is then renamed to `dir`, so a reader sees the old project or the whole
 * new one, never a half-written one (a previous `dir` is moved aside first and removed after).
 */
export async function writeDbtProject(dir: string, files: readonly DbtProjectFile[]): Promise<void> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.tmp-${suffix}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${suffix}`);
  const relative = files.map((f) => checkedPath(f.path));
  await mkdir(parent, { recursive: true });
  try {
    await mkdir(tmp);
    for (const [i, f] of files.entries()) {
      const file = path.join(tmp, relative[i]!);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, f.content, 'utf8');
    }
    let moved = false;
    try {
      await rename(target, old);
      moved = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await rename(tmp, target);
    } catch (e) {
      if (moved) await rename(old, target);
      throw e;
    }
    if (moved) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
