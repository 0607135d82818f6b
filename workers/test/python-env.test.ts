/**
 * The Python side of the data plane, checked through the real venv at DLX_VENV_DIR (default
 * `<repo>/.venv`, created by scripts/lib/python.mjs `ensurePythonVenv`): pinned packages, dbt
 * with the postgres plugin, the bundled dbt template project, and the Dagster code location
 * (validated, executed, served by dagster-webserver, and run against a PostgreSQL-backed
 * instance as in scaled-out mode). Every check spawns the venv's own executables, so a broken or
 * stale venv fails here. Needs DATABASE_URL (provided by `npm test`) for the PostgreSQL check.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { Client } from 'pg';

const repoRoot = path.resolve(__dirname, '..', '..');
const pythonDir = path.join(repoRoot, 'workers', 'python');
const templateDir = path.join(pythonDir, 'dbt_project_template');
const requirementsFile = path.join(pythonDir, 'requirements.txt');
const venvDir = path.resolve(process.env.DLX_VENV_DIR || path.join(repoRoot, '.venv'));
const binDir = path.join(venvDir, process.platform === 'win32' ? 'Scripts' : 'bin');
const bin = (name: string): string => path.join(binDir, name);

const SLOW_MS = 180_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for venv executables: no inherited Python overrides, venv first on PATH. */
function venvEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return {
    ...env,
    PATH: [binDir, env.PATH ?? ''].join(path.delimiter),
    VIRTUAL_ENV: venvDir,
    NO_COLOR: '1',
    DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    PYTHONUNBUFFERED: '1',
    ...extra,
  };
}

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd ?? repoRoot,
        env: options.env ?? venvEnv(),
        timeout: options.timeoutMs ?? 150_000,
        maxBuffer: 32 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (err && typeof err.code === 'string') {
          reject(new Error(`${file} could not start (${err.code}): ${err.message}`));
          return;
        }
        resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** `name==version` lines of requirements.txt, names normalised as pip does (PEP 503). */
async function readPins(): Promise<Map<string, string>> {
  const pins = new Map<string, string>();
  for (const raw of (await readFile(requirementsFile, 'utf8')).split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9._-]+)==([^\s;]+)$/.exec(line);
    if (!m) throw new Error(`requirements.txt line is not an exact pin: ${raw}`);
    pins.set(normalise(m[1]), m[2]);
  }
  return pins;
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Runs `fn(m)` on scripts/lib/python.mjs in a Node process (plain ESM, as the runner loads it). */
async function callPythonMjs<T>(body: string): Promise<T> {
  const script =
    `import(${JSON.stringify(path.join(repoRoot, 'scripts', 'lib', 'python.mjs'))})` +
    `.then((m) => { const out = (${body})(m); process.stdout.write(JSON.stringify(out)); })`;
  const res = await run(process.execPath, ['-e', script], { env: process.env });
  if (res.code !== 0) throw new Error(`python.mjs call failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

let pins: Map<string, string>;
let tmpRoot: string;

beforeAll(async () => {
  if (!existsSync(bin('python'))) {
    throw new Error(
      `no Python venv at ${venvDir}: create it with ` +
        `node -e "import('./scripts/lib/python.mjs').then(m => m.ensurePythonVenv({ repoRoot: '.', venvDir: '${venvDir}' }))"`,
    );
  }
  pins = await readPins();
  tmpRoot = await mkdtemp(path.join(os.tmpdir(), 'dlx-python-env-'));
});

afterAll(async () => {
  if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
});

/** A fresh DAGSTER_HOME with the embedded-mode instance template, and a data dir beside it. */
async function dagsterDirs(name: string): Promise<{ dagsterHome: string; dataDir: string }> {
  const dataDir = path.join(tmpRoot, name);
  const dagsterHome = path.join(dataDir, 'dagster');
  await mkdir(dagsterHome, { recursive: true });
  await copyFile(path.join(pythonDir, 'dagster.yaml'), path.join(dagsterHome, 'dagster.yaml'));
  return { dagsterHome, dataDir };
}

describe('python venv', () => {
  it(
    'pins every package exactly and the venv holds those versions',
    async () => {
      expect(pins.get('dbt-core')).toMatch(/^1\.10\./);
      expect(pins.get('dbt-postgres')).toMatch(/^1\.9\./);
      for (const name of ['dagster', 'dagster-webserver', 'dagster-postgres', 'dagster-dbt']) {
        expect(pins.has(name)).toBe(true);
      }

      const freeze = await run(bin('python'), ['-m', 'pip', 'freeze', '--all']);
      expect(freeze.code).toBe(0);
      const installed = new Map<string, string>();
      for (const line of freeze.stdout.split('\n')) {
        const m = /^([A-Za-z0-9._-]+)==(\S+)$/.exec(line.trim());
        if (m) installed.set(normalise(m[1]), m[2]);
      }
      const mismatches = [...pins]
        .filter(([name, version]) => installed.get(name) !== version)
        .map(([name, version]) => `${name}: pinned ${version}, installed ${installed.get(name) ?? 'none'}`);
      expect(mismatches).toEqual([]);
    },
    SLOW_MS,
  );

  it('records the installed requirements in the setup stamp', async () => {
    const stamp = JSON.parse(await readFile(path.join(venvDir, '.datalinx-requirements.json'), 'utf8')) as { requirementsSha256: string };
    const sha = createHash('sha256')
      .update(await readFile(requirementsFile))
      .digest('hex');
    expect(stamp.requirementsSha256).toBe(sha);
  });

  it(
    'dbt --version reports the pinned dbt-core and the postgres plugin',
    async () => {
      const res = await run(bin('dbt'), ['--version']);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`installed:\\s+${pins.get('dbt-core')!.replace(/\./g, '\\.')}\\b`));
      expect(res.stdout).toMatch(new RegExp(`postgres:\\s+${pins.get('dbt-postgres')!.replace(/\./g, '\\.')}\\b`));
    },
    SLOW_MS,
  );

  it(
    'dbt parse accepts the template project',
    async () => {
      const out = path.join(tmpRoot, 'dbt-parse');
      const res = await run(
        bin('dbt'),
        ['parse', '--project-dir', templateDir, '--profiles-dir', templateDir, '--target-path', path.join(out, 'target'), '--log-path', path.join(out, 'logs')],
        { env: venvEnv({ DBT_PG_SCHEMA: 'dlx_python_env_test' }) },
      );
      expect({ code: res.code, output: res.code === 0 ? '' : res.stdout + res.stderr }).toEqual({ code: 0, output: '' });

      const manifest = JSON.parse(await readFile(path.join(out, 'target', 'manifest.json'), 'utf8')) as {
        nodes: Record<string, { resource_type: string; schema: string }>;
      };
      const model = manifest.nodes['model.datalinx_template.dlx_example_contacts'];
      expect(model).toBeDefined();
      expect(model.schema).toBe('dlx_python_env_test');
      const tests = Object.values(manifest.nodes).filter((n) => n.resource_type === 'test');
      expect(tests).toHaveLength(3);
    },
    SLOW_MS,
  );
});

describe('dagster code location', () => {
  it(
    'passes `dagster definitions validate` for workspace.yaml',
    async () => {
      const { dagsterHome, dataDir } = await dagsterDirs('validate');
      const res = await run(bin('dagster'), ['definitions', 'validate', '-w', 'workspace.yaml'], {
        cwd: pythonDir,
        env: venvEnv({ DAGSTER_HOME: dagsterHome, DLX_DATA_DIR: dataDir }),
      });
      const output = res.stdout + res.stderr;
      expect({ code: res.code, output: res.code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
      expect(output).toContain('Validation successful for code location datalinx');
    },
    SLOW_MS,
  );

  it(
    'fails validation for a module that does not load (the check is not vacuous)',
    async () => {
      const { dagsterHome, dataDir } = await dagsterDirs('validate-missing');
      const res = await run(bin('dagster'), ['definitions', 'validate', '-m', 'datalinx_dagster.no_such_module', '-d', '.'], {
        cwd: pythonDir,
        env: venvEnv({ DAGSTER_HOME: dagsterHome, DLX_DATA_DIR: dataDir }),
      });
      expect(res.code).not.toBe(0);
      expect(res.stdout + res.stderr).toContain('no_such_module');
    },
    SLOW_MS,
  );

  it(
    'executes the dbt_check job: dbt --version, then dbt parse via dagster-dbt',
    async () => {
      const { dagsterHome, dataDir } = await dagsterDirs('execute');
      const res = await run(bin('dagster'), ['job', 'execute', '-m', 'datalinx_dagster.definitions', '-d', '.', '-j', 'dbt_check'], {
        cwd: pythonDir,
        env: venvEnv({ DAGSTER_HOME: dagsterHome, DLX_DATA_DIR: dataDir }),
      });
      const output = res.stdout + res.stderr;
      expect({ code: res.code, output: res.code === 0 ? '' : output.slice(-6000) }).toEqual({ code: 0, output: '' });
      expect(output).toContain('RUN_SUCCESS');
      expect(output).toContain(`dbt-core ${pins.get('dbt-core')}`);

      // dbt's artifacts land under DLX_DATA_DIR, not in the committed template project.
      const targets = await readdir(path.join(dataDir, 'dbt', 'target'));
      expect(targets).toHaveLength(1);
      expect(existsSync(path.join(dataDir, 'dbt', 'target', targets[0], 'manifest.json'))).toBe(true);
    },
    SLOW_MS,
  );

  it(
    'is served by dagster-webserver started with dagsterWebserverCommand',
    async () => {
      const dataDir = path.join(tmpRoot, 'webserver');
      const port = await freePort();
      const command = await callPythonMjs<{ cmd: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string }>(
        `(m) => m.dagsterWebserverCommand({ repoRoot: ${JSON.stringify(repoRoot)}, venvDir: ${JSON.stringify(venvDir)}, ` +
          `dataDir: ${JSON.stringify(dataDir)}, port: ${port}, env: {} })`,
      );
      expect(command.cmd).toBe(bin('dagster-webserver'));
      expect(command.env.DAGSTER_HOME).toBe(path.join(dataDir, 'dagster'));
      expect(await readFile(path.join(dataDir, 'dagster', 'dagster.yaml'), 'utf8')).toContain('QueuedRunCoordinator');

      let child: ChildProcess | undefined;
      let log = '';
      try {
        child = spawn(command.cmd, command.args, { cwd: command.cwd, env: command.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
        const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

        const query =
          '{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename ... on RepositoryLocation { repositories { jobs { name } } } ... on PythonError { message } } } } } }';
        type Entry = {
          name: string;
          loadStatus: string;
          locationOrLoadError: { __typename: string; message?: string; repositories?: { jobs: { name: string }[] }[] } | null;
        };
        let entry: Entry | undefined;
        // Poll until the code location has loaded, the server died, or 150 attempts (~2.5 min) passed.
        for (let attempt = 0; attempt < 150 && !(entry && entry.loadStatus === 'LOADED'); attempt++) {
          const stop = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]);
          if (stop) break;
          try {
            const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ query }),
            });
            if (!res.ok) continue;
            const body = (await res.json()) as { data?: { workspaceOrError?: { locationEntries?: Entry[] } } };
            entry = body.data?.workspaceOrError?.locationEntries?.find((e) => e.name === 'datalinx');
          } catch {
            // not listening yet
          }
        }
        expect({ loadStatus: entry?.loadStatus, log: entry?.loadStatus === 'LOADED' ? '' : log.slice(-4000) }).toEqual({ loadStatus: 'LOADED', log: '' });
        expect(entry!.locationOrLoadError?.__typename).toBe('RepositoryLocation');
        const jobs = entry!.locationOrLoadError!.repositories!.flatMap((r) => r.jobs.map((j) => j.name));
        expect(jobs).toContain('dbt_check');
      } finally {
        if (child?.pid && child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((resolve) => child!.once('exit', resolve));
          process.kill(-child.pid, 'SIGTERM');
          const killTimer = setTimeout(() => {
            try {
              process.kill(-child!.pid!, 'SIGKILL');
            } catch {
              // already gone
            }
          }, 15_000);
          await gone;
          clearTimeout(killTimer);
        }
      }
    },
    SLOW_MS,
  );

  describe('scaled-out instance (dagster-postgres)', () => {
    let db: TestDatabase | undefined;

    afterAll(async () => {
      await db?.drop();
    });

    it(
      'stores a run of dbt_check in PostgreSQL when DAGSTER_PG_URL is set',
      async () => {
        db = await createTestDatabase();
        const dataDir = path.join(tmpRoot, 'scaled-out');
        const prepared = await callPythonMjs<{ env: NodeJS.ProcessEnv; mode: string }>(
          `(m) => { const env = m.dagsterEnv({ venvDir: ${JSON.stringify(venvDir)}, dataDir: ${JSON.stringify(dataDir)}, ` +
            `env: { DAGSTER_PG_URL: ${JSON.stringify(db.url)}, NO_COLOR: '1' } });` +
            ` return { env, mode: m.writeDagsterInstanceConfig({ repoRoot: ${JSON.stringify(repoRoot)}, dataDir: ${JSON.stringify(dataDir)}, env }).mode }; }`,
        );
        expect(prepared.mode).toBe('postgres');
        expect(prepared.env.DAGSTER_PG_URL).toMatch(/^postgresql:\/\//);

        const res = await run(bin('dagster'), ['job', 'execute', '-m', 'datalinx_dagster.definitions', '-d', '.', '-j', 'dbt_check'], {
          cwd: pythonDir,
          env: prepared.env,
        });
        const output = res.stdout + res.stderr;
        expect({ code: res.code, output: res.code === 0 ? '' : output.slice(-6000) }).toEqual({ code: 0, output: '' });

        const client = new Client({ connectionString: db.url });
        await client.connect();
        try {
          const runs = await client.query<{ pipeline_name: string; status: string }>('SELECT pipeline_name, status FROM runs');
          expect(runs.rows).toEqual([{ pipeline_name: 'dbt_check', status: 'SUCCESS' }]);
        } finally {
          await client.end();
        }
        // Nothing of the run went to SQLite under DAGSTER_HOME.
        expect(existsSync(path.join(dataDir, 'dagster', 'history', 'runs.db'))).toBe(false);
      },
      SLOW_MS,
    );
  });
});
