import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { Kind, type ObjectTypeDefinitionNode } from 'graphql';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, ANONYMOUS, type Viewer } from '@datalinx/graphql-kit';
import type { DataSource } from 'typeorm';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMonitoringServer, typeDefs } from '../src/app';
import { permissions } from '../src/graphql/permissions';
import { RunRecorder } from '../src/managers/run-recorder';
import { RunStepDao } from '../src/daos/run-step.dao';
import { RunDao } from '../src/daos/run.dao';
import { makeTestKeys, expiredAssertion, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';
import { at, newRunRef, stateEvent, stepEvent, type RunRef } from './support/run-events';

interface RunView {
  id: string;
  workspaceId: string;
  kind: string;
  subjectId: string;
  state: string;
  attempts: number;
  error: { code: string; message: string } | null;
  summary: string | null;
  steps: Array<{ seq: number; name: string; status: string; message: string; durationMs: number; attempt: number; at: string }>;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const RUN_FIELDS = `id workspaceId kind subjectId state attempts error { code message } summary
  steps { seq name status message durationMs attempt at } createdAt startedAt finishedAt`;

describe('monitoring subgraph', () => {
  let db: TestDatabase;
  /** The admin: inspects rows of every org. */
  let ds: DataSource;
  /** The runtime role the service runs as (row-level security applies). */
  let app: DataSource;
  let keys: TestKeys;
  let server: Awaited<ReturnType<typeof createMonitoringServer>>;
  let httpServer: http.Server;
  let url: string;

  const orgA = randomUUID();
  const orgB = randomUUID();
  const wsA1 = randomUUID();
  const wsA2 = randomUUID();
  const wsB1 = randomUUID();
  /** Org A, viewer grant on A1 only. */
  const alice = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA1, role: 'VIEWER' }] });
  /** Org A, grant on A2 only: same tenant, other workspace. */
  const carol = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA2, role: 'EDITOR' }] });
  /** Org B ADMIN: EDITOR in every workspace id it names, but none of org A's. */
  const bob = userViewer({ orgId: orgB, orgRole: 'ADMIN' });

  let succeeded: RunRef;
  let failed: RunRef;
  let inA2: RunRef;
  let inB1: RunRef;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    // Seeded through the real write path (the consumer's recorder), as the runtime role.
    const rec = new RunRecorder(app);
    succeeded = newRunRef({ orgId: orgA, workspaceId: wsA1 });
    for (const e of [
      stateEvent(succeeded, 'QUEUED', { at: at(0) }),
      stateEvent(succeeded, 'STARTED', { at: at(1000) }),
      stepEvent(succeeded, 0, { step: 'resolve-host', at: at(1100), durationMs: 3 }),
      stepEvent(succeeded, 1, { step: 'connect', at: at(1200), durationMs: 40 }),
      stepEvent(succeeded, 2, { step: 'list-schemas', at: at(1300), durationMs: 7 }),
      stateEvent(succeeded, 'SUCCESS', { at: at(2000), summary: '3 schemas visible' }),
    ])
      await rec.record(e);
    failed = newRunRef({ orgId: orgA, workspaceId: wsA1, kind: 'pipeline.run' });
    for (const e of [
      stateEvent(failed, 'QUEUED', { at: at(5000) }),
      stateEvent(failed, 'STARTED', { at: at(5100), dagster: { runId: 'dagster-run-1', url: 'http://127.0.0.1:3070/runs/dagster-run-1' } }),
      stepEvent(failed, 0, { step: 'sync', status: 'FAILURE', message: 'relation "orders" does not exist', at: at(5500) }),
      stateEvent(failed, 'FAILURE', { at: at(6000), error: { code: 'SOURCE_TABLE_MISSING', message: 'relation "orders" does not exist' } }),
    ])
      await rec.record(e);
    inA2 = newRunRef({ orgId: orgA, workspaceId: wsA2 });
    await rec.record(stateEvent(inA2, 'STARTED', { at: at(7000) }));
    inB1 = newRunRef({ orgId: orgB, workspaceId: wsB1 });
    await rec.record(stateEvent(inB1, 'STARTED', { at: at(8000) }));

    server = await createMonitoringServer({ ds: app, verifier: keys.verifier, log: createLogger('monitoring-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  afterEach(() => jest.restoreAllMocks());

  const as = async (viewer: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) });
  const runQuery = `query($id: ID!){ run(id: $id) { ${RUN_FIELDS} } }`;
  const entitiesQuery = `query($r:[_Any!]!){ _entities(representations:$r){ ... on Run { id state kind } } }`;

  describe('viewer assertion', () => {
    it('rejects a request without an assertion with 401', async () => {
      const res = await postGraphQL(url, '{ _service { sdl } }');
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'ASSERTION_MISSING' });
    });

    it('rejects an expired assertion with 401', async () => {
      const res = await postGraphQL(url, runQuery, { id: succeeded.runId }, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, alice) });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.reason).toBe('ASSERTION_EXPIRED');
      expect(res.body.data).toBeUndefined();
    });

    it('rejects _entities without an assertion with 401', async () => {
      const res = await postGraphQL(url, entitiesQuery, { r: [{ __typename: 'Run', id: succeeded.runId }] });
      expect(res.status).toBe(401);
      expect(res.body.data).toBeUndefined();
    });
  });

  it('has a shield rule for every root field', () => {
    const query = typeDefs.definitions.find((d): d is ObjectTypeDefinitionNode => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === 'Query');
    const fields = query!.fields!.map((f) => f.name.value).sort();
    expect(fields).toEqual(['auditLog', 'platform', 'run', 'runs']);
    expect(Object.keys(permissions.Query).sort()).toEqual(fields);
  });

  it('reads a run with its error, steps and times', async () => {
    const res = await postGraphQL<{ run: RunView }>(url, runQuery, { id: succeeded.runId }, await as(alice));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.run).toEqual({
      id: succeeded.runId,
      workspaceId: wsA1,
      kind: 'connection.test',
      subjectId: succeeded.subjectId,
      state: 'SUCCESS',
      attempts: 1,
      error: null,
      summary: '3 schemas visible',
      steps: [
        { seq: 0, name: 'resolve-host', status: 'SUCCESS', message: 'step 0 done', durationMs: 3, attempt: 1, at: at(1100) },
        { seq: 1, name: 'connect', status: 'SUCCESS', message: 'step 1 done', durationMs: 40, attempt: 1, at: at(1200) },
        { seq: 2, name: 'list-schemas', status: 'SUCCESS', message: 'step 2 done', durationMs: 7, attempt: 1, at: at(1300) },
      ],
      createdAt: at(0),
      startedAt: at(1000),
      finishedAt: at(2000),
    });
    const f = await postGraphQL<{ run: RunView }>(
      url,
      `query($id: ID!){ run(id: $id) { state error { code message } dagster { runId url } } }`,
      { id: failed.runId },
      await as(alice),
    );
    expect(f.body.data?.run).toEqual({
      state: 'FAILURE',
      error: { code: 'SOURCE_TABLE_MISSING', message: 'relation "orders" does not exist' },
      dagster: { runId: 'dagster-run-1', url: 'http://127.0.0.1:3070/runs/dagster-run-1' },
    });
  });

  it('resolves a Run entity reference for a viewer who may read it', async () => {
    const res = await postGraphQL(
      url,
      entitiesQuery,
      {
        r: [
          { __typename: 'Run', id: succeeded.runId },
          { __typename: 'Run', id: inB1.runId },
        ],
      },
      await as(alice),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ _entities: [{ id: succeeded.runId, state: 'SUCCESS', kind: 'connection.test' }, null] });
  });

  describe('tenant isolation', () => {
    it('gives a user of org B nothing of org A, through run, runs and _entities', async () => {
      const root = await postGraphQL(url, runQuery, { id: succeeded.runId }, await as(bob));
      expect(root.body).toEqual({ data: { run: null } });
      const entities = await postGraphQL(
        url,
        entitiesQuery,
        {
          r: [
            { __typename: 'Run', id: succeeded.runId },
            { __typename: 'Run', id: inA2.runId },
          ],
        },
        await as(bob),
      );
      expect(entities.body).toEqual({ data: { _entities: [null, null] } });
      // Shield lets an org ADMIN name any workspace id; the org filter still returns nothing.
      const list = await postGraphQL(url, `query($ws: ID!){ runs(workspaceId: $ws) { nodes { id } pageInfo { hasNextPage } } }`, { ws: wsA1 }, await as(bob));
      expect(list.body).toEqual({ data: { runs: { nodes: [], pageInfo: { hasNextPage: false } } } });
      const own = await postGraphQL(url, runQuery, { id: inB1.runId }, await as(bob));
      expect(own.body.data).toMatchObject({ run: { id: inB1.runId, workspaceId: wsB1 } });
    });

    it('gives a user of the same org nothing of a workspace it has no grant in', async () => {
      const root = await postGraphQL(url, runQuery, { id: succeeded.runId }, await as(carol));
      expect(root.body).toEqual({ data: { run: null } });
      const entities = await postGraphQL(url, entitiesQuery, { r: [{ __typename: 'Run', id: succeeded.runId }] }, await as(carol));
      expect(entities.body).toEqual({ data: { _entities: [null] } });
      const list = await postGraphQL(url, `query($ws: ID!){ runs(workspaceId: $ws) { nodes { id } } }`, { ws: wsA1 }, await as(carol));
      expect(list.body.data).toBeNull();
      expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const mine = await postGraphQL(url, runQuery, { id: inA2.runId }, await as(carol));
      expect(mine.body.data).toMatchObject({ run: { id: inA2.runId } });
    });

    it('answers anonymous viewers with UNAUTHENTICATED and entity references with null', async () => {
      const root = await postGraphQL(url, runQuery, { id: succeeded.runId }, await as(ANONYMOUS));
      expect(root.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(root.body.data).toEqual({ run: null });
      const list = await postGraphQL(url, `query($ws: ID!){ runs(workspaceId: $ws) { nodes { id } } }`, { ws: wsA1 }, await as(ANONYMOUS));
      expect(list.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const entities = await postGraphQL(
        url,
        `query($r:[_Any!]!){ _entities(representations:$r){ ... on Run { id } } }`,
        { r: [{ __typename: 'Run', id: succeeded.runId }] },
        await as(ANONYMOUS),
      );
      expect(entities.body.data).toEqual({ _entities: [null] });
    });

    it('treats an id that is not a run id as not found', async () => {
      const res = await postGraphQL(url, runQuery, { id: 'not-a-uuid' }, await as(alice));
      expect(res.body).toEqual({ data: { run: null } });
    });
  });

  describe('runs', () => {
    const listQuery = `query($ws: ID!, $first: Int, $after: String, $kind: String, $state: RunState){
      runs(workspaceId: $ws, first: $first, after: $after, kind: $kind, state: $state) { nodes { id state } pageInfo { hasNextPage endCursor } } }`;
    type ListData = { runs: { nodes: Array<{ id: string; state: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

    it('lists a workspace newest first, page by page, and filters by kind and state', async () => {
      const p1 = await postGraphQL<ListData>(url, listQuery, { ws: wsA1, first: 1 }, await as(alice));
      expect(p1.body.errors).toBeUndefined();
      expect(p1.body.data?.runs.nodes).toEqual([{ id: failed.runId, state: 'FAILURE' }]);
      expect(p1.body.data?.runs.pageInfo.hasNextPage).toBe(true);
      const p2 = await postGraphQL<ListData>(url, listQuery, { ws: wsA1, first: 1, after: p1.body.data?.runs.pageInfo.endCursor }, await as(alice));
      expect(p2.body.data?.runs).toEqual({
        nodes: [{ id: succeeded.runId, state: 'SUCCESS' }],
        pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
      });
      const byKind = await postGraphQL<ListData>(url, listQuery, { ws: wsA1, kind: 'connection.test' }, await as(alice));
      expect(byKind.body.data?.runs.nodes.map((n) => n.id)).toEqual([succeeded.runId]);
      const byState = await postGraphQL<ListData>(url, listQuery, { ws: wsA1, state: 'FAILURE' }, await as(alice));
      expect(byState.body.data?.runs.nodes.map((n) => n.id)).toEqual([failed.runId]);
    });

    it('rejects a bad cursor and page size with typed errors', async () => {
      const bad = await postGraphQL(url, listQuery, { ws: wsA1, after: 'nope' }, await as(alice));
      expect(bad.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
      const big = await postGraphQL(url, listQuery, { ws: wsA1, first: 1000 }, await as(alice));
      expect(big.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    });

    it('loads the steps of a whole page in one query, and the page’s runs from the page itself', async () => {
      const steps = jest.spyOn(RunStepDao.prototype, 'listByRunIds');
      const byIds = jest.spyOn(RunDao.prototype, 'findByIds');
      const admin = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
      const res = await postGraphQL<{ runs: { nodes: Array<{ id: string; steps: Array<{ seq: number }> }> } }>(
        url,
        `query($ws: ID!){ runs(workspaceId: $ws) { nodes { id steps { seq } } } }`,
        { ws: wsA1 },
        await as(admin),
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.runs.nodes).toEqual([
        { id: failed.runId, steps: [{ seq: 0 }] },
        { id: succeeded.runId, steps: [{ seq: 0 }, { seq: 1 }, { seq: 2 }] },
      ]);
      expect(steps).toHaveBeenCalledTimes(1);
      expect(steps.mock.calls[0]?.[0]).toBe(orgA);
      expect([...(steps.mock.calls[0]?.[1] ?? [])].sort()).toEqual([failed.runId, succeeded.runId].sort());
      expect(byIds).not.toHaveBeenCalled();
    });
  });

  describe('platform', () => {
    it('owns the public Platform entry point and reports its status', async () => {
      const before = Date.now();
      const res = await postGraphQL<{ platform: { id: string; checkedAt: string; monitoring: Record<string, unknown> } }>(
        url,
        `{ platform { id checkedAt monitoring { service ok database latencyMs migrations { name version } } } }`,
        {},
        await as(ANONYMOUS),
      );
      expect(res.body.errors).toBeUndefined();
      const p = res.body.data!.platform;
      expect(p.id).toBe('datalinx');
      expect(Date.parse(p.checkedAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(p.monitoring).toMatchObject({ service: 'monitoring', ok: true, database: expect.stringMatching(/^PostgreSQL /) });
      expect(p.monitoring.migrations).toEqual([
        { name: 'Init1764500000000', version: new Date(1764500000000).toISOString() },
        { name: 'RowLevelSecurity1764600000000', version: new Date(1764600000000).toISOString() },
        { name: 'AuditLog1764700000000', version: new Date(1764700000000).toISOString() },
        { name: 'ConsumedEventPruning1765000000000', version: new Date(1765000000000).toISOString() },
        { name: 'DagsterRun1765100000000', version: new Date(1765100000000).toISOString() },
      ]);
    });

    it('resolves the Platform entity for the other subgraphs’ fields', async () => {
      const res = await postGraphQL(
        url,
        `query($r:[_Any!]!){ _entities(representations:$r){ ... on Platform { id monitoring { service ok } } } }`,
        { r: [{ __typename: 'Platform', id: 'datalinx' }] },
        await as(ANONYMOUS),
      );
      expect(res.body).toEqual({ data: { _entities: [{ id: 'datalinx', monitoring: { service: 'monitoring', ok: true } }] } });
    });
  });
});
