import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { Client } from 'pg';
import { SYNC_CONNECTION, WarehousePlatform, type DispatchPayload } from './support/warehouse-platform';

/**
 * The workers' outbound network policy end to end: connections created, tested, discovered and
 * synced through the gateway, run by real worker processes (workers/dist) with their own
 * CONNECTION_ALLOWED_NETWORKS and DLX_PLATFORM_ENDPOINTS, against the real PostgreSQL.
 *
 * - Workspace A — loopback allowed (what the test harness gives every worker), NATS refused (checked
 *   first: nothing is sent to a private address by a worker without the policy). Its connections to
 *   the test server are discovered, then pointed elsewhere with updateConnection. An unknown host is
 *   HOST_NOT_FOUND with one message from testConnection, discoverConnection and syncConnection; a
 *   private or link-local destination is DESTINATION_NOT_ALLOWED from each, refused at the first step
 *   (the steps that would send a packet never run).
 * - Workspace B — loopback allowed, the test server listed in DLX_PLATFORM_ENDPOINTS: the platform's
 *   own database is refused before any connection, by address or by `localhost`.
 * - Workspace C — nothing allowed: 127.0.0.1 and `localhost` (resolved, then checked) are refused;
 *   a local listener sees no connection from it, while A's worker reaches the same listener.
 */
describe('outbound network policy: connection tests, discovery and sync through the gateway', () => {
  const env = new WarehousePlatform({ name: 'netpolicy', orgName: 'Network policy' });
  const { suffix, gql, waitFor } = env;
  const server = new URL(process.env.DATABASE_URL!);
  const serverEndpoint = `${server.hostname}:${server.port || 5432}`;
  let source: TestDatabase;
  let listener: net.Server;
  let listenerPort = 0;
  /** Connections the listener accepted: what a refused destination must never see. */
  let accepted = 0;
  const ws: Record<'A' | 'B' | 'C', string> = {} as never;

  type RunView = { state: string; error: { code: string; message: string } | null; steps: Array<{ name: string; status: string; message: string }> };

  async function runOf(runId: string): Promise<RunView> {
    return waitFor(
      `run ${runId} to finish`,
      async () => {
        const r = await gql<{ run: RunView | null }>(`query($id: ID!){ run(id: $id) { state error { code message } steps { name status message } } }`, {
          id: runId,
        });
        const run = r.body.data?.run;
        return run && ['SUCCESS', 'FAILURE', 'CANCELED'].includes(run.state) ? run : undefined;
      },
      90000,
    );
  }

  /** A POSTGRES SOURCE connection of the workspace to host:port (a database of the test server, as its user, with its password: the embedded server of npm test checks it). */
  async function connection(workspaceId: string, name: string, host: string, port = Number(server.port || 5432)): Promise<string> {
    const res = await gql<{ createConnection: { connection: { id: string }; errors: unknown[] } }>(
      `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code field message } } }`,
      {
        i: {
          workspaceId,
          name,
          kind: 'SOURCE',
          type: 'POSTGRES',
          postgres: { host, port, database: new URL(source.url).pathname.slice(1), user: server.username || 'postgres' },
          secrets: { password: decodeURIComponent(new URL(source.url).password) || 'trust-ignores-this-password' },
        },
      },
    );
    expect(res.body.data?.createConnection.errors).toEqual([]);
    return res.body.data!.createConnection.connection.id;
  }

  async function pointAt(connectionId: string, host: string): Promise<void> {
    const res = await gql<{ updateConnection: { errors: unknown[] } }>(
      `mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { errors { code field message } } }`,
      {
        id: connectionId,
        i: { postgres: { host, port: Number(server.port || 5432), database: new URL(source.url).pathname.slice(1), user: server.username || 'postgres' } },
      },
    );
    expect(res.body.data?.updateConnection.errors).toEqual([]);
  }

  async function testConnection(connectionId: string): Promise<RunView> {
    const res = await gql<{ testConnection: { runId: string | null; errors: unknown[] } }>(
      `mutation($id: ID!){ testConnection(id: $id) { runId errors { code field message } } }`,
      { id: connectionId },
    );
    expect(res.body.data?.testConnection.errors).toEqual([]);
    return runOf(res.body.data!.testConnection.runId!);
  }

  async function discover(connectionId: string): Promise<RunView> {
    const res = await gql<{ discoverConnection: DispatchPayload }>(
      `mutation($id: ID!){ discoverConnection(id: $id) { runId errors { code field message } } }`,
      { id: connectionId },
    );
    expect(res.body.data?.discoverConnection.errors).toEqual([]);
    return runOf(res.body.data!.discoverConnection.runId!);
  }

  async function sync(connectionId: string): Promise<RunView> {
    const res = await gql<{ syncConnection: DispatchPayload }>(SYNC_CONNECTION, {
      i: { connectionId, tables: [{ schema: 'public', name: 'customer', mode: 'FULL' }] },
    });
    expect(res.body.data?.syncConnection.errors).toEqual([]);
    return runOf(res.body.data!.syncConnection.runId!);
  }

  const refusedAtFirstStep = (run: RunView) => [run.state, run.error?.code, run.steps.map((s) => [s.name, s.status])];

  beforeAll(async () => {
    listener = net.createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    listenerPort = (listener.address() as AddressInfo).port;

    await env.start();
    source = await createTestDatabase();
    const src = new Client({ connectionString: source.url });
    await src.connect();
    await src.query(`CREATE TABLE customer (id int PRIMARY KEY, email text)`);
    await src.query(`INSERT INTO customer SELECT i, 'c' || i || '@example.org' FROM generate_series(1, 5) i`);
    await src.end();

    ws.A = (await env.createWorkspace('netpolicy-a')).id;
    ws.B = (await env.createWorkspace('netpolicy-b')).id;
    ws.C = (await env.createWorkspace('netpolicy-c')).id;
    const knobs = { JOB_ACK_WAIT_MS: '5000', JOB_BACKOFF_BASE_MS: '200' };
    env.startWorker(ws.A, { durable: `netpol-a-${suffix}`, domains: ['connection', 'source', 'warehouse'], env: knobs });
    env.startWorker(ws.B, {
      durable: `netpol-b-${suffix}`,
      domains: ['connection', 'source'],
      env: { ...knobs, WAREHOUSE_ADMIN_URL: undefined, DLX_PLATFORM_ENDPOINTS: serverEndpoint },
    });
    env.startWorker(ws.C, {
      durable: `netpol-c-${suffix}`,
      domains: ['connection', 'source'],
      env: { ...knobs, WAREHOUSE_ADMIN_URL: undefined, CONNECTION_ALLOWED_NETWORKS: '' },
    });
    expect(await env.warehouseProvisioned(ws.A, 'A')).toEqual({ status: 'READY', last_error: null });

    // Guard: nothing below may send a packet to a private or link-local address, so first make sure
    // A's worker enforces a policy at all (it must refuse NATS, a platform endpoint on loopback); a
    // worker built before the policy existed would try to connect.
    const nats = new URL(process.env.NATS_URL!);
    const guard = await testConnection(await connection(ws.A, 'guard-nats', nats.hostname, Number(nats.port || 4222)));
    if (guard.error?.code !== 'DESTINATION_NOT_ALLOWED')
      throw new Error(`the worker does not enforce the network policy (stale workers/dist? run npx tsc -b workers): ${JSON.stringify(guard)}`);
  }, 180000);

  afterAll(async () => {
    await env.stopWorkers();
    if (env.p) for (const id of [ws.B, ws.C]) if (id) await env.purgeJobsOf(id);
    await source?.drop();
    await env.stop();
    await new Promise((r) => listener?.close(r));
  }, 60000);

  it('an unknown host is HOST_NOT_FOUND, with the same message, from testConnection, discoverConnection and syncConnection', async () => {
    const id = await connection(ws.A, 'moved-away', server.hostname);
    await env.discover(id);
    await pointAt(id, `nohost-${suffix}.invalid`);

    const tested = await testConnection(id);
    expect(refusedAtFirstStep(tested)).toEqual(['FAILURE', 'HOST_NOT_FOUND', [['host resolved', 'FAILURE']]]);
    expect(tested.error!.message).toMatch(new RegExp(`^Could not resolve host "nohost-${suffix}\\.invalid" \\(ENOTFOUND\\)\\. Check the host name`));
    const discovered = await discover(id);
    const synced = await sync(id);
    expect([discovered.error, synced.error]).toEqual([tested.error, tested.error]);
  }, 180000);

  it('private and link-local destinations are DESTINATION_NOT_ALLOWED from the first step of a test, from discovery and from sync', async () => {
    const id = await connection(ws.A, 'to-private', server.hostname);
    await env.discover(id);
    await pointAt(id, '10.1.2.3');
    const synced = await sync(id);
    expect(synced.error).toEqual({
      code: 'DESTINATION_NOT_ALLOWED',
      message: '10.1.2.3 is a private network address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=10.0.0.0/8.',
    });
    const tested = await testConnection(id);
    expect(refusedAtFirstStep(tested)).toEqual(['FAILURE', 'DESTINATION_NOT_ALLOWED', [['host resolved', 'FAILURE']]]);
    expect(tested.error).toEqual(synced.error);

    const metadata = await connection(ws.A, 'to-metadata', '169.254.169.254', 80);
    const metaTest = await testConnection(metadata);
    expect(refusedAtFirstStep(metaTest)).toEqual(['FAILURE', 'DESTINATION_NOT_ALLOWED', [['host resolved', 'FAILURE']]]);
    expect(metaTest.error!.message).toBe(
      '169.254.169.254 is a cloud metadata address, which connections can never reach. Point the connection at your own server.',
    );
    const metaDiscovery = await discover(metadata);
    expect([metaDiscovery.state, metaDiscovery.error]).toEqual(['FAILURE', metaTest.error]);
  }, 180000);

  it("the platform's own database is refused before any connection, by address and by name, even where loopback is allowed", async () => {
    for (const host of [server.hostname, 'localhost']) {
      const run = await testConnection(await connection(ws.B, `platform-db-${host}`, host));
      expect(refusedAtFirstStep(run)).toEqual(['FAILURE', 'DESTINATION_NOT_ALLOWED', [['host resolved', 'FAILURE']]]);
      expect(run.error!.message).toMatch(
        new RegExp(`is one of the platform's own endpoints \\(${serverEndpoint.replace(/\./g, '\\.')}\\), which connections can never reach`),
      );
    }
    const discovered = await discover(await connection(ws.B, 'platform-db-discovery', server.hostname));
    expect(discovered.error?.code).toBe('DESTINATION_NOT_ALLOWED');
  }, 180000);

  it('a worker without loopback allowed refuses 127.0.0.1 and localhost (resolved, then checked); the listener sees no connection', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const run = await testConnection(await connection(ws.C, `loopback-${host}`, host, listenerPort));
      expect(refusedAtFirstStep(run)).toEqual(['FAILURE', 'DESTINATION_NOT_ALLOWED', [['host resolved', 'FAILURE']]]);
      expect(run.error!.message).toMatch(
        /^(localhost \()?127\.0\.0\.1\)? is a loopback address; an operator can allow it with CONNECTION_ALLOWED_NETWORKS=127\.0\.0\.0\/8\.$/,
      );
    }
    expect(accepted).toBe(0);

    // Control: a worker with loopback allowed reaches the same listener (its port step succeeds).
    const control = await testConnection(await connection(ws.A, 'loopback-control', '127.0.0.1', listenerPort));
    expect(control.steps.slice(0, 2).map((s) => [s.name, s.status])).toEqual([
      ['host resolved', 'SUCCESS'],
      ['port reachable', 'SUCCESS'],
    ]);
    expect(accepted).toBeGreaterThan(0);
  }, 180000);
});
