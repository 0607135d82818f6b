import { randomUUID } from 'node:crypto';
import { unseal } from '@datalinx/common';
import { pipelineRunJobV2, pipelineSecretAad, STREAMS, type PipelineRunJobV2 } from '@datalinx/contracts';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { type GqlResponse, gqlClient } from '../../../test/support/http';

const CREATE_WS = `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`;
const CREATE_CONN = `mutation($i: CreateConnectionInput!){ createConnection(input: $i) { connection { id } errors { code field message } } }`;
const UPDATE_CONN = `mutation($id: ID!, $i: UpdateConnectionInput!){ updateConnection(id: $id, input: $i) { connection { id kind } errors { code field message } } }`;
const DELETE_CONN = `mutation($id: ID!){ deleteConnection(id: $id) { deletedId errors { code field message } } }`;
const CREATE = `mutation($i: CreatePipelineInput!){ createPipeline(input: $i) { pipeline { id } errors { code field message } } }`;
const RUN = `mutation($id: ID!){ runPipeline(id: $id) { pipeline { id } runId errors { code field message } } }`;

type Errors = Array<{ code: string; field: string | null; message: string }>;

/**
 * `runPipeline` → the `pipeline.run` v2 job the worker executes, read back from JetStream: its
 * load stage carries the warehouse destination and every source connection's config and secrets
 * (sealed for the data plane per job and connection, never in clear). A run that cannot be
 * dispatched as defined (a source deleted or no longer a SOURCE, the warehouse not READY or
 * external) is refused with typed errors and writes nothing.
 */
describe('pipeline.run v2 dispatch (load stage, sealed secrets, refusals)', () => {
  let p: Platform;
  const orgId = randomUUID();
  const admin = userViewer({ orgId, orgRole: 'ADMIN' });
  const password = `pg-${randomUUID()}`;
  const token = `tok-${randomUUID()}`;
  let ws: string;
  let pendingWs: string;
  let warehouse: { schema: string; role: string };

  const gql = gqlClient(() => p.gatewayUrl, { headers: () => viewerHeader(admin) });
  const data = <T>(res: GqlResponse, field: string): T => {
    expect(res.body.errors).toBeUndefined();
    return (res.body.data as Record<string, T>)[field]!;
  };
  const newWorkspace = async (slug: string) =>
    data<{ workspace: { id: string } }>(await gql(CREATE_WS, { i: { name: slug, slug } }), 'createWorkspace').workspace.id;
  const newConnection = async (workspaceId: string, name: string, extra: Record<string, unknown>) => {
    const created = data<{ connection: { id: string } | null; errors: Errors }>(
      await gql(CREATE_CONN, { i: { workspaceId, name, kind: 'SOURCE', ...extra } }),
      'createConnection',
    );
    expect(created.errors).toEqual([]);
    return created.connection!.id;
  };
  const newPipeline = async (workspaceId: string, name: string, definition: Record<string, unknown>) => {
    const created = data<{ pipeline: { id: string } | null; errors: Errors }>(await gql(CREATE, { i: { workspaceId, name, definition } }), 'createPipeline');
    expect(created.errors).toEqual([]);
    return created.pipeline!.id;
  };
  const run = async (id: string) => data<{ runId: string | null; errors: Errors }>(await gql(RUN, { id }), 'runPipeline');
  /** Ledger rows, and outbox rows (jobs and run events) that a dispatch would write. */
  const written = async () => {
    const [{ runs }] = await p.sources.workspace.query(`SELECT count(*)::int AS runs FROM workspace.pipeline_run`);
    const [{ outbox }] = await p.sources.workspace.query(
      `SELECT count(*)::int AS outbox FROM workspace.outbox WHERE subject LIKE 'jobs.pipeline.run.%' OR subject LIKE 'runs.%'`,
    );
    return { runs, outbox };
  };

  /** The job's message as JetStream holds it (raw bytes and parsed). */
  async function publishedJob(workspaceId: string, jobId: string): Promise<{ raw: string; job: PipelineRunJobV2 }> {
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const m = await p.nats.jsm.streams.getMessage(STREAMS.JOBS.name, { last_by_subj: `jobs.pipeline.run.${workspaceId}` }).catch(() => null);
      if (m) {
        const raw = new TextDecoder().decode(m.data);
        const job = pipelineRunJobV2.parse(JSON.parse(raw));
        if (job.jobId === jobId) return { raw, job };
      }
      if (Date.now() > deadline) throw new Error(`job ${jobId} was not published`);
    }
  }

  beforeAll(async () => {
    p = await startPlatform({ runsFilter: `runs.${randomUUID()}.>` });
    ws = await newWorkspace('dispatch');
    pendingWs = await newWorkspace('dispatch-pending');
    // No worker provisions warehouses here: the first workspace's is marked READY by hand, the other stays PENDING.
    await p.sources.workspace.query(`UPDATE workspace.warehouse SET status = 'READY' WHERE workspace_id = $1`, [ws]);
    const [row] = await p.sources.workspace.query(`SELECT schema_name, role_name FROM workspace.warehouse WHERE workspace_id = $1`, [ws]);
    warehouse = { schema: row.schema_name, role: row.role_name };
  }, 120_000);

  afterAll(async () => {
    for (const w of [ws, pendingWs]) if (w) await p?.nats.jsm.streams.purge(STREAMS.JOBS.name, { filter: `jobs.pipeline.run.${w}` }).catch(() => undefined);
    await p?.stop();
  });

  it('sends a v2 job with the warehouse destination, each source’s config, and its secrets sealed per job and connection', async () => {
    const pg = await newConnection(ws, 'crm', {
      type: 'POSTGRES',
      postgres: { host: 'crm.db.internal', database: 'crm', user: 'etl', schema: 'public' },
      secrets: { password },
    });
    const api = await newConnection(ws, 'shop-api', {
      type: 'REST_API',
      restApi: { baseUrl: 'https://api.shop.example/v1', auth: 'BEARER' },
      secrets: { token },
    });
    const plain = await newConnection(ws, 'open-db', { type: 'POSTGRES', postgres: { host: 'open.db.internal', database: 'open', user: 'reader' } });
    const id = await newPipeline(ws, 'Load everything', {
      sources: [
        {
          connectionId: pg,
          tables: ['public.orders', 'public.customers'],
          incremental: [{ table: 'public.orders', cursorColumn: 'updated_at', primaryKey: ['id'] }],
        },
        { connectionId: api, incremental: [{ table: 'api.orders', cursorColumn: 'modified', primaryKey: ['order_id'] }] },
        { connectionId: plain },
      ],
      onMalformed: 'FAIL',
    });
    const res = await run(id);
    expect(res.errors).toEqual([]);
    const [ledger] = await p.sources.workspace.query(`SELECT job_id, run_id FROM workspace.pipeline_run WHERE pipeline_id = $1`, [id]);
    expect(ledger.run_id).toBe(res.runId);

    const { raw, job } = await publishedJob(ws, ledger.job_id);
    expect(job).toMatchObject({
      v: 2,
      kind: 'pipeline.run',
      jobId: ledger.job_id,
      runId: res.runId,
      orgId,
      workspaceId: ws,
      requestedBy: admin.kind === 'user' ? admin.userId : '',
    });
    expect(job.limits).toEqual({ maxRows: expect.any(Number), maxStorageBytes: expect.any(Number) });
    expect(job.payload.trigger).toBe('MANUAL');
    expect(job.payload.definition).toMatchObject({
      onMalformed: 'FAIL',
      sources: [
        { connectionId: pg, incremental: [{ table: 'public.orders', cursorColumn: 'updated_at', primaryKey: ['id'] }] },
        { connectionId: api, incremental: [{ table: 'api.orders', cursorColumn: 'modified', primaryKey: ['order_id'] }] },
        { connectionId: plain },
      ],
    });
    const load = job.payload.load;
    expect(load.destination).toEqual(warehouse);
    expect(load.batchRows).toBe(50_000);
    expect(load.statementTimeoutMs).toBe(3_600_000);
    expect(load.sources.map((s) => [s.connectionId, s.name, s.config])).toEqual([
      [pg, 'crm', { type: 'POSTGRES', host: 'crm.db.internal', port: 5432, database: 'crm', user: 'etl', sslMode: 'prefer', schema: 'public' }],
      [api, 'shop-api', { type: 'REST_API', baseUrl: 'https://api.shop.example/v1', auth: 'BEARER' }],
      [plain, 'open-db', { type: 'POSTGRES', host: 'open.db.internal', port: 5432, database: 'open', user: 'reader', sslMode: 'prefer' }],
    ]);

    // The secrets: never in clear in the message; each opens only with AAD job:<jobId>:<connectionId>.
    expect(raw).not.toContain(password);
    expect(raw).not.toContain(token);
    const key = Buffer.from(p.masterKey, 'base64');
    const [pgLoad, apiLoad, plainLoad] = load.sources;
    expect(JSON.parse(unseal(key, pgLoad!.secrets!, pipelineSecretAad(job.jobId, pg)))).toEqual({ password });
    expect(JSON.parse(unseal(key, apiLoad!.secrets!, pipelineSecretAad(job.jobId, api)))).toEqual({ token });
    expect(plainLoad!.secrets).toBeNull();
    expect(() => unseal(key, pgLoad!.secrets!, `job:${job.jobId}`)).toThrow();
    expect(() => unseal(key, pgLoad!.secrets!, pipelineSecretAad(job.jobId, api))).toThrow();
    expect(() => unseal(key, pgLoad!.secrets!, pipelineSecretAad(randomUUID(), pg))).toThrow();
    // …nor anywhere in the outbox rows of the run.
    const rows: Array<{ payload: unknown }> = await p.sources.workspace.query(`SELECT payload FROM workspace.outbox WHERE id = $1 OR subject = $2`, [
      job.jobId,
      `runs.${ws}.${res.runId}`,
    ]);
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(JSON.stringify(r.payload)).not.toMatch(new RegExp(`${password}|${token}`));
  });

  it('refuses a manual run whose source was deleted or is no longer a SOURCE, or whose warehouse is not ready or external, and writes nothing', async () => {
    const keep = await newConnection(ws, 'keep', { type: 'POSTGRES', postgres: { host: 'keep.db.internal', database: 'k', user: 'u' }, secrets: { password } });
    const doomed = await newConnection(ws, 'doomed', { type: 'POSTGRES', postgres: { host: 'doomed.db.internal', database: 'd', user: 'u' } });
    const turned = await newConnection(ws, 'turned', { type: 'POSTGRES', postgres: { host: 'turned.db.internal', database: 't', user: 'u' } });
    const deletedSource = await newPipeline(ws, 'Deleted source', { sources: [{ connectionId: keep }, { connectionId: doomed }] });
    const destinationSource = await newPipeline(ws, 'Turned source', { sources: [{ connectionId: turned }] });
    expect(data<{ deletedId: string }>(await gql(DELETE_CONN, { id: doomed }), 'deleteConnection').deletedId).toBe(doomed);
    expect(data<{ errors: Errors }>(await gql(UPDATE_CONN, { id: turned, i: { kind: 'DESTINATION' } }), 'updateConnection').errors).toEqual([]);

    const pendingConn = await newConnection(pendingWs, 'pending-src', {
      type: 'POSTGRES',
      postgres: { host: 'p.db.internal', database: 'p', user: 'u' },
      secrets: { password },
    });
    const notReady = await newPipeline(pendingWs, 'Warehouse pending', { sources: [{ connectionId: pendingConn }] });

    const before = await written();
    const deleted = await run(deletedSource);
    expect(deleted.runId).toBeNull();
    expect(deleted.errors.map((e) => `${e.code}@${e.field}`)).toEqual(['CONNECTION_NOT_FOUND@definition.sources.1.connectionId']);
    expect(deleted.errors[0]!.message).toMatch(/deleted.*edit the pipeline/);
    const kind = await run(destinationSource);
    expect(kind.errors.map((e) => `${e.code}@${e.field}`)).toEqual(['CONNECTION_KIND_INVALID@definition.sources.0.connectionId']);
    expect(kind.errors[0]!.message).toContain('DESTINATION');
    const pending = await run(notReady);
    expect(pending.runId).toBeNull();
    expect(pending.errors.map((e) => e.code)).toEqual(['WAREHOUSE_NOT_READY']);
    expect(pending.errors[0]!.message).toMatch(/not ready: it is still being provisioned; try again/);
    // A failed provisioning says why and what to do.
    await p.sources.workspace.query(`UPDATE workspace.warehouse SET status = 'FAILED', last_error = 'role exists' WHERE workspace_id = $1`, [pendingWs]);
    expect((await run(notReady)).errors[0]!.message).toMatch(/provisioning failed \(role exists\); ask an organization admin/);
    // An external warehouse whose connection is no longer a DESTINATION: refused, saying how to fix it.
    const dest = await newConnection(pendingWs, 'ext-wh', {
      kind: 'DESTINATION',
      type: 'POSTGRES',
      postgres: { host: 'wh.example', database: 'wh', user: 'u' },
    });
    await p.sources.workspace.query(`UPDATE workspace.warehouse SET mode = 'EXTERNAL', connection_id = $2, status = 'READY' WHERE workspace_id = $1`, [
      pendingWs,
      dest,
    ]);
    await p.sources.workspace.query(`UPDATE workspace.connection SET kind = 'SOURCE' WHERE id = $1`, [dest]);
    const invalid = await run(notReady);
    expect(invalid.errors.map((e) => e.code)).toEqual(['WAREHOUSE_CONNECTION_INVALID']);
    expect(invalid.errors[0]!.message).toMatch(/DESTINATION PostgreSQL connection/);
    // No ledger row, no job, no run event for any of them.
    expect(await written()).toEqual(before);
    // Fixed, the same pipeline runs.
    await p.sources.workspace.query(
      `UPDATE workspace.warehouse SET mode = 'PLATFORM', connection_id = NULL, status = 'READY', last_error = NULL WHERE workspace_id = $1`,
      [pendingWs],
    );
    const ok = await run(notReady);
    expect(ok.errors).toEqual([]);
    expect(ok.runId).not.toBeNull();
  });

  it("re-seals a source's secret for the job only: the copy opens with that job and connection's AAD alone, the stored sealing is untouched", async () => {
    const password = `pw-${randomUUID()}`;
    const src = await newConnection(ws, 'sealed-source', {
      type: 'POSTGRES',
      postgres: { host: 'sealed.db.internal', database: 'l', user: 'etl' },
      secrets: { password },
    });
    const storedSealing = async () =>
      (await p.sources.workspace.query(`SELECT secret_sealed, secret_updated_at FROM workspace.connection WHERE id = $1`, [src]))[0];
    const before = await storedSealing();
    expect(before.secret_sealed.kid).toBe('ws');
    const id = await newPipeline(ws, 'Sealed secret', { sources: [{ connectionId: src }] });
    const res = await run(id);
    expect(res.errors).toEqual([]);
    const [{ job_id: jobId }] = await p.sources.workspace.query(`SELECT job_id FROM workspace.pipeline_run WHERE pipeline_id = $1`, [id]);
    const { raw, job } = await publishedJob(ws, jobId);
    expect(raw).not.toContain(password);
    const key = Buffer.from(p.masterKey, 'base64');
    const sealed = job.payload.load.sources[0]!.secrets!;
    expect(JSON.parse(unseal(key, sealed, pipelineSecretAad(jobId, src)))).toEqual({ password });
    expect(() => unseal(key, sealed, pipelineSecretAad(randomUUID(), src))).toThrow();
    expect(() => unseal(key, sealed, `job:${jobId}`)).toThrow();
    expect(await storedSealing()).toEqual(before);
  });
});
