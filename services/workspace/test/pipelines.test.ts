import { randomUUID } from 'node:crypto';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { DBT_PROJECT_PUBLISHED_V1, pipelineRunJobV2, runStateChangedV1, STREAMS } from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';
import { RunRecorder } from '../../monitoring/src/managers/run-recorder';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, type GqlResponse } from '../../../test/support/http';
import { SourceSnapshotDao } from '../../schema/src/daos/source-snapshot.dao';

const FIELDS = `id name description schedule timeZone enabled nextRunAt createdAt updatedAt workspace { id }
  definition { sources { connectionId connection { id name } tables patterns incremental { table cursorColumn primaryKey } } targetTableIds checks { ruleId type column targetTableId }
    exports { connectionId connection { id } targetTableIds } schemaDriftPolicy onMalformed }`;
const CREATE = `mutation($i: CreatePipelineInput!){ createPipeline(input: $i) { pipeline { ${FIELDS} nextRunTimes(count: 3) } errors { code field message } } }`;
const UPDATE = `mutation($id: ID!, $i: UpdatePipelineInput!){ updatePipeline(id: $id, input: $i) { pipeline { ${FIELDS} nextRunTimes } errors { code field message } } }`;
const ENABLE = `mutation($id: ID!, $e: Boolean!){ setPipelineEnabled(id: $id, enabled: $e) { pipeline { id enabled nextRunAt nextRunTimes(count: 2) } errors { code field message } } }`;
const RUN = `mutation($id: ID!){ runPipeline(id: $id) { pipeline { id } runId errors { code field message } } }`;
const DELETE = `mutation($id: ID!){ deletePipeline(id: $id) { deletedId errors { code field message } } }`;
const GET = `query($id: ID!){ pipeline(id: $id) { id name nextRunTimes(count: 2) } }`;
const GET_DEF = `query($id: ID!){ pipeline(id: $id) { ${FIELDS} } }`;
const LIST = `query($ws: ID!, $first: Int, $after: String, $s: String){ pipelines(workspaceId: $ws, first: $first, after: $after, search: $s) { nodes { id name } pageInfo { hasNextPage endCursor } } }`;

type Payload = {
  pipeline: Record<string, unknown> | null;
  errors: Array<{ code: string; field: string | null; message: string }>;
  runId?: string | null;
  deletedId?: string | null;
};

/** Wall-clock hh:mm of `d` in `tz` (Intl, independent of the cron library). */
const wallClock = (d: string, tz: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(d));

describe('pipelines through the gateway (create / validate / update / enable / run / delete, permissions)', () => {
  let p: Platform;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  let wsA: string;
  let wsA2: string;
  let viewerA: Viewer;
  let editorA: Viewer;
  let noGrantA: Viewer;
  const src = randomUUID();
  const dest = randomUUID();
  const otherWsSrc = randomUUID();
  const fileSrc = randomUUID();
  const target = randomUUID();

  const gql = (viewer: Viewer | undefined, query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL(p.gatewayUrl, query, variables, viewer ? viewerHeader(viewer) : {});
  const payload = (res: GqlResponse, field: string): Payload => {
    expect(res.body.errors).toBeUndefined();
    return (res.body.data as Record<string, Payload>)[field]!;
  };
  const codes = (pl: Payload) => pl.errors.map((e) => `${e.code}@${e.field}`);
  const definition = (o: Record<string, unknown> = {}) => ({
    sources: [{ connectionId: src, tables: ['public.orders'], patterns: ['sales_*'] }],
    targetTableIds: [target],
    checks: [{ ruleId: randomUUID() }, { type: 'NOT_NULL', column: 'id', targetTableId: target }],
    exports: [{ connectionId: dest, targetTableIds: [target] }],
    schemaDriftPolicy: 'PROPAGATE',
    ...o,
  });
  const create = async (viewer: Viewer, i: Record<string, unknown>) =>
    payload(await gql(viewer, CREATE, { i: { workspaceId: wsA, definition: definition(), ...i } }), 'createPipeline');
  const countPipelines = async () => (await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.pipeline`))[0].n as number;

  beforeAll(async () => {
    p = await startPlatform({ runsFilter: `runs.${randomUUID()}.>` });
    const newWs = async (slug: string) => {
      const res = await gql(adminA, `mutation($i: CreateWorkspaceInput!){ createWorkspace(input: $i) { workspace { id } errors { code } } }`, {
        i: { name: slug, slug },
      });
      return (res.body.data as { createWorkspace: { workspace: { id: string } } }).createWorkspace.workspace.id;
    };
    wsA = await newWs('pipes');
    wsA2 = await newWs('other');
    viewerA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA, role: 'VIEWER' }] });
    editorA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA, role: 'EDITOR' }] });
    noGrantA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA2, role: 'EDITOR' }] });
    // Connections straight into the table (this suite is about pipelines, not connection set-up).
    const conn = (id: string, ws: string, name: string, kind: string) =>
      p.sources.workspace.query(
        `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type, config) VALUES ($1, $2, $3, $4, $5, 'POSTGRES', $6)`,
        [
          id,
          orgA,
          ws,
          name,
          kind,
          JSON.stringify({ type: 'POSTGRES', host: `${name}.db.internal`, port: 5432, database: name, user: 'etl', sslMode: 'prefer' }),
        ],
      );
    await conn(src, wsA, 'crm', 'SOURCE');
    await conn(dest, wsA, 'warehouse-out', 'DESTINATION');
    await conn(otherWsSrc, wsA2, 'elsewhere', 'SOURCE');
    await p.sources.workspace.query(
      `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type, config) VALUES ($1, $2, $3, 'orders.csv', 'SOURCE', 'FILE', $4)`,
      [fileSrc, orgA, wsA, JSON.stringify({ type: 'FILE', fileId: randomUUID(), fileName: 'orders.csv', format: 'CSV', sizeBytes: 100 })],
    );
    // No worker provisions warehouses in this suite: runs need the workspace's to be READY.
    await p.sources.workspace.query(`UPDATE workspace.warehouse SET status = 'READY' WHERE workspace_id = $1`, [wsA]);
  }, 120_000);

  afterAll(async () => {
    for (const ws of [wsA, wsA2]) if (ws) await p?.nats.jsm.streams.purge(STREAMS.JOBS.name, { filter: `jobs.pipeline.run.${ws}` }).catch(() => undefined);
    await p?.stop();
  });

  it('creates a pipeline with a schedule in a DST time zone; nextRunAt and nextRunTimes follow the cron in that zone', async () => {
    const before = Date.now();
    const res = await create(editorA, { name: 'Nightly CRM', description: 'CRM → warehouse', schedule: '30 2 * * *', timeZone: 'Europe/Berlin' });
    expect(res.errors).toEqual([]);
    const pl = res.pipeline!;
    expect(pl).toMatchObject({
      name: 'Nightly CRM',
      description: 'CRM → warehouse',
      schedule: '30 2 * * *',
      timeZone: 'Europe/Berlin',
      enabled: true,
      workspace: { id: wsA },
      definition: {
        sources: [{ connectionId: src, connection: { id: src, name: 'crm' }, tables: ['public.orders'], patterns: ['sales_*'], incremental: [] }],
        targetTableIds: [target],
        checks: [
          { ruleId: expect.any(String), type: null, column: null, targetTableId: null },
          { ruleId: null, type: 'NOT_NULL', column: 'id', targetTableId: target },
        ],
        exports: [{ connectionId: dest, connection: { id: dest }, targetTableIds: [target] }],
        schemaDriftPolicy: 'PROPAGATE',
        onMalformed: 'SKIP_AND_REPORT',
      },
    });
    const times = pl.nextRunTimes as string[];
    expect(times).toHaveLength(3);
    expect(pl.nextRunAt).toBe(times[0]);
    expect(new Date(times[0]!).getTime()).toBeGreaterThan(before);
    expect(new Date(times[0]!).getTime()).toBeLessThanOrEqual(before + 25 * 3600_000);
    // 02:30 Berlin wall-clock time, one day apart (23–25 h across a DST change).
    for (const t of times) expect(wallClock(t, 'Europe/Berlin')).toBe('02:30');
    for (let i = 1; i < times.length; i++) expect(new Date(times[i]!).getTime() - new Date(times[i - 1]!).getTime()).toBeGreaterThanOrEqual(23 * 3600_000);
    // A pipeline without a schedule has no next run.
    const manual = await create(adminA, { name: 'Manual only' });
    expect(manual.errors).toEqual([]);
    expect(manual.pipeline).toMatchObject({ schedule: null, timeZone: 'UTC', nextRunAt: null, nextRunTimes: [] });
  });

  it('refuses invalid pipelines with typed field errors and writes nothing', async () => {
    const n = await countPipelines();
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ name: 'c1', schedule: 'every night' }, ['CRON_INVALID@schedule']],
      [{ name: 'c2', schedule: '0 * * * * *' }, ['CRON_INVALID@schedule']], // six fields (seconds) are not accepted
      [{ name: 'c3', schedule: '61 * * * *' }, ['CRON_INVALID@schedule']],
      [{ name: 'c4', schedule: '0 3 * * *', timeZone: 'Mars/Olympus_Mons' }, ['TIME_ZONE_INVALID@timeZone']],
      [{ name: 'c5', timeZone: '+02:00' }, ['TIME_ZONE_INVALID@timeZone']],
      [{ name: '' }, ['INVALID_NAME@name']],
      [{ name: 'Nightly CRM' }, ['NAME_TAKEN@name']],
      [{ name: 'nightly crm' }, ['NAME_TAKEN@name']], // names compare case-insensitively
      [{ name: 'c6', definition: definition({ sources: [{ connectionId: otherWsSrc }] }) }, ['CONNECTION_NOT_FOUND@definition.sources.0.connectionId']],
      [{ name: 'c7', definition: definition({ sources: [{ connectionId: randomUUID() }] }) }, ['CONNECTION_NOT_FOUND@definition.sources.0.connectionId']],
      [
        { name: 'c8', definition: definition({ exports: [{ connectionId: src, targetTableIds: [target] }] }) },
        ['CONNECTION_KIND_INVALID@definition.exports.0.connectionId'],
      ],
      [{ name: 'c9', definition: definition({ sources: [{ connectionId: dest }] }) }, ['CONNECTION_KIND_INVALID@definition.sources.0.connectionId']],
      [{ name: 'c10', definition: definition({ sources: [] }) }, ['DEFINITION_INVALID@definition.sources']],
      [{ name: 'c11', definition: definition({ checks: [{ column: 'id' }] }) }, ['DEFINITION_INVALID@definition.checks.0']],
      // A target table id is stored without a lookup: a malformed one (the nil UUID after the argument guard) is refused.
      [{ name: 'c12', definition: definition({ targetTableIds: ['not-a-uuid'] }) }, ['DEFINITION_INVALID@definition.targetTableIds.0']],
      // A malformed id names nothing: answered as an id that does not exist (c7).
      [{ name: 'c13', definition: definition({ sources: [{ connectionId: 'nope' }] }) }, ['CONNECTION_NOT_FOUND@definition.sources.0.connectionId']],
      // Incremental tables: well-formed, listed once, among the tables the source selects.
      [
        { name: 'c14', definition: definition({ sources: [{ connectionId: src, incremental: [{ table: 'public.orders', cursorColumn: ' ' }] }] }) },
        ['DEFINITION_INVALID@definition.sources.0.incremental.0.cursorColumn'],
      ],
      [
        {
          name: 'c15',
          definition: definition({ sources: [{ connectionId: src, incremental: [{ table: 'public.orders', cursorColumn: 'updated_at', primaryKey: [] }] }] }),
        },
        ['DEFINITION_INVALID@definition.sources.0.incremental.0.primaryKey'],
      ],
      [
        {
          name: 'c16',
          definition: definition({
            sources: [
              {
                connectionId: src,
                incremental: [
                  { table: 'public.orders', cursorColumn: 'updated_at' },
                  { table: 'public.orders', cursorColumn: 'id' },
                ],
              },
            ],
          }),
        },
        ['DEFINITION_INVALID@definition.sources.0.incremental.1.table'],
      ],
      [
        {
          name: 'c17',
          definition: definition({
            sources: [
              {
                connectionId: src,
                tables: ['public.orders'],
                patterns: ['sales_*', 'crm.acc?unts'],
                incremental: [
                  { table: 'public.invoices', cursorColumn: 'updated_at' },
                  { table: 'crm.accounts_v2', cursorColumn: 'x' },
                ],
              },
            ],
          }),
        },
        ['DEFINITION_INVALID@definition.sources.0.incremental.0.table', 'DEFINITION_INVALID@definition.sources.0.incremental.1.table'],
      ],
      // A file has no key of its own: an incremental table of a FILE source names one.
      [
        { name: 'c18', definition: definition({ sources: [{ connectionId: fileSrc, incremental: [{ table: 'files.orders', cursorColumn: 'updated_at' }] }] }) },
        ['PRIMARY_KEY_REQUIRED@definition.sources.0.incremental.0.primaryKey'],
      ],
    ];
    for (const [input, expected] of cases) {
      const res = await create(editorA, input);
      expect({ input, codes: codes(res) }).toEqual({ input, codes: expected });
      expect(res.pipeline).toBeNull();
      for (const e of res.errors) expect(e.message.length).toBeGreaterThan(10);
    }
    expect(await countPipelines()).toBe(n);
    // A workspace of the org the viewer holds no grant in, and another org's workspace: refused before anything is read.
    const forbidden = await gql(noGrantA, CREATE, { i: { workspaceId: wsA, name: 'x', definition: definition() } });
    expect(forbidden.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const otherOrg = await create(adminB, { name: 'sneaky' });
    expect(codes(otherOrg)).toEqual(['WORKSPACE_NOT_FOUND@workspaceId']);
    expect(await countPipelines()).toBe(n);
    // With its key named, the FILE source's incremental table is accepted.
    const keyed = await create(editorA, {
      name: 'c18-keyed',
      definition: definition({
        sources: [{ connectionId: fileSrc, incremental: [{ table: 'files.orders', cursorColumn: 'updated_at', primaryKey: ['order_id'] }] }],
      }),
    });
    expect(keyed.errors).toEqual([]);
    expect(keyed.pipeline).not.toBeNull();
  });

  it('round-trips incremental tables and onMalformed through createPipeline, updatePipeline and the pipeline query', async () => {
    const incremental = [
      { table: 'public.orders', cursorColumn: 'updated_at', primaryKey: ['id'] },
      // Selected by the pattern (a pattern with a dot matches schema.table); the key defaults to the source table's.
      { table: 'sales.sales_eu', cursorColumn: 'seq', primaryKey: null },
    ];
    const created = await create(editorA, {
      name: 'Incremental',
      definition: definition({ sources: [{ connectionId: src, tables: ['public.orders'], patterns: ['sales.sales_*'], incremental }], onMalformed: 'FAIL' }),
    });
    expect(created.errors).toEqual([]);
    const id = created.pipeline!.id as string;
    expect(created.pipeline!.definition).toMatchObject({
      sources: [{ connectionId: src, tables: ['public.orders'], patterns: ['sales.sales_*'], incremental }],
      onMalformed: 'FAIL',
    });
    const [{ definition: stored }] = await p.sources.workspace.query(`SELECT definition FROM workspace.pipeline WHERE id = $1`, [id]);
    expect(stored.onMalformed).toBe('FAIL');
    expect(stored.sources[0].incremental).toEqual([incremental[0], { table: 'sales.sales_eu', cursorColumn: 'seq' }]);
    expect((await gql(viewerA, GET_DEF, { id })).body.data).toMatchObject({ pipeline: { definition: { sources: [{ incremental }], onMalformed: 'FAIL' } } });

    // Replaced with the definition: no selection = every table (any incremental table is fine), a bare-name pattern
    // matches the table part; onMalformed left out = SKIP_AND_REPORT.
    const updated = payload(
      await gql(editorA, UPDATE, {
        id,
        i: {
          definition: definition({
            sources: [
              { connectionId: src, incremental: [{ table: 'public.events', cursorColumn: 'id' }] },
              { connectionId: src, patterns: ['sales_?u'], incremental: [{ table: 'sales.sales_eu', cursorColumn: 'seq', primaryKey: ['region', 'id'] }] },
            ],
          }),
        },
      }),
      'updatePipeline',
    );
    expect(updated.errors).toEqual([]);
    const expected = {
      sources: [
        { connectionId: src, tables: [], patterns: [], incremental: [{ table: 'public.events', cursorColumn: 'id', primaryKey: null }] },
        {
          connectionId: src,
          tables: [],
          patterns: ['sales_?u'],
          incremental: [{ table: 'sales.sales_eu', cursorColumn: 'seq', primaryKey: ['region', 'id'] }],
        },
      ],
      onMalformed: 'SKIP_AND_REPORT',
    };
    expect(updated.pipeline!.definition).toMatchObject(expected);
    expect((await gql(viewerA, GET_DEF, { id })).body.data).toMatchObject({ pipeline: { definition: expected } });
    // An invalid incremental table in an update is refused and changes nothing.
    const bad = payload(
      await gql(editorA, UPDATE, {
        id,
        i: {
          definition: definition({
            sources: [{ connectionId: src, tables: ['public.orders'], incremental: [{ table: 'public.events', cursorColumn: 'id' }] }],
          }),
        },
      }),
      'updatePipeline',
    );
    expect(codes(bad)).toEqual(['DEFINITION_INVALID@definition.sources.0.incremental.0.table']);
    expect(bad.errors[0]!.message).toMatch(/public\.events is not among the tables this source loads/);
    expect((await gql(viewerA, GET_DEF, { id })).body.data).toMatchObject({ pipeline: { definition: expected } });
    // A definition stored before the fields existed reads with the defaults.
    await p.sources.workspace.query(`UPDATE workspace.pipeline SET definition = definition - 'onMalformed' WHERE id = $1`, [id]);
    expect((await gql(viewerA, GET_DEF, { id })).body.data).toMatchObject({ pipeline: { definition: { onMalformed: 'SKIP_AND_REPORT' } } });
  });

  it('updates fields, recomputes the next run when the schedule changes, and clears it with schedule: null', async () => {
    const created = await create(editorA, { name: 'To edit', schedule: '0 6 * * 1', timeZone: 'America/New_York' });
    const id = created.pipeline!.id as string;
    const renamed = payload(
      await gql(editorA, UPDATE, { id, i: { name: 'Edited', description: 'now hourly', schedule: '15 * * * *', timeZone: 'Asia/Kolkata' } }),
      'updatePipeline',
    );
    expect(renamed.errors).toEqual([]);
    expect(renamed.pipeline).toMatchObject({ name: 'Edited', description: 'now hourly', schedule: '15 * * * *', timeZone: 'Asia/Kolkata' });
    // Minute 15 in Kolkata (+05:30) is minute 45 in UTC.
    const times = renamed.pipeline!.nextRunTimes as string[];
    expect(times).toHaveLength(5);
    for (const t of times) expect(new Date(t).getUTCMinutes()).toBe(45);
    expect(renamed.pipeline!.nextRunAt).toBe(times[0]);
    // The definition is replaced only when given; invalid parts are refused field by field.
    const bad = payload(await gql(editorA, UPDATE, { id, i: { name: 'Nightly CRM', timeZone: 'Nowhere/Land', schedule: '* *' } }), 'updatePipeline');
    expect(codes(bad).sort()).toEqual(['CRON_INVALID@schedule', 'TIME_ZONE_INVALID@timeZone']);
    const taken = payload(await gql(editorA, UPDATE, { id, i: { name: 'Nightly CRM' } }), 'updatePipeline');
    expect(codes(taken)).toEqual(['NAME_TAKEN@name']);
    const badDef = payload(await gql(editorA, UPDATE, { id, i: { definition: definition({ sources: [{ connectionId: otherWsSrc }] }) } }), 'updatePipeline');
    expect(codes(badDef)).toEqual(['CONNECTION_NOT_FOUND@definition.sources.0.connectionId']);
    const [{ name }] = await p.sources.workspace.query(`SELECT name FROM workspace.pipeline WHERE id = $1`, [id]);
    expect(name).toBe('Edited');
    const cleared = payload(await gql(editorA, UPDATE, { id, i: { schedule: null } }), 'updatePipeline');
    expect(cleared.pipeline).toMatchObject({ name: 'Edited', schedule: null, nextRunAt: null, nextRunTimes: [] });
    const newDef = payload(
      await gql(editorA, UPDATE, { id, i: { definition: definition({ exports: [], checks: [], schemaDriftPolicy: 'IGNORE' }) } }),
      'updatePipeline',
    );
    expect(newDef.pipeline).toMatchObject({ definition: { exports: [], checks: [], schemaDriftPolicy: 'IGNORE' } });
  });

  it('pauses and resumes the schedule', async () => {
    const created = await create(editorA, { name: 'Pausable', schedule: '*/5 * * * *' });
    const id = created.pipeline!.id as string;
    expect(created.pipeline!.nextRunAt).not.toBeNull();
    const paused = payload(await gql(editorA, ENABLE, { id, e: false }), 'setPipelineEnabled');
    expect(paused.pipeline).toEqual({ id, enabled: false, nextRunAt: null, nextRunTimes: [] });
    const resumed = payload(await gql(editorA, ENABLE, { id, e: true }), 'setPipelineEnabled');
    expect(resumed.pipeline).toMatchObject({ id, enabled: true });
    const next = new Date(resumed.pipeline!.nextRunAt as string);
    expect(next.getTime()).toBeGreaterThan(Date.now() - 1000);
    expect(next.getUTCMinutes() % 5).toBe(0);
    expect(resumed.pipeline!.nextRunTimes).toEqual([next.toISOString(), new Date(next.getTime() + 5 * 60_000).toISOString()]);
  });

  it('runs a pipeline by hand: a MANUAL pipeline.run job and its QUEUED run event, which monitoring records', async () => {
    const created = await create(editorA, { name: 'Run me', schedule: '0 0 1 1 *' });
    const id = created.pipeline!.id as string;
    const first = payload(await gql(editorA, RUN, { id }), 'runPipeline');
    const second = payload(await gql(adminA, RUN, { id }), 'runPipeline');
    expect(first.errors).toEqual([]);
    expect(second.errors).toEqual([]);
    expect(first.runId).not.toBe(second.runId);
    const rows: Array<{ trigger: string; scheduled_for: Date | null; run_id: string; job_id: string; requested_by: string }> = await p.sources.workspace.query(
      `SELECT trigger, scheduled_for, run_id, job_id, requested_by FROM workspace.pipeline_run WHERE pipeline_id = $1 ORDER BY created_at`,
      [id],
    );
    expect(rows.map((r) => [r.trigger, r.scheduled_for, r.run_id, r.requested_by])).toEqual([
      ['MANUAL', null, first.runId, editorA.kind === 'user' ? editorA.userId : ''],
      ['MANUAL', null, second.runId, adminA.kind === 'user' ? adminA.userId : ''],
    ]);
    // The job in the outbox (msgID = job id): pipeline.run v2, the definition snapshot and its load stage.
    const [job] = await p.sources.workspace.query(`SELECT subject, payload FROM workspace.outbox WHERE id = $1`, [rows[0]!.job_id]);
    expect(job.subject).toBe(`jobs.pipeline.run.${wsA}`);
    const [wh] = await p.sources.workspace.query(`SELECT schema_name, role_name FROM workspace.warehouse WHERE workspace_id = $1`, [wsA]);
    expect(pipelineRunJobV2.parse(job.payload)).toMatchObject({
      v: 2,
      kind: 'pipeline.run',
      runId: first.runId,
      payload: {
        trigger: 'MANUAL',
        pipelineId: id,
        definition: { schemaDriftPolicy: 'PROPAGATE', onMalformed: 'SKIP_AND_REPORT' },
        load: {
          destination: { schema: wh.schema_name, role: wh.role_name },
          sources: [{ connectionId: src, name: 'crm', config: { type: 'POSTGRES', host: 'crm.db.internal' }, secrets: null }],
        },
      },
    });
    // Published by the relay: the QUEUED event on RUNS…
    let queued: unknown;
    for (const deadline = Date.now() + 10_000; !queued; await new Promise((r) => setTimeout(r, 100))) {
      queued = await p.nats.jsm.streams.getMessage(STREAMS.RUNS.name, { last_by_subj: `runs.${wsA}.${first.runId}` }).then(
        (m) => m?.json(),
        () => undefined,
      );
      if (Date.now() > deadline) throw new Error('the QUEUED event was not published');
    }
    const ev = runStateChangedV1.parse(queued);
    expect(ev).toMatchObject({ state: 'QUEUED', kind: 'pipeline.run', subjectId: id, workspaceId: wsA, orgId: orgA });
    // …which monitoring records as a run of the pipeline (its RUNS consumer is narrowed away in this suite: record it directly).
    await new RunRecorder(p.app.monitoring).record(ev);
    const run = await gql(adminA, `query($id: ID!){ run(id: $id) { id kind subjectId state } }`, { id: first.runId });
    expect(run.body.data).toEqual({ run: { id: first.runId, kind: 'pipeline.run', subjectId: id, state: 'QUEUED' } });
  });

  it("a run builds its workspace's latest published dbt project (mapping.dbt_project.published.v1); none while it has no models", async () => {
    const created = await create(editorA, { name: 'Build models', schedule: '0 0 1 1 *' });
    const id = created.pipeline!.id as string;
    const jobOf = async (runId: string) => {
      const [row] = await p.sources.workspace.query(
        `SELECT o.payload FROM workspace.outbox o JOIN workspace.pipeline_run r ON r.job_id = o.id WHERE r.run_id = $1`,
        [runId],
      );
      return pipelineRunJobV2.parse(row.payload);
    };
    const publish = async (version: number, models: string[]) => {
      const event = { orgId: orgA, workspaceId: wsA, version, project: `${wsA}/v${version}`, digest: 'a'.repeat(64), models };
      await p.nats.js.publish(DBT_PROJECT_PUBLISHED_V1, encodeJson(event), { msgID: randomUUID() });
    };
    const known = async (version: number) => {
      for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 100))) {
        const [row] = await p.sources.workspace.query(`SELECT version FROM workspace.dbt_project_ref WHERE workspace_id = $1`, [wsA]);
        if (row?.version === version) return;
        if (Date.now() > deadline) throw new Error(`dbt project v${version} did not reach the replica`);
      }
    };
    // The test platform's replicas take only its organizations' events: this suite's org exists only in viewers so far.
    await p.sources.auth.query(
      `INSERT INTO auth.organization (id, slug, name, region, time_zone) VALUES ($1, $2, 'Pipes', 'eu', 'UTC') ON CONFLICT DO NOTHING`,
      [orgA, `pipes-${orgA.slice(0, 8)}`],
    );
    // A project without models (sources only): the run only loads.
    await publish(1, []);
    await known(1);
    const bare = payload(await gql(editorA, RUN, { id }), 'runPipeline');
    expect((await jobOf(bare.runId as string)).payload.dbt).toBeUndefined();
    await publish(3, ['customers']);
    await known(3);
    // An older version arriving late changes nothing.
    await publish(2, ['customers', 'orders']);
    const run = payload(await gql(editorA, RUN, { id }), 'runPipeline');
    expect(run.errors).toEqual([]);
    expect((await jobOf(run.runId as string)).payload.dbt).toEqual({ project: `${wsA}/v3` });
    // No worker runs them here: give their places in the concurrent-runs quota back for the next tests.
    await p.sources.workspace.query(`DELETE FROM workspace.active_run WHERE run_id = ANY($1::uuid[])`, [[bare.runId, run.runId]]);
  });

  it('pages and searches the pipelines of a workspace', async () => {
    const all = (await gql(viewerA, LIST, { ws: wsA, first: 200 })).body.data as { pipelines: { nodes: Array<{ id: string; name: string }> } };
    const total = all.pipelines.nodes.length;
    expect(total).toBeGreaterThanOrEqual(5);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res = await gql(viewerA, LIST, { ws: wsA, first: 2, after });
      const page = (res.body.data as { pipelines: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }).pipelines;
      seen.push(...page.nodes.map((n) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.pipelines.nodes.map((n) => n.id));
    const found = (await gql(viewerA, LIST, { ws: wsA, s: 'nightly' })).body.data as { pipelines: { nodes: Array<{ name: string }> } };
    expect(found.pipelines.nodes.map((n) => n.name)).toEqual(['Nightly CRM']);
    // The other workspace has none.
    expect((await gql(adminA, LIST, { ws: wsA2 })).body.data).toEqual({ pipelines: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } });
  });

  it('lets a workspace VIEWER read but not write or run; a viewer without a grant and another org see nothing', async () => {
    const created = await create(editorA, { name: 'Guarded', schedule: '0 4 * * *' });
    const id = created.pipeline!.id as string;
    expect((await gql(viewerA, GET, { id })).body.data).toMatchObject({ pipeline: { id, name: 'Guarded' } });
    const denied = await gql(viewerA, CREATE, { i: { workspaceId: wsA, name: 'viewer made', definition: definition() } });
    expect(denied.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    for (const [q, v, field] of [
      [UPDATE, { id, i: { name: 'viewer edit' } }, 'updatePipeline'],
      [ENABLE, { id, e: false }, 'setPipelineEnabled'],
      [RUN, { id }, 'runPipeline'],
      [DELETE, { id }, 'deletePipeline'],
    ] as const) {
      expect(codes(payload(await gql(viewerA, q, v), field))).toEqual(['FORBIDDEN@null']);
    }
    // No grant in the workspace / another org's ADMIN: not found, never the pipeline.
    for (const who of [noGrantA, adminB]) {
      expect((await gql(who, GET, { id })).body.data).toEqual({ pipeline: null });
      for (const [q, v, field] of [
        [UPDATE, { id, i: { name: 'sneaky' } }, 'updatePipeline'],
        [ENABLE, { id, e: false }, 'setPipelineEnabled'],
        [RUN, { id }, 'runPipeline'],
        [DELETE, { id }, 'deletePipeline'],
      ] as const) {
        expect(codes(payload(await gql(who, q, v), field))).toEqual(['PIPELINE_NOT_FOUND@id']);
      }
    }
    expect((await gql(adminB, LIST, { ws: wsA })).body.data).toEqual({ pipelines: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } });
    expect((await gql(noGrantA, LIST, { ws: wsA })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(undefined, GET, { id })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The entity reference re-checks the tenant too.
    const entities = async (viewer: Viewer) =>
      postGraphQL(
        p.subgraphUrls.workspace!,
        `query($r: [_Any!]!){ _entities(representations: $r) { ... on Pipeline { id name } } }`,
        { r: [{ __typename: 'Pipeline', id }] },
        {
          [VIEWER_HEADER]: await p.keys.signer.sign(viewer, randomUUID()),
        },
      );
    expect((await entities(adminB)).body.data).toEqual({ _entities: [null] });
    expect((await entities(adminA)).body.data).toEqual({ _entities: [{ id, name: 'Guarded' }] });
    // Nothing changed.
    const [row] = await p.sources.workspace.query(
      `SELECT name, enabled, (SELECT count(*)::int FROM workspace.pipeline_run r WHERE r.pipeline_id = p.id) AS runs FROM workspace.pipeline p WHERE id = $1`,
      [id],
    );
    expect(row).toEqual({ name: 'Guarded', enabled: true, runs: 0 });
  });

  it('deletes a pipeline (its run ledger goes with it)', async () => {
    const created = await create(editorA, { name: 'Doomed' });
    const id = created.pipeline!.id as string;
    expect(payload(await gql(editorA, RUN, { id }), 'runPipeline').errors).toEqual([]);
    const del = payload(await gql(editorA, DELETE, { id }), 'deletePipeline');
    expect(del).toEqual({ deletedId: id, errors: [] });
    expect((await gql(editorA, GET, { id })).body.data).toEqual({ pipeline: null });
    expect(await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.pipeline_run WHERE pipeline_id = $1`, [id])).toEqual([{ n: 0 }]);
    expect(codes(payload(await gql(editorA, DELETE, { id }), 'deletePipeline'))).toEqual(['PIPELINE_NOT_FOUND@id']);
  });

  it("a discovered source's exact and incremental tables are checked against its latest snapshot; an undiscovered one is not", async () => {
    // The platform's replicas take this platform's organizations only.
    await p.sources.auth.query(
      `INSERT INTO auth.organization (id, slug, name, region, time_zone) VALUES ($1, $2, 'Pipes', 'eu', 'UTC') ON CONFLICT DO NOTHING`,
      [orgA, `pipes-${orgA.slice(0, 8)}`],
    );
    const discovered = randomUUID();
    await p.sources.workspace.query(
      `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type, config) VALUES ($1, $2, $3, 'shop', 'SOURCE', 'POSTGRES', $4)`,
      [discovered, orgA, wsA, JSON.stringify({ type: 'POSTGRES', host: 'shop.db.internal', port: 5432, database: 'shop', user: 'etl', sslMode: 'prefer' })],
    );
    // A snapshot built by the schema service's own write side (as if a worker had reported it); its event reaches the workspace's replica.
    const snapshots = new SourceSnapshotDao(p.app.schema);
    const run = { orgId: orgA, workspaceId: wsA, connectionId: discovered, runId: randomUUID() };
    const column = (name: string, ordinal: number) => ({ name, type: 'integer', nullable: false, ordinal, profile: null });
    await snapshots.stage({
      ...run,
      table: {
        schema: 'public',
        name: 'orders',
        kind: 'TABLE',
        rowEstimate: 3,
        primaryKey: ['id'],
        foreignKeys: [],
        columns: [column('id', 1), column('version', 2)],
      },
    });
    await snapshots.stage({
      ...run,
      table: { schema: 'public', name: 'audit', kind: 'TABLE', rowEstimate: 3, primaryKey: [], foreignKeys: [], columns: [column('seq', 1)] },
    });
    await snapshots.complete({ ...run, tableCount: 2, completedAt: new Date().toISOString() });
    for (const until = Date.now() + 30_000; ;) {
      const [{ n }] = await p.sources.workspace.query(`SELECT count(*)::int AS n FROM workspace.source_snapshot_ref WHERE connection_id = $1 AND complete`, [
        discovered,
      ]);
      if (n === 1) break;
      if (Date.now() > until) throw new Error('the snapshot did not reach the workspace replica in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await countPipelines();
    const refused = await create(editorA, {
      name: 'Checked',
      definition: definition({
        sources: [
          {
            connectionId: discovered,
            tables: ['public.orders', 'public.Orders', 'audit', 'nope; drop table x'],
            patterns: ['nothing_yet_*'],
            incremental: [
              { table: 'public.orders', cursorColumn: 'updated_at', primaryKey: ['id', 'nope'] },
              { table: 'audit', cursorColumn: 'seq' },
            ],
          },
          { connectionId: src, tables: ['public.anything'] },
        ],
      }),
    });
    expect(refused.pipeline).toBeNull();
    expect(codes(refused)).toEqual([
      'TABLE_NOT_DISCOVERED@definition.sources.0.tables.1',
      'TABLE_NOT_DISCOVERED@definition.sources.0.tables.3',
      'COLUMN_NOT_FOUND@definition.sources.0.incremental.0.cursorColumn',
      'COLUMN_NOT_FOUND@definition.sources.0.incremental.0.primaryKey.1',
      'PRIMARY_KEY_REQUIRED@definition.sources.0.incremental.1.primaryKey',
    ]);
    expect(refused.errors[0]!.message).toMatch(
      /"public\.Orders" is not a table of the connection's latest discovery \(version 1\)\. Did you mean public\.orders\? Names are case-sensitive/,
    );
    expect(refused.errors[2]!.message).toMatch(/public\.orders has no column "updated_at" \(its columns: id, version\)/);
    expect(await countPipelines()).toBe(before);

    // Fixed: accepted (patterns are matched at run time; the undiscovered source is not checked).
    const ok = await create(editorA, {
      name: 'Checked',
      definition: definition({
        sources: [
          {
            connectionId: discovered,
            tables: ['public.orders', 'audit'],
            patterns: ['nothing_yet_*'],
            incremental: [
              { table: 'public.orders', cursorColumn: 'version' },
              { table: 'audit', cursorColumn: 'seq', primaryKey: ['seq'] },
            ],
          },
          { connectionId: src, tables: ['public.anything'] },
        ],
      }),
    });
    expect(ok.errors).toEqual([]);
    // updatePipeline checks the same way.
    const upd = payload(
      await gql(editorA, UPDATE, { id: ok.pipeline!.id, i: { definition: definition({ sources: [{ connectionId: discovered, tables: ['public.gone'] }] }) } }),
      'updatePipeline',
    );
    expect(codes(upd)).toEqual(['TABLE_NOT_DISCOVERED@definition.sources.0.tables.0']);
  });
});
