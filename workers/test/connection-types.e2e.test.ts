import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import mysql from 'mysql2/promise';
import { parseKey, seal } from '@datalinx/common';
import type { ConnectionConfig, ConnectionSecrets, JobKind } from '@datalinx/contracts';
import { connectNats, ensureStreams, type Nats } from '@datalinx/messaging';
import { jobEnvelope, publishJob } from './support/jobs';
import { RunEvents } from './support/run-events';
import { MYSQL, mysqlReachable, mysqlSourceSecrets, storeFile } from './support/sources';
import { startWorker, stopWorker } from './support/worker-process';

/**
 * Decided before the suite is declared: jest run without MYSQL_URL skips the MySQL cases visibly
 * (jest lists them as skipped) instead of passing them vacuously; `npm test` always sets it.
 */
const MYSQL_UP = mysqlReachable('the MySQL connection.test cases');

/**
 * Whether the PostgreSQL server checks passwords for TCP logins (the embedded server `npm test`
 * starts does; a development server with `trust` auth accepts any). Decided before the suite is
 * declared, like MYSQL_UP: with trust auth the wrong-password case is listed as skipped.
 */
const PG_CHECKS_PASSWORDS = (() => {
  const script = `
    const { Client } = require('pg');
    (async () => {
      const u = new URL(process.env.DATABASE_URL);
      const admin = new Client({ connectionString: u.toString() });
      await admin.connect();
      const role = 'dlx_pwprobe_' + process.pid;
      await admin.query('DROP ROLE IF EXISTS ' + role);
      await admin.query("CREATE ROLE " + role + " LOGIN PASSWORD 'right-pw-1'");
      let code = 1;
      // DATABASE_URL with the probe's credentials: its TLS settings stay (the server npm test starts accepts TLS only).
      const w = new URL(u.toString());
      w.username = role;
      w.password = 'wrong-pw-1';
      w.pathname = '/postgres';
      const c = new Client({ connectionString: w.toString() });
      try { await c.connect(); await c.end(); } catch (e) { code = e.code === '28P01' ? 0 : 1; }
      await admin.query('DROP ROLE ' + role);
      await admin.end();
      process.exit(code);
    })().catch(() => process.exit(1));`;
  const probe = spawnSync(process.execPath, ['-e', script], { cwd: path.resolve(__dirname, '..'), timeout: 15000, env: process.env });
  if (probe.status !== 0) process.stderr.write('The PostgreSQL server accepts any password here (trust auth): skipping the PostgreSQL wrong-password case.\n');
  return probe.status === 0;
})();

type Step = [name: string, status: string];
interface RunResult {
  state: string;
  error?: { code: string; message: string };
  steps: Step[];
  messages: string[];
}

/**
 * connection.test (v2) for every connection type, through the real worker process and JetStream:
 * jobs are published on JOBS exactly as the workspace service does (secrets sealed with the
 * job id as additional data), and the run's events are read back from RUNS. Real PostgreSQL,
 * real MariaDB, real files in file storage, a real HTTP server.
 */
describe('connection.test v2 for every connection type (worker process, JetStream)', () => {
  const workspaceId = randomUUID();
  const orgId = randomUUID();
  const masterKey = randomBytes(32).toString('base64');
  const storage = mkdtempSync(path.join(os.tmpdir(), 'dlx-files-'));
  const durable = `conn-types-${workspaceId.slice(0, 8)}`;
  const scope = { orgId, workspaceId };
  let nats: Nats;
  let worker: ChildProcess;
  let runs: RunEvents;

  beforeAll(async () => {
    nats = await connectNats(process.env.NATS_URL!, 'connection-types-test');
    await ensureStreams(nats.jsm);
    // Core subscription: sees every event the worker publishes on RUNS for this workspace.
    runs = new RunEvents(nats, workspaceId, { timeoutMs: 45000, settleMs: 0 });
    // One worker for every domain of this workspace (jobs.*.*.<workspaceId>).
    worker = startWorker({
      DLX_MASTER_KEY: masterKey,
      WORKER_DURABLE: durable,
      WORKER_FILTER_SUBJECT: `jobs.*.*.${workspaceId}`,
      WORKER_CONCURRENCY: '6',
      JOB_ACK_WAIT_MS: '5000',
      DLX_FILE_STORAGE_DIR: storage,
      FILE_MAX_BYTES: String(10 * 1024 * 1024),
    });
  }, 30000);

  afterAll(async () => {
    if (worker) await stopWorker(worker);
    runs?.close();
    await nats?.jsm.consumers.delete('JOBS', durable).catch(() => undefined);
    await nats?.close();
    rmSync(storage, { recursive: true, force: true });
  }, 30000);

  /** Publishes a v2 job the way the workspace service does and waits for the run to finish. */
  async function run(config: ConnectionConfig, secrets: ConnectionSecrets | null, o: { timeoutMs?: number; aad?: string } = {}): Promise<RunResult> {
    const jobId = randomUUID();
    const job = jobEnvelope(scope, {
      kind: 'connection.test',
      v: 2,
      jobId,
      payload: {
        connectionId: randomUUID(),
        config,
        secrets: secrets ? seal(parseKey(masterKey), JSON.stringify(secrets), o.aad ?? `job:${jobId}`) : null,
        timeoutMs: o.timeoutMs ?? 5000,
      },
    });
    await publishJob(nats, job);
    return finished(job.runId);
  }

  /** The run's end with its steps as [name, status] and their messages, in order. */
  async function finished(runId: string): Promise<RunResult> {
    const r = await runs.finished(runId);
    return { state: r.state, error: r.error, steps: r.steps.map((s) => [s.step, s.status]), messages: r.steps.map((s) => s.message) };
  }

  const closedPort = () =>
    new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });

  const DB_STEPS = ['host resolved', 'port reachable', 'authenticated', 'schema readable'];
  const steps = (names: string[], statuses: string[]): Step[] => statuses.map((s, i) => [names[i], s]);

  describe('POSTGRES', () => {
    const pgUrl = new URL(process.env.DATABASE_URL!);
    const pg = {
      type: 'POSTGRES' as const,
      host: pgUrl.hostname,
      port: Number(pgUrl.port || 5432),
      database: 'postgres',
      user: decodeURIComponent(pgUrl.username) || 'postgres',
      sslMode: 'prefer' as const,
    };
    const password = pgUrl.password ? { password: decodeURIComponent(pgUrl.password) } : null;

    it('right credentials: every step succeeds and the tables are counted (TLS preferred, clear text when the server has none)', async () => {
      const admin = new Client({ connectionString: pgUrl.toString() });
      await admin.connect();
      const [{ ssl }] = (await admin.query('SHOW ssl')).rows;
      const [{ n }] = (
        await admin.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_type IN ('BASE TABLE','VIEW')`)
      ).rows;
      await admin.end();
      const [all, inSchema] = await Promise.all([run({ ...pg, sslMode: 'prefer' }, password), run({ ...pg, schema: 'public' }, password)]);
      expect(all.state).toBe('SUCCESS');
      expect(all.steps).toEqual(steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']));
      expect(all.messages[2]).toMatch(ssl === 'on' ? /, TLS\)$/ : /unencrypted \(the server offers no TLS\)/);
      expect(all.messages[3]).toMatch(/^\d+ tables? found$/);
      expect(inSchema.state).toBe('SUCCESS');
      expect(inSchema.messages[3]).toBe(`${n} table${n === 1 ? '' : 's'} found`);
    });

    it('says precisely why a test fails: closed port, missing database, unknown host, missing schema', async () => {
      const port = await closedPort();
      const [refused, nodb, nohost, noschema] = await Promise.all([
        run({ ...pg, port }, password),
        run({ ...pg, database: `no_such_db_${randomBytes(3).toString('hex')}` }, password),
        run({ ...pg, host: 'nonexistent.invalid' }, password),
        run({ ...pg, schema: 'no_such_schema_here' }, password),
      ]);
      expect([refused.state, refused.error?.code, refused.steps]).toEqual(['FAILURE', 'CONNECTION_REFUSED', steps(DB_STEPS, ['SUCCESS', 'FAILURE'])]);
      expect(refused.error?.message).toMatch(/Nothing is listening on 127\.0\.0\.1:\d+ .*Check the port/);
      expect([nodb.error?.code, nodb.steps]).toEqual(['DATABASE_NOT_FOUND', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect([nohost.error?.code, nohost.steps]).toEqual(['HOST_NOT_FOUND', steps(DB_STEPS, ['FAILURE'])]);
      expect(nohost.error?.message).toMatch(/nonexistent\.invalid.*Check the host name/);
      expect([noschema.error?.code, noschema.steps]).toEqual(['SCHEMA_NOT_FOUND', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE'])]);
    });

    (PG_CHECKS_PASSWORDS ? it : it.skip)('wrong password: WRONG_PASSWORD at the authenticated step', async () => {
      const role = `dlx_test_${randomBytes(4).toString('hex')}`;
      const admin = new Client({ connectionString: pgUrl.toString() });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'the-right-one-7'`);
        const [right, wrong] = await Promise.all([
          run({ ...pg, user: role }, { password: 'the-right-one-7' }),
          run({ ...pg, user: role }, { password: 'not-the-right-one' }),
        ]);
        expect(right.state).toBe('SUCCESS');
        expect([wrong.state, wrong.error?.code, wrong.steps]).toEqual(['FAILURE', 'WRONG_PASSWORD', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
        expect(wrong.error?.message).toMatch(/Check the user name and password/);
      } finally {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });

    it('sslMode=require against the server: TLS_UNAVAILABLE when it has no TLS', async () => {
      const admin = new Client({ connectionString: pgUrl.toString() });
      await admin.connect();
      const [{ ssl }] = (await admin.query('SHOW ssl')).rows;
      await admin.end();
      const r = await run({ ...pg, sslMode: 'require' }, password);
      if (ssl === 'on') {
        expect([r.state, r.messages[2]]).toEqual(['SUCCESS', expect.stringMatching(/, TLS\)$/)]);
      } else {
        expect([r.state, r.error?.code, r.steps]).toEqual(['FAILURE', 'TLS_UNAVAILABLE', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
        expect(r.error?.message).toMatch(/does not support it.*"disable"/);
      }
    });

    it('a job of a version no contract has (v1: a sealed connection string) is refused as invalid, and secrets sealed for another job do not open', async () => {
      const jobId = randomUUID();
      const connectionId = randomUUID();
      const v1 = jobEnvelope(scope, {
        kind: 'connection.test',
        jobId,
        payload: { connectionId, type: 'POSTGRES', connectionString: seal(parseKey(masterKey), pgUrl.toString(), `job:${jobId}`), timeoutMs: 5000 },
      });
      await publishJob(nats, v1);
      const [r1, replayed] = await Promise.all([runs.finished(v1.runId), run(pg, { password: 'x' }, { aad: `job:${randomUUID()}` })]);
      // Refused before it starts: the run goes straight to FAILURE (never STARTED), about the connection the job names.
      expect([r1.state, r1.states, r1.error?.code, r1.subjectId, r1.steps]).toEqual(['FAILURE', ['FAILURE'], 'INVALID_MESSAGE', connectionId, []]);
      expect(r1.error?.message).toMatch(/^job message connection\.test v1 does not match its contract: v: Invalid literal value, expected 2/);
      expect([replayed.state, replayed.error?.code, replayed.steps]).toEqual(['FAILURE', 'SECRET_UNREADABLE', []]);
    });

    it('a job of a kind no contract has is refused as invalid: terminated and its run FAILED, never STARTED', async () => {
      const connectionId = randomUUID();
      const job = jobEnvelope(scope, { kind: 'connection.probe' as JobKind, v: 2, payload: { connectionId, config: pg, secrets: null } });
      await publishJob(nats, job);
      const r = await runs.finished(job.runId);
      expect([r.state, r.states, r.error?.code, r.subjectId, r.steps]).toEqual(['FAILURE', ['FAILURE'], 'INVALID_MESSAGE', connectionId, []]);
      expect(r.error?.message).toMatch(/^job message has an unknown kind connection\.probe \(v2\): /);
    });
  });

  (MYSQL_UP ? describe : describe.skip)('MYSQL (MariaDB)', () => {
    const suffix = randomBytes(4).toString('hex');
    const user = `dlx_test_${suffix}`;
    const userPassword = `pw-${randomBytes(8).toString('hex')}`;
    const lockedDb = `dlx_test_${suffix}_db`;
    const my = { type: 'MYSQL' as const, host: MYSQL.host, port: MYSQL.port, database: 'test', user: MYSQL.user, ssl: false };
    let root: mysql.Connection;

    beforeAll(async () => {
      root = await mysql.createConnection(MYSQL);
      await root.query('CREATE DATABASE IF NOT EXISTS test');
      await root.query(`CREATE DATABASE \`${lockedDb}\``);
      // Both hosts: a connection over 127.0.0.1 may be matched as 'localhost' by the server.
      for (const host of ['%', 'localhost']) await root.query(`CREATE USER '${user}'@'${host}' IDENTIFIED BY '${userPassword}'`);
    });

    afterAll(async () => {
      for (const host of ['%', 'localhost']) await root?.query(`DROP USER IF EXISTS '${user}'@'${host}'`).catch(() => undefined);
      await root?.query(`DROP DATABASE IF EXISTS \`${lockedDb}\``).catch(() => undefined);
      await root?.end();
    });

    it('right credentials: every step succeeds and the database tables are counted', async () => {
      const [[{ n }]] = (await root.query(`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'test'`)) as unknown as [[{ n: number }]];
      const r = await run(my, mysqlSourceSecrets());
      expect([r.state, r.steps]).toEqual(['SUCCESS', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS'])]);
      expect(r.messages[2]).toMatch(new RegExp(`^signed in as ${MYSQL.user}@`));
      expect(r.messages[3]).toBe(`${n} table${Number(n) === 1 ? '' : 's'} found`);
    });

    it('says precisely why a test fails: wrong password, missing database, no access, closed port', async () => {
      const port = await closedPort();
      const [wrong, nodb, denied, refused] = await Promise.all([
        run({ ...my, user }, { password: `${userPassword}-wrong` }),
        run({ ...my, database: `dlx_no_such_db_${suffix}` }, mysqlSourceSecrets()),
        run({ ...my, user, database: lockedDb }, { password: userPassword }),
        run({ ...my, port }, mysqlSourceSecrets()),
      ]);
      expect([wrong.error?.code, wrong.steps]).toEqual(['WRONG_PASSWORD', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect(wrong.error?.message).toMatch(new RegExp(`Access denied for user "${user}". Check the user name and password`));
      expect([nodb.error?.code, nodb.steps]).toEqual(['DATABASE_NOT_FOUND', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect([denied.error?.code, denied.steps]).toEqual(['PERMISSION_DENIED', steps(DB_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect(denied.error?.message).toMatch(/GRANT SELECT ON/);
      expect([refused.error?.code, refused.steps]).toEqual(['CONNECTION_REFUSED', steps(DB_STEPS, ['SUCCESS', 'FAILURE'])]);
    });
  });

  describe('FILE', () => {
    const FILE_STEPS = (format: string) => ['file found', 'size within limits', `readable as ${format}`];
    const put = (content: Buffer | string) => storeFile(storage, workspaceId, content);

    it('reads a semicolon-delimited CSV with a BOM, a JSON envelope, and pinpoints a bad JSON Lines line', async () => {
      const csv = put(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id;name;city\r\n1;"Ann; Jr";Zürich\r\n2;Bob;"Lyon"\r\n3;Cy;Oslo\r\n')]));
      const json = put(JSON.stringify({ total: 2, data: [{ id: 1 }, { id: 2, nested: { list: [1, 2] } }] }, null, 2));
      const jsonl = put('{"id":1}\n{"id":2}\n{"id":3,}\n{"id":4}\n');
      const [c, j, l] = await Promise.all([
        run({ type: 'FILE', fileName: 'people.csv', format: 'CSV', ...csv }, null),
        run({ type: 'FILE', fileName: 'orders.json', format: 'JSON', ...json }, null),
        run({ type: 'FILE', fileName: 'events.jsonl', format: 'JSONL', ...jsonl }, null),
      ]);
      expect([c.state, c.steps]).toEqual(['SUCCESS', steps(FILE_STEPS('CSV'), ['SUCCESS', 'SUCCESS', 'SUCCESS'])]);
      expect(c.messages[2]).toBe('3 columns found (delimiter ";", UTF-8 with BOM, header row, 3 rows in the whole file)');
      expect([j.state, j.messages[2]]).toEqual(['SUCCESS', '2 records sampled (array "data", UTF-8)']);
      expect([l.state, l.error?.code, l.steps]).toEqual(['FAILURE', 'JSONL_MALFORMED', steps(FILE_STEPS('JSONL'), ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect(l.error?.message).toMatch(/^Line 3 is not valid JSON .*Fix or remove that line/);
    });

    it('a missing file and a size that differs from the upload fail with what to do', async () => {
      const short = put('a,b\n1,2\n');
      const [missing, mismatch] = await Promise.all([
        run({ type: 'FILE', fileId: randomUUID(), fileName: 'gone.csv', format: 'CSV', sizeBytes: 10 }, null),
        run({ type: 'FILE', fileName: 'cut.csv', format: 'CSV', fileId: short.fileId, sizeBytes: short.sizeBytes + 100 }, null),
      ]);
      expect([missing.error?.code, missing.steps]).toEqual(['FILE_NOT_FOUND', steps(FILE_STEPS('CSV'), ['FAILURE'])]);
      expect(missing.error?.message).toMatch(/"gone\.csv" is not in file storage .*Upload the file again/);
      expect([mismatch.error?.code, mismatch.steps]).toEqual(['FILE_SIZE_MISMATCH', steps(FILE_STEPS('CSV'), ['SUCCESS', 'FAILURE'])]);
      expect(mismatch.error?.message).toMatch(/is 8 bytes in file storage but 108 bytes were uploaded.*Upload it again/);
    });

    it('reads only the first megabytes of a large file (a bad record past them goes unnoticed, a bad one inside is caught)', async () => {
      const line = JSON.stringify({ id: 1, text: 'x'.repeat(200) });
      const big = (bad: number) => Array.from({ length: 30000 }, (_, i) => (i === bad ? '{oops' : line)).join('\n') + '\n'; // ~6.2 MB
      const late = put(big(29000));
      const early = put(big(99));
      const [l, e] = await Promise.all([
        run({ type: 'FILE', fileName: 'late.jsonl', format: 'JSONL', ...late }, null),
        run({ type: 'FILE', fileName: 'early.jsonl', format: 'JSONL', ...early }, null),
      ]);
      expect([l.state, l.messages[2]]).toEqual(['SUCCESS', '1000 records sampled (UTF-8)']);
      expect([e.error?.code, e.error?.message]).toEqual(['JSONL_MALFORMED', expect.stringMatching(/^Line 100 is not valid JSON/)]);
    });
  });

  describe('REST_API', () => {
    const TOKEN = `tok-${randomBytes(8).toString('hex')}`;
    let server: http.Server;
    let origin: string;
    const seen: Array<{ path: string; status: number; at: number }> = [];
    const throttled = new Set<string>();
    const doc = {
      openapi: '3.0.3',
      info: { title: 'Shop', version: '1' },
      paths: {
        '/users': {
          get: {
            responses: {
              '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/User' } } } } },
            },
          },
        },
        '/users/{id}': {
          get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/User' } } } } } },
        },
        '/orders': { get: { responses: { '200': { $ref: '#/components/responses/OrderPage' } } } },
        '/orders/{id}/cancel': { post: { responses: { '204': { description: 'done' } } } },
      },
      components: {
        schemas: { User: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'string' } } } },
        responses: {
          OrderPage: {
            description: 'a page',
            content: {
              'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: { type: 'object' } }, next: { type: 'string' } } } },
            },
          },
        },
      },
    };

    beforeAll(async () => {
      // /<tenant>/...: each case gets its own prefix so cases run concurrently; /throttle/ answers 429 once.
      server = http.createServer((req, res) => {
        const tenant = req.url!.split('/')[1];
        const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          seen.push({ path: req.url!, status, at: Date.now() });
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
        };
        if (tenant === 'throttle' && !throttled.has(tenant)) {
          throttled.add(tenant);
          return reply(429, { error: 'slow down' }, { 'retry-after': '1' });
        }
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return reply(401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
        if (req.url!.endsWith('/openapi.json')) return reply(200, doc);
        return reply(200, { ok: true });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    });

    afterAll(() => new Promise((r) => server.close(r)));

    const REST_STEPS = ['host resolved', 'TLS/HTTP reachable', 'authenticated', 'OpenAPI document readable'];
    const api = (tenant: string) => ({
      type: 'REST_API' as const,
      baseUrl: `${origin}/${tenant}/v1/`,
      auth: 'BEARER' as const,
      openApiUrl: `${origin}/${tenant}/v1/openapi.json`,
    });

    it('right token: reachable, authenticated, the OpenAPI document read and its collections counted', async () => {
      const r = await run(api('ok'), { token: TOKEN });
      expect([r.state, r.steps]).toEqual(['SUCCESS', steps(REST_STEPS, ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS'])]);
      expect(r.messages[1]).toBe(`GET ${origin}/ok/v1/ answered 401 over plain HTTP`);
      expect(r.messages[2]).toBe('credentials accepted (GET /ok/v1/ answered 401 without them, 200 with them)');
      expect(r.messages[3]).toMatch(/^2 collections found \(OpenAPI 3\.0\.3, 4 paths, from /);
    });

    it('wrong token: WRONG_CREDENTIALS with the status', async () => {
      const r = await run(api('bad'), { token: 'not-the-token' });
      expect([r.state, r.error?.code, r.steps]).toEqual(['FAILURE', 'WRONG_CREDENTIALS', steps(REST_STEPS, ['SUCCESS', 'SUCCESS', 'FAILURE'])]);
      expect(r.error?.message).toMatch(/rejected the credentials \(GET .* answered 401\)\. Check the token\./);
    });

    it('a 429 with Retry-After: 1 is waited out once, then the test goes on', async () => {
      const r = await run(api('throttle'), { token: TOKEN });
      expect([r.state, r.steps]).toEqual(['SUCCESS', steps(REST_STEPS, ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS'])]);
      const hits = seen.filter((s) => s.path.startsWith('/throttle/'));
      expect(hits.map((h) => h.status).slice(0, 2)).toEqual([429, 401]);
      expect(hits[1].at - hits[0].at).toBeGreaterThanOrEqual(950);
    });
  });
});
