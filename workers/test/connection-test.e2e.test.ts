import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startPlatform, viewerHeader, type Platform } from '../../test/support/platform';
import { userViewer } from '../../test/support/viewers';
import { postGraphQL } from '../../test/support/http';
import { deleteWorkerConsumers } from '../../test/support/worker-consumers';
import { LOOPBACK_ALLOWED } from './support/worker-process';
import { CREATE_CONNECTION, postgresConnectionInput, type CreateConnectionResult } from '../../test/support/connections';

const WORKER = path.resolve(__dirname, '..', 'dist', 'index.js');

/**
 * connection.test end to end: GraphQL mutation → outbox → JOBS → the real worker process → RUNS →
 * monitoring (runs, steps) and workspace (connection status). Run against the real PostgreSQL.
 */
describe('connection.test through JetStream and the worker process', () => {
  let p: Platform;
  let orgId: string;
  let workspaceId: string;
  let admin: Record<string, string>;
  const workers: ChildProcess[] = [];
  const pg = new URL(process.env.DATABASE_URL!);

  const startWorker = (extra: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        NATS_URL: process.env.NATS_URL!,
        DLX_MASTER_KEY: p.masterKey,
        CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
        WORKER_DURABLE: `workers-${workspaceId.slice(0, 8)}`,
        WORKER_FILTER_SUBJECT: `jobs.*.*.${workspaceId}`, // jobs.<domain>.<verb>.<workspaceId>
        JOB_ACK_WAIT_MS: '2000',
        JOB_MAX_DELIVER: '5',
        JOB_BACKOFF_BASE_MS: '200',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...extra,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.push(child);
    return child;
  };

  /** SIGTERM every running worker and wait until each has drained and exited. */
  const stopWorkers = () =>
    Promise.all(
      workers
        .filter((w) => w.exitCode === null && w.signalCode === null)
        .map(
          (w) =>
            new Promise((r) => {
              w.once('exit', r);
              w.kill('SIGTERM');
            }),
        ),
    );

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) => postGraphQL<T>(p.gatewayUrl, query, variables, admin);

  async function createConnection(name: string, connectionString: string): Promise<string> {
    const res = await gql<CreateConnectionResult>(CREATE_CONNECTION, { i: postgresConnectionInput({ workspaceId, name, databaseUrl: connectionString }) });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.createConnection.errors).toEqual([]);
    return res.body.data!.createConnection.connection!.id;
  }

  async function testConnection(id: string): Promise<string> {
    const res = await gql<{ testConnection: { runId: string; errors: unknown[] } }>(`mutation($id: ID!){ testConnection(id: $id) { runId errors { code } } }`, {
      id,
    });
    expect(res.body.data?.testConnection.errors).toEqual([]);
    return res.body.data!.testConnection.runId;
  }

  type RunView = {
    state: string;
    attempts: number;
    error: { code: string; message: string } | null;
    steps: Array<{ name: string; status: string; message: string; attempt: number }>;
  };
  type ConnView = { status: string; lastError: string | null; lastTestRun: RunView | null };

  async function connectionView(id: string): Promise<ConnView> {
    const res = await gql<{ connection: ConnView }>(
      `query($id: ID!){ connection(id: $id) { status lastError lastTestRun { state attempts error { code message } steps { name status message attempt } } } }`,
      { id },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.connection;
  }

  async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  const finished = (id: string) =>
    waitFor(`connection ${id} to finish testing`, async () => {
      const c = await connectionView(id);
      return c.status !== 'TESTING' && c.lastTestRun && ['SUCCESS', 'FAILURE'].includes(c.lastTestRun.state) ? c : undefined;
    });

  beforeAll(async () => {
    p = await startPlatform();
    [{ id: orgId }] = await p.sources.auth.query(`INSERT INTO auth.organization (slug, name, region, time_zone) VALUES ($1,'Acme','eu','UTC') RETURNING id`, [
      `acme-${randomUUID().slice(0, 6)}`,
    ]);
    admin = viewerHeader(userViewer({ orgId, orgRole: 'ADMIN' }));
    const ws = await gql<{ createWorkspace: { workspace: { id: string } } }>(
      `mutation { createWorkspace(input: { name: "Ops", slug: "ops" }) { workspace { id } } }`,
    );
    workspaceId = ws.body.data!.createWorkspace.workspace.id;
  }, 120000);

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    if (p) await deleteWorkerConsumers(p.nats.jsm, `workers-${workspaceId.slice(0, 8)}`);
    await p?.stop();
  });

  it('reports every step of a healthy connection and marks it HEALTHY; the secret is never returned', async () => {
    const worker = startWorker();
    // The password is the connection's secret (a server with trust auth ignores it).
    const withPassword = new URL(pg.toString());
    if (!withPassword.password) withPassword.password = 'trust-ignores-this-password';
    const id = await createConnection('warehouse', withPassword.toString());
    const runId = await testConnection(id);
    const c = await finished(id);
    expect(c.status).toBe('HEALTHY');
    expect(c.lastTestRun?.state).toBe('SUCCESS');
    expect(c.lastTestRun?.steps.map((s) => [s.name, s.status])).toEqual([
      ['host resolved', 'SUCCESS'],
      ['port reachable', 'SUCCESS'],
      ['authenticated', 'SUCCESS'],
      ['schema readable', 'SUCCESS'],
    ]);
    expect(c.lastTestRun?.steps[3]?.message).toMatch(/^\d+ tables? found$/);
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    // The stored secret is sealed (under the workspace's data key), never the password in clear.
    const [row] = await p.sources.workspace.query(`SELECT secret_sealed::text AS s, config::text AS c FROM workspace.connection WHERE id = $1`, [id]);
    expect(row.s).not.toContain(decodeURIComponent(withPassword.password));
    expect(row.c).not.toContain(decodeURIComponent(withPassword.password));
    expect(JSON.parse(row.s)).toMatchObject({ alg: 'A256GCM', kid: 'ws' });
    await stopWorkers();
    expect(worker.exitCode).toBe(0);
  }, 90000);

  it('says precisely why a connection fails: refused port, missing database', async () => {
    startWorker();
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const refused = await createConnection('refused', `postgres://postgres:x@127.0.0.1:${closed}/postgres`);
    const missingDb = new URL(pg.toString());
    missingDb.pathname = '/no_such_database_here';
    const nodb = await createConnection('nodb', missingDb.toString());
    await testConnection(refused);
    await testConnection(nodb);
    const r1 = await finished(refused);
    expect(r1.status).toBe('FAILING');
    expect(r1.lastTestRun?.error?.code).toBe('CONNECTION_REFUSED');
    expect(r1.lastTestRun?.steps.map((s) => s.status)).toEqual(['SUCCESS', 'FAILURE']);
    expect(r1.lastError).toMatch(/Nothing is listening/);
    const r2 = await finished(nodb);
    expect(r2.lastTestRun?.error?.code).toBe('DATABASE_NOT_FOUND');
    expect(r2.lastTestRun?.steps.map((s) => s.status)).toEqual(['SUCCESS', 'SUCCESS', 'FAILURE']);
    await stopWorkers();
  }, 90000);

  it('redelivers a job whose worker was SIGKILLed mid-test and records its result once', async () => {
    const proxy = await holdingProxy();
    const via = proxy.url;
    const id = await createConnection('flaky', via.toString());

    const first = startWorker();
    const runId = await testConnection(id);
    // Wait until the first attempt is inside the "authenticated" step (port reached).
    await waitFor('the first attempt to reach the port', async () => {
      const c = await connectionView(id);
      return c.lastTestRun?.steps.some((s) => s.name === 'port reachable' && s.status === 'SUCCESS') && proxy.held() > 0 ? true : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    proxy.release();

    startWorker();
    const c = await finished(id);
    expect(c.status).toBe('HEALTHY');
    expect(c.lastTestRun?.state).toBe('SUCCESS');
    expect(c.lastTestRun?.attempts).toBe(2);
    expect(c.lastTestRun?.steps.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['host resolved', 'SUCCESS', 2],
      ['port reachable', 'SUCCESS', 2],
      ['authenticated', 'SUCCESS', 2],
      ['schema readable', 'SUCCESS', 2],
    ]);
    // Recorded once: one run row, one row per step, one SUCCESS event on RUNS.
    const [{ n: runs }] = await p.sources.monitoring.query(`SELECT count(*)::int AS n FROM monitoring.run WHERE id = $1`, [runId]);
    const [{ n: steps }] = await p.sources.monitoring.query(`SELECT count(*)::int AS n FROM monitoring.run_step WHERE run_id = $1`, [runId]);
    expect([runs, steps]).toEqual([1, 4]);
    const info = await p.nats.jsm.streams.info('RUNS', { subjects_filter: `runs.${workspaceId}.${runId}` });
    const perSubject = (info.state as { subjects?: Record<string, number> }).subjects ?? {};
    // QUEUED + (STARTING, STARTED, 2 steps) of attempt 1 + (STARTING, STARTED, 4 steps, SUCCESS) of attempt 2
    expect(perSubject[`runs.${workspaceId}.${runId}`]).toBe(1 + 4 + 7);
    proxy.close();
    await stopWorkers();
  }, 120000);

  it('reports the run FAILED with the reason when a worker dies on the last delivery', async () => {
    // A second consumer on the same subjects must replace the first (JOBS is a work queue).
    await p.nats.jsm.consumers.delete('JOBS', `workers-${workspaceId.slice(0, 8)}`);
    const lastChance = { WORKER_DURABLE: `last-${workspaceId.slice(0, 8)}`, JOB_MAX_DELIVER: '1' };
    const proxy = await holdingProxy();
    const id = await createConnection('doomed', proxy.url.toString());
    const doomed = startWorker(lastChance);
    await testConnection(id);
    await waitFor('the only attempt to reach the port', async () => (proxy.held() > 0 ? true : undefined));
    const survivor = startWorker(lastChance); // hears the advisory; gets no job (none left to deliver)
    await new Promise((r) => setTimeout(r, 500));
    doomed.kill('SIGKILL');
    const c = await finished(id);
    expect(c.status).toBe('FAILING');
    expect(c.lastTestRun?.state).toBe('FAILURE');
    expect(c.lastTestRun?.error?.code).toBe('MAX_DELIVERIES');
    expect(c.lastError).toMatch(/delivered 1 time\(s\) and never finished/);
    expect(survivor.exitCode).toBeNull();
    proxy.close();
    await stopWorkers();
    await deleteWorkerConsumers(p.nats.jsm, lastChance.WORKER_DURABLE);
  }, 120000);
});

/**
 * A TCP proxy in front of the real PostgreSQL that holds every connection (the worker hangs in
 * "authenticated") until `release()`, then forwards normally.
 */
async function holdingProxy() {
  const pg = new URL(process.env.DATABASE_URL!);
  let hold = true;
  const held: net.Socket[] = [];
  const server = net.createServer((client) => {
    if (hold) {
      held.push(client);
      client.on('error', () => undefined);
      return;
    }
    const upstream = net.connect(Number(pg.port || 5432), pg.hostname);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = new URL(pg.toString());
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url,
    held: () => held.length,
    release: () => {
      hold = false;
      for (const s of held) s.destroy();
    },
    close: () => {
      for (const s of held) s.destroy();
      server.close();
    },
  };
}
