import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { dagsterDaemonCommand, dagsterWebserverCommand } from '../../../scripts/lib/python.mjs';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway Dagster instance for a test file, as `npm start` runs it: the webserver (GraphQL on
 * 127.0.0.1:<port>) and `dagster-daemon run` (the QueuedRunCoordinator's dequeuer), both from
 * scripts/lib/python.mjs with the venv at DLX_VENV_DIR, on a fresh DLX_DATA_DIR whose
 * DAGSTER_HOME holds the instance's dagster.yaml: SQLite storage under `<dataDir>/dagster`, or
 * with DAGSTER_PG_URL in `env` the PostgreSQL template (dagster-postgres). `env` is what the runs' processes need (DLX_MASTER_KEY,
 * WAREHOUSE_ADMIN_URL …), as the workers have it. Output goes to `<dataDir>/webserver.log` and
 * `daemon.log`.
 */
export class DagsterInstance {
  readonly dataDir = mkdtempSync(path.join(os.tmpdir(), 'dlx-dagster-'));
  port = 0;
  private procs: ChildProcess[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get dagsterHome(): string {
    return path.join(this.dataDir, 'dagster');
  }

  /** Picks the port (before `start`, so a worker can be told the URL first). */
  async reservePort(): Promise<number> {
    if (!this.port) this.port = await freePort();
    return this.port;
  }

  async start(env: Record<string, string>, timeoutMs = 120_000): Promise<void> {
    await this.reservePort();
    const common = { repoRoot, venvDir: process.env.DLX_VENV_DIR || undefined, dataDir: this.dataDir, env: { ...env, DLX_NODE: process.execPath } };
    const web = dagsterWebserverCommand({ ...common, port: this.port });
    const daemon = dagsterDaemonCommand(common);
    for (const [name, spec] of [
      ['webserver', web],
      ['daemon', daemon],
    ] as const) {
      const out = createWriteStream(path.join(this.dataDir, `${name}.log`));
      const child = spawn(spec.cmd, spec.args, { cwd: spec.cwd, env: spec.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
      this.procs.push(child);
    }
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (const p of this.procs) if (p.exitCode !== null) throw new Error(`a Dagster process exited (${p.exitCode}):\n${this.logs()}`);
      try {
        const res = await fetch(`${this.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus } } } }' }),
        });
        const body = (await res.json()) as { data?: { workspaceOrError?: { locationEntries?: { name: string; loadStatus: string }[] } } };
        if (body.data?.workspaceOrError?.locationEntries?.some((l) => l.name === 'datalinx' && l.loadStatus === 'LOADED')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error(`Dagster did not load the datalinx code location in ${timeoutMs} ms:\n${this.logs()}`);
      await sleep(500);
    }
  }

  logs(): string {
    return ['webserver', 'daemon']
      .map((n) => {
        try {
          return `--- ${n} ---\n${readFileSync(path.join(this.dataDir, `${n}.log`), 'utf8')
            .split('\n')
            .slice(-40)
            .join('\n')}`;
        } catch {
          return `--- ${n}: no log`;
        }
      })
      .join('\n');
  }

  /** Stops both process groups (SIGTERM, then SIGKILL after 15 s) and removes the data directory. */
  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        try {
          process.kill(-p.pid, 'SIGTERM');
        } catch {
          return;
        }
        const timer = setTimeout(() => {
          try {
            process.kill(-p.pid!, 'SIGKILL');
          } catch {
            // gone
          }
        }, 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.procs = [];
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
