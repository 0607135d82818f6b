// Process-table helpers: liveness of pids and process groups, identity checks (pid + start
// time, so a recycled pid is never mistaken for one of ours), waiting for a group to be gone.
// Linux reads /proc; elsewhere we fall back to signal 0, which cannot tell zombies apart.
import fs from 'node:fs';

const hasProc = process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/** @param {number} ms */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Fields of /proc/<pid>/stat after the command name (which may contain spaces and parens).
 * @param {number} pid
 * @returns {string[] | null} [state, ppid, pgrp, ...]; index 19 is the start time
 */
function statFields(pid) {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Start time of a process (clock ticks since boot) or null when it does not exist. Together
 * with the pid it identifies a process for good.
 * @param {number} pid
 * @returns {string | null}
 */
export function processStartTime(pid) {
  if (!hasProc) return isAlive(pid) ? 'unknown' : null;
  const f = statFields(pid);
  if (!f || f[0] === 'Z' || f[0] === 'X') return null;
  return f[19] ?? null;
}

/**
 * @param {number} pid
 * @returns {boolean} true if the process exists and is not a zombie
 */
export function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (hasProc) {
    const f = statFields(pid);
    return Boolean(f && f[0] !== 'Z' && f[0] !== 'X');
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * Live (non-zombie) members of a process group.
 * @param {number} pgid
 * @returns {number[]}
 */
export function groupMembers(pgid) {
  if (!hasProc) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch (err) {
      return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM' ? [pgid] : [];
    }
  }
  /** @type {number[]} */
  const members = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && f[2] === String(pgid) && f[0] !== 'Z' && f[0] !== 'X') members.push(Number(entry));
  }
  return members;
}

/**
 * Live descendants of a process (children, grandchildren, …) with their process group,
 * not descending into the subtrees rooted at `prune`. Linux only (empty elsewhere).
 * @param {number} rootPid
 * @param {Set<number>} [prune]
 * @returns {{ pid: number, pgid: number }[]}
 */
export function descendants(rootPid, prune = new Set()) {
  if (!hasProc) return [];
  /** @type {Map<number, { pid: number, ppid: number, pgid: number }[]>} */
  const byParent = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f || f[0] === 'Z' || f[0] === 'X') continue;
    const rec = { pid: Number(entry), ppid: Number(f[1]), pgid: Number(f[2]) };
    const list = byParent.get(rec.ppid) ?? [];
    list.push(rec);
    byParent.set(rec.ppid, list);
  }
  /** @type {{ pid: number, pgid: number }[]} */
  const out = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = /** @type {number} */ (queue.shift());
    for (const c of byParent.get(pid) ?? []) {
      if (prune.has(c.pid)) continue;
      out.push({ pid: c.pid, pgid: c.pgid });
      queue.push(c.pid);
    }
  }
  return out;
}

/**
 * Sends a signal to a whole process group; ignores "no such process".
 * @param {number} pgid
 * @param {NodeJS.Signals} signal
 */
export function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

/**
 * @param {number} pid
 * @param {NodeJS.Signals} signal
 */
export function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'ESRCH') throw err;
  }
}

/**
 * Polls until no live process is left in the group, or the timeout passes.
 * @param {number} pgid
 * @param {number} timeoutMs
 * @returns {Promise<boolean>} true when the group is gone
 */
export async function waitGroupGone(pgid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (groupMembers(pgid).length > 0) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * SIGTERM (or `signal`) to the group, SIGKILL to whatever is left after `graceMs`.
 * @param {number} pgid
 * @param {{ graceMs: number, signal?: NodeJS.Signals }} opts
 * @returns {Promise<'exited' | 'killed'>}
 */
export async function terminateGroup(pgid, { graceMs, signal = 'SIGTERM' }) {
  killGroup(pgid, signal);
  if (await waitGroupGone(pgid, graceMs)) return 'exited';
  killGroup(pgid, 'SIGKILL');
  await waitGroupGone(pgid, 5000);
  return 'killed';
}

/**
 * Command line of a process, arguments joined by spaces ('' when unknown).
 * @param {number} pid
 */
export function commandLine(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
