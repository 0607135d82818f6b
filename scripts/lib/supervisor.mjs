// The process supervisor behind `npm start` and `npm test`.
//
// Every process we spawn gets its own process group (`detached: true`). Ctrl-C in a terminal
// signals the whole foreground group; if PostgreSQL and nats-server were in it they would stop
// at the same moment as the services that still use them. Instead only this supervisor (and
// npm) receive the signal, and shutdown runs in order:
//   1. running tasks and children: SIGTERM to each group, SIGKILL after the grace period;
//   2. infrastructure (nats-server, then PostgreSQL), each with its own stop routine;
//   3. exit.
// Killing groups (not pids) also reaches grandchildren (npx → next, dagster → code server).
// The process list is written to a state file so that a run killed with SIGKILL can be cleaned
// up by the next one (see `cleanupOrphans`).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { forEachLine, linePrinter } from './log.mjs';
import { descendants, groupMembers, isAlive, killGroup, killPid, processStartTime, sleep, terminateGroup, waitGroupGone } from './proc.mjs';

/**
 * @typedef {{
 *   name: string,
 *   kind: 'child' | 'task' | 'infra',
 *   pid: number,
 *   group: boolean,
 *   startTime: string | null,
 *   exit: { code: number | null, signal: NodeJS.Signals | null } | null,
 *   exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>,
 *   stop?: () => Promise<void>,
 *   stopLast?: boolean,
 * }} Managed
 */

/**
 * @typedef {{
 *   name: string,
 *   cmd: string,
 *   args: string[],
 *   env?: NodeJS.ProcessEnv,
 *   cwd?: string,
 *   uid?: number,
 *   gid?: number,
 *   foreground?: boolean,
 * }} SpawnSpec
 *
 * `foreground`: stay in our process group with our stdin (interactive tools such as
 * `jest --watch` need the terminal); Ctrl-C then reaches the process directly.
 */

/** @param {Managed} m */
const isRunning = (m) => (m.group ? groupMembers(m.pid).length > 0 : !m.exit && isAlive(m.pid));

/**
 * @param {Managed} m
 * @param {NodeJS.Signals} signal
 */
const signalManaged = (m, signal) => (m.group ? killGroup(m.pid, signal) : killPid(m.pid, signal));

/**
 * SIGTERM, then SIGKILL after `graceMs`.
 * @param {Managed} m
 * @param {number} graceMs
 * @returns {Promise<'exited' | 'killed'>}
 */
async function terminateManaged(m, graceMs) {
  if (m.group) return terminateGroup(m.pid, { graceMs });
  killPid(m.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isRunning(m) && Date.now() < deadline) await sleep(100);
  if (!isRunning(m)) return 'exited';
  killPid(m.pid, 'SIGKILL');
  await Promise.race([m.exited, sleep(5000)]);
  return 'killed';
}

export class ShutdownInProgress extends Error {
  constructor() {
    super('shutting down');
  }
}

export class Supervisor {
  /**
   * @param {{
   *   log: import('./log.mjs').Log,
   *   graceMs?: number,
   *   stateFile?: string,
   *   exitCodeOnSignal?: (signal: NodeJS.Signals) => number,
   * }} opts
   */
  constructor({ log, graceMs = 10_000, stateFile, exitCodeOnSignal = () => 130 }) {
    this.log = log;
    this.graceMs = graceMs;
    this.stateFile = stateFile;
    this.exitCodeOnSignal = exitCodeOnSignal;
    /** @type {Managed[]} */
    this.managed = [];
    /** @type {Promise<never> | null} */
    this.stopping = null;
    /** @type {number} */
    this.lastSignalAt = 0;
    /** @type {(() => void | Promise<void>)[]} run after every process is gone (e.g. rm temp dirs) */
    this.finalizers = [];
  }

  get isStopping() {
    return this.stopping !== null;
  }

  /**
   * SIGINT/SIGTERM/SIGHUP → ordered shutdown. A second signal more than 1.5 s later forces
   * SIGKILL on the children (npm forwards Ctrl-C to us a second time right away: ignore that).
   * The `exit` hook is the last resort if something calls process.exit() behind our back.
   */
  installSignalHandlers() {
    for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
      process.on(signal, () => {
        const now = Date.now();
        if (this.isStopping) {
          if (now - this.lastSignalAt > 1500) {
            this.log.warn(`${signal} again: killing remaining processes now`);
            this.graceMs = 0;
            for (const m of this.managed) if (m.kind !== 'infra' && isRunning(m)) signalManaged(m, 'SIGKILL');
          }
          this.lastSignalAt = now;
          return;
        }
        this.lastSignalAt = now;
        this.log.info(`${signal} received, stopping everything…`);
        void this.shutdown(this.exitCodeOnSignal(signal));
      });
    }
    process.on('uncaughtException', (err) => {
      this.log.error(`internal error: ${err.stack ?? err.message}`);
      void this.shutdown(1);
    });
    process.on('unhandledRejection', (err) => {
      this.log.error(`internal error: ${/** @type {Error} */ (err)?.stack ?? String(err)}`);
      void this.shutdown(1);
    });
    process.on('exit', () => {
      for (const m of this.managed) {
        if (isRunning(m)) signalManaged(m, 'SIGKILL');
      }
      for (const d of this.#unmanagedDescendants()) killPid(d.pid, 'SIGKILL');
    });
  }

  /**
   * @param {SpawnSpec} spec
   * @param {'child' | 'task' | 'infra'} kind
   * @param {{ stdio: import('node:child_process').StdioOptions, stop?: () => Promise<void> }} io
   * @returns {{ managed: Managed, child: import('node:child_process').ChildProcess }}
   */
  #spawn(spec, kind, io) {
    if (this.isStopping) throw new ShutdownInProgress();
    const child = spawn(spec.cmd, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: spec.foreground ? 'inherit' : io.stdio,
      detached: !spec.foreground,
      uid: spec.uid,
      gid: spec.gid,
    });
    /** @type {(v: { code: number | null, signal: NodeJS.Signals | null }) => void} */
    let resolveExit = () => {};
    /** @type {Managed} */
    const managed = {
      name: spec.name,
      kind,
      pid: child.pid ?? -1,
      group: !spec.foreground,
      startTime: child.pid ? processStartTime(child.pid) : null,
      exit: null,
      exited: new Promise((r) => (resolveExit = r)),
      stop: io.stop,
    };
    child.on('error', (err) => {
      this.log.error(`${spec.name}: could not start \`${spec.cmd}\`: ${err.message}`);
      if (!managed.exit) {
        managed.exit = { code: 127, signal: null };
        resolveExit(managed.exit);
      }
    });
    child.on('exit', (code, signal) => {
      managed.exit = { code, signal };
      resolveExit(managed.exit);
      this.#writeState();
    });
    if (child.pid) {
      this.managed.push(managed);
      this.#writeState();
    }
    return { managed, child };
  }

  /**
   * A long-running platform process. Output is prefixed with its name; if it exits while we
   * are not stopping, everything is shut down with exit code 1.
   * @param {SpawnSpec} spec
   * @returns {Managed}
   */
  startChild(spec) {
    const { managed, child } = this.#spawn(spec, 'child', { stdio: ['ignore', 'pipe', 'pipe'] });
    const print = linePrinter(spec.name);
    forEachLine(child.stdout, (line) => print(line));
    forEachLine(child.stderr, (line) => print(line, true));
    void managed.exited.then(({ code, signal }) => {
      if (this.isStopping) return;
      this.log.error(`${spec.name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); stopping everything`);
      void this.shutdown(1);
    });
    return managed;
  }

  /**
   * A one-shot command (install, build, migration, test run). Output is inherited (progress
   * bars work) or, with `prefix`, printed line by line. Resolves with the exit status; rejects
   * on failure unless `check: false`.
   * @param {SpawnSpec & { prefix?: boolean, check?: boolean }} spec
   * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
   */
  async runTask(spec) {
    const stdio = spec.prefix ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'];
    const { managed, child } = this.#spawn(spec, 'task', { stdio: /** @type {any} */ (stdio) });
    if (spec.prefix) {
      const print = linePrinter(spec.name);
      forEachLine(child.stdout, (line) => print(line));
      forEachLine(child.stderr, (line) => print(line, true));
    }
    const result = await managed.exited;
    // A task may leave background processes in its group (it should not): do not let them live.
    if (managed.group && groupMembers(managed.pid).length > 0) await terminateGroup(managed.pid, { graceMs: 2000 });
    this.#forget(managed);
    if (this.isStopping) throw new ShutdownInProgress();
    if (result.code !== 0 && spec.check !== false) {
      throw new Error(`${spec.name} failed (${result.signal ? `signal ${result.signal}` : `exit code ${result.code}`}): ${spec.cmd} ${spec.args.join(' ')}`);
    }
    return result;
  }

  /**
   * Infrastructure (PostgreSQL, nats-server): spawned like the others but stopped last, with
   * its own stop routine, after every child is gone.
   * @param {SpawnSpec} spec
   * @param {{ stdio: import('node:child_process').StdioOptions, stop: (m: Managed) => Promise<void>, stopLast?: boolean }} io
   *   `stopLast`: stopped after all other infrastructure (PostgreSQL: others may still use it)
   * @returns {{ managed: Managed, child: import('node:child_process').ChildProcess }}
   */
  startInfra(spec, io) {
    /** @type {Managed | undefined} */
    let self;
    const out = this.#spawn(spec, 'infra', {
      stdio: io.stdio,
      stop: () => (self ? io.stop(self) : Promise.resolve()),
    });
    self = out.managed;
    self.stopLast = Boolean(io.stopLast);
    return out;
  }

  /** @param {() => void | Promise<void>} fn */
  addFinalizer(fn) {
    this.finalizers.push(fn);
  }

  /**
   * Our descendants outside every managed process and its subtree (PostgreSQL's backends
   * call setsid(), so process groups alone do not tell): processes that helpers spawned
   * themselves (pip under the Python venv set-up, apt-get, …).
   */
  #unmanagedDescendants() {
    const managedPids = new Set(this.managed.map((m) => m.pid));
    const groups = new Set(this.managed.filter((m) => m.group).map((m) => m.pid));
    return descendants(process.pid, managedPids).filter((d) => !groups.has(d.pgid));
  }

  /** @param {Managed} m */
  #forget(m) {
    this.managed = this.managed.filter((x) => x !== m);
    this.#writeState();
  }

  #writeState() {
    if (!this.stateFile) return;
    const state = {
      supervisorPid: process.pid,
      supervisorStartTime: processStartTime(process.pid),
      processes: this.managed
        .filter((m) => m.group && (!m.exit || groupMembers(m.pid).length > 0))
        .map((m) => ({ name: m.name, kind: m.kind, pid: m.pid, startTime: m.startTime })),
    };
    try {
      const tmp = `${this.stateFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
      fs.renameSync(tmp, this.stateFile);
    } catch {
      // best effort: the state file only helps clean up after a crash
    }
  }

  /**
   * Ordered shutdown; idempotent (every caller gets the same promise). Never resolves: exits.
   * @param {number} code
   * @returns {Promise<never>}
   */
  shutdown(code) {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      const procs = this.managed.filter((m) => m.kind !== 'infra');
      const live = procs.filter(isRunning);
      if (live.length > 0) {
        this.log.info(`stopping ${live.map((m) => m.name).join(', ')} (SIGTERM, SIGKILL after ${Math.round(this.graceMs / 1000)}s)`);
      }
      const strays = this.#unmanagedDescendants();
      if (strays.length > 0) this.log.info(`stopping ${strays.length} helper process(es): ${strays.map((d) => d.pid).join(', ')}`);
      for (const d of strays) killPid(d.pid, 'SIGTERM');
      await Promise.all([
        ...live.map(async (m) => {
          const how = await terminateManaged(m, this.graceMs);
          if (how === 'killed') this.log.warn(`${m.name} did not stop within the grace period: killed`);
        }),
        (async () => {
          const deadline = Date.now() + this.graceMs;
          while (strays.some((d) => isAlive(d.pid)) && Date.now() < deadline) await sleep(100);
          for (const d of strays) if (isAlive(d.pid)) killPid(d.pid, 'SIGKILL');
        })(),
      ]);
      // Infra in reverse start order, PostgreSQL last: nats-server first, then the database.
      const infra = this.managed.filter((m) => m.kind === 'infra').reverse();
      infra.sort((a, b) => Number(Boolean(a.stopLast)) - Number(Boolean(b.stopLast)));
      for (const m of infra) {
        if (groupMembers(m.pid).length === 0) continue;
        this.log.info(`stopping ${m.name}`);
        try {
          await m.stop?.();
        } catch (err) {
          this.log.warn(`${m.name}: ${/** @type {Error} */ (err).message}`);
        }
        if (!(await waitGroupGone(m.pid, 1000))) {
          killGroup(m.pid, 'SIGKILL');
          await waitGroupGone(m.pid, 5000);
        }
      }
      for (const fn of this.finalizers.reverse()) {
        try {
          await fn();
        } catch (err) {
          this.log.warn(/** @type {Error} */ (err).message);
        }
      }
      const leftovers = this.managed.filter(isRunning);
      if (leftovers.length > 0) this.log.warn(`still running after shutdown: ${leftovers.map((m) => `${m.name} (pgid ${m.pid})`).join(', ')}`);
      this.managed = [];
      if (this.stateFile) fs.rmSync(this.stateFile, { force: true });
      process.exit(code);
    })();
    return this.stopping;
  }
}

/**
 * Cleans up after a previous supervisor that died without stopping its processes (SIGKILL,
 * OOM, closed terminal): reads its state file and stops every recorded process that is still
 * the same process (pid and start time match), children before infrastructure.
 * @param {string} stateFile
 * @param {import('./log.mjs').Log} log
 */
export async function cleanupOrphans(stateFile, log) {
  /** @type {{ supervisorPid: number, supervisorStartTime: string | null, processes: { name: string, kind: string, pid: number, startTime: string | null }[] } | null} */
  let state = null;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return;
  }
  if (!state) return;
  if (state.supervisorPid !== process.pid && isAlive(state.supervisorPid) && processStartTime(state.supervisorPid) === state.supervisorStartTime) {
    throw new Error(`another supervisor (pid ${state.supervisorPid}) owns ${path.dirname(stateFile)}; stop it first`);
  }
  const ours = state.processes.filter((p) => p.startTime && processStartTime(p.pid) === p.startTime);
  const ordered = [...ours.filter((p) => p.kind !== 'infra'), ...ours.filter((p) => p.kind === 'infra').reverse()];
  for (const p of ordered) {
    log.warn(`stopping ${p.name} (pid ${p.pid}) left running by a previous run that did not shut down`);
    await terminateGroup(p.pid, { graceMs: p.kind === 'infra' ? 30_000 : 10_000, signal: p.kind === 'infra' && p.name === 'postgres' ? 'SIGINT' : 'SIGTERM' });
  }
  fs.rmSync(stateFile, { force: true });
}

/**
 * Exclusive lock on a data dir (one `npm start` per DLX_DATA_DIR). Stale locks (dead pid) are
 * taken over.
 * @param {string} lockFile
 * @returns {() => void} release
 */
export function acquireLock(lockFile) {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) }));
      fs.closeSync(fd);
      const release = () => {
        try {
          const cur = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
          if (cur.pid === process.pid) fs.rmSync(lockFile, { force: true });
        } catch {
          // already gone
        }
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
      /** @type {{ pid?: number, startTime?: string | null }} */
      let holder = {};
      try {
        holder = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
      } catch {
        // half-written or unreadable lock: treat as stale
      }
      if (holder.pid && isAlive(holder.pid) && processStartTime(holder.pid) === holder.startTime) {
        throw new Error(
          `Datalinx is already running from this data dir (supervisor pid ${holder.pid}, lock ${lockFile}). ` +
            `Stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), or use another DLX_DATA_DIR.`,
        );
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not acquire ${lockFile}`);
}

export { sleep };
