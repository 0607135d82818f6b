import type http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { isObjectType } from 'graphql';
import { createLogger } from '@datalinx/common';
import { connectNats, encodeJson, ensureStreams, type Nats, type PullWorker } from '@datalinx/messaging';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, ANONYMOUS, type Viewer } from '@datalinx/graphql-kit';
import { mappingDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMappingServer } from '../src/app';
import { permissions } from '../src/graphql/permissions';
import { MappingDao } from '../src/daos/mapping.dao';
import { WorkspaceRefDao } from '../src/daos/workspace-ref.dao';
import { startWorkspaceEventsConsumer, WORKSPACE_CREATED_V1 } from '../src/jobs/workspace-events.consumer';
import { MAPPING_CREATED_V1, mappingCreatedV1 } from '../src/events';
import { makeTestKeys, expiredAssertion, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';

const CREATE = `mutation($input: CreateMappingInput!){ createMapping(input: $input){
  mapping { id name targetTable version workspace { id } createdAt updatedAt }
  errors { code field message } } }`;
const LIST = `query($ws: ID!, $first: Int, $after: String){ mappings(workspaceId: $ws, first: $first, after: $after){
  nodes { id name } pageInfo { hasNextPage endCursor } } }`;
const ONE = `query($id: ID!){ mapping(id: $id){ id name workspace { id } } }`;
const ENTITIES = `query($r:[_Any!]!){ _entities(representations:$r){ ... on Mapping { id name targetTable } } }`;

interface CreatePayload {
  createMapping: {
    mapping: { id: string; name: string; targetTable: string; version: number; workspace: { id: string }; createdAt: string; updatedAt: string } | null;
    errors: Array<{ code: string; field: string | null; message: string }>;
  };
}
interface ListPayload {
  mappings: { nodes: Array<{ id: string; name: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

describe('mapping subgraph', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let server: Awaited<ReturnType<typeof createMappingServer>>;
  let httpServer: http.Server;
  let url: string;
  /** The admin: inspects rows of every org. */
  let ds: ReturnType<typeof mappingDataSource>;
  /** The runtime role the service runs as (row-level security applies). */
  let app: ReturnType<typeof mappingDataSource>;
  let kicks = 0;

  const orgA = randomUUID();
  const orgB = randomUUID();
  const wsA1 = randomUUID();
  const wsA2 = randomUUID();
  const wsA3 = randomUUID();
  const wsB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const editorA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA1, role: 'EDITOR' }] });
  const readerA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA1, role: 'VIEWER' }] });
  const otherWsA = userViewer({ orgId: orgA, grants: [{ workspaceId: wsA2, role: 'EDITOR' }] });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  const memberB = userViewer({ orgId: orgB, grants: [{ workspaceId: wsB, role: 'EDITOR' }] });
  const robotA: Viewer = {
    kind: 'service-account',
    serviceAccountId: randomUUID(),
    orgId: orgA,
    grants: [{ workspaceId: wsA1, role: 'EDITOR' }],
    keyId: 'key-1',
    authMethod: 'api-key',
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await mappingDataSource(db.url).initialize();
    app = await mappingDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    server = await createMappingServer({ ds: app, verifier: keys.verifier, log: createLogger('mapping-test', 'silent'), afterCommit: () => void kicks++ });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
    // What the workspace-events consumer would have recorded: the workspaces each org owns.
    const refs = new WorkspaceRefDao(app);
    for (const [org, ws] of [
      [orgA, wsA1],
      [orgA, wsA2],
      [orgA, wsA3],
      [orgB, wsB],
    ] as const)
      await refs.upsert(org, ws);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const as = async (v: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(v, randomUUID()) });
  const create = async (v: Viewer, input: Record<string, unknown>) => postGraphQL<CreatePayload>(url, CREATE, { input }, await as(v));
  const counts = async () => {
    const [row] = await ds.query(`SELECT (SELECT count(*) FROM mapping.mapping)::int AS mappings, (SELECT count(*) FROM mapping.outbox)::int AS events`);
    return row as { mappings: number; events: number };
  };
  /** Creates a mapping that must succeed and returns it. */
  const created = async (v: Viewer, input: { workspaceId: string; name: string; targetTable: string }) => {
    const res = await create(v, input);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.createMapping.errors).toEqual([]);
    return res.body.data!.createMapping.mapping!;
  };

  describe('viewer assertion', () => {
    it('rejects a request without an assertion with 401, _service included', async () => {
      const res = await postGraphQL(url, '{ _service { sdl } }');
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'ASSERTION_MISSING' });
    });

    it('rejects an expired assertion with 401', async () => {
      const res = await postGraphQL(url, LIST, { ws: wsA1 }, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, adminA) });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.reason).toBe('ASSERTION_EXPIRED');
      expect(res.body.data).toBeUndefined();
    });

    it('rejects _entities without an assertion, and with an expired one, with 401', async () => {
      const r = { r: [{ __typename: 'Mapping', id: randomUUID() }] };
      expect((await postGraphQL(url, ENTITIES, r)).status).toBe(401);
      const expired = await postGraphQL(url, ENTITIES, r, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, adminA) });
      expect(expired.status).toBe(401);
    });

    it('writes nothing for a mutation without a valid assertion', async () => {
      const before = await counts();
      const input = { workspaceId: wsA1, name: 'Sneaky', targetTable: 'sneaky' };
      expect((await postGraphQL(url, CREATE, { input })).status).toBe(401);
      expect((await postGraphQL(url, CREATE, { input }, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, adminA) })).status).toBe(401);
      expect(await counts()).toEqual(before);
    });

    it('answers _service with a valid assertion', async () => {
      const res = await postGraphQL<{ _service: { sdl: string } }>(url, '{ _service { sdl } }', {}, await as(ANONYMOUS));
      expect(res.status).toBe(200);
      expect(res.body.data?._service.sdl).toContain('type Mapping');
    });
  });

  it('has a shield rule for every root field', () => {
    for (const [typeName, rules] of [
      ['Query', permissions.Query],
      ['Mutation', permissions.Mutation],
    ] as const) {
      const type = server.schema.getType(typeName);
      if (!isObjectType(type)) throw new Error(`${typeName} missing`);
      const missing = Object.keys(type.getFields()).filter((f) => !f.startsWith('_') && !(rules as Record<string, unknown>)[f]);
      expect(missing).toEqual([]);
    }
  });

  it('creates a mapping and its outbox event in one transaction', async () => {
    const before = await counts();
    const kicksBefore = kicks;
    const m = await created(editorA, { workspaceId: wsA1, name: '  Customers  ', targetTable: 'dim_customer' });
    expect(m).toMatchObject({ name: 'Customers', targetTable: 'dim_customer', version: 1, workspace: { id: wsA1 } });
    expect(new Date(m.createdAt).toISOString()).toBe(m.createdAt);
    expect(await counts()).toEqual({ mappings: before.mappings + 1, events: before.events + 1 });
    expect(kicks).toBe(kicksBefore + 1);

    const [row] = await ds.query(`SELECT org_id, workspace_id, name, target_table, version, xmin::text AS tx FROM mapping.mapping WHERE id = $1`, [m.id]);
    expect(row).toMatchObject({ org_id: orgA, workspace_id: wsA1, name: 'Customers', target_table: 'dim_customer', version: 1 });
    const events = await ds.query(`SELECT id, subject, payload, sent_at, xmin::text AS tx FROM mapping.outbox WHERE payload->>'mappingId' = $1`, [m.id]);
    expect(events).toHaveLength(1);
    const [ev] = events;
    // Same xmin: the row and its event were written by the same transaction.
    expect(ev.tx).toBe(row.tx);
    expect(ev.subject).toBe(MAPPING_CREATED_V1);
    expect(ev.sent_at).toBeNull();
    // The bare body, like every other service's events.
    expect(mappingCreatedV1.parse(ev.payload)).toEqual({
      orgId: orgA,
      mappingId: m.id,
      workspaceId: wsA1,
      name: 'Customers',
      targetTable: 'dim_customer',
      targetTableId: null,
      version: 1,
      actor: { kind: 'user', id: (editorA as { userId: string }).userId },
    });
  });

  it('records a service account as the actor', async () => {
    const m = await created(robotA, { workspaceId: wsA1, name: 'Orders (API)', targetTable: 'fct_order' });
    const [ev] = await ds.query(`SELECT payload FROM mapping.outbox WHERE payload->>'mappingId' = $1`, [m.id]);
    expect(ev.payload.actor).toEqual({ kind: 'service-account', id: (robotA as { serviceAccountId: string }).serviceAccountId });
  });

  it('returns validation failures as typed payload errors and writes nothing', async () => {
    await created(adminA, { workspaceId: wsA1, name: 'Products', targetTable: 'dim_product' });
    const before = await counts();
    const kicksBefore = kicks;
    const cases: Array<[Viewer, Record<string, unknown>, Array<{ code: string; field: string }>]> = [
      [editorA, { workspaceId: wsA1, name: '   ', targetTable: 'x' }, [{ code: 'NAME_REQUIRED', field: 'name' }]],
      [editorA, { workspaceId: wsA1, name: 'n'.repeat(101), targetTable: 'x' }, [{ code: 'NAME_TOO_LONG', field: 'name' }]],
      [editorA, { workspaceId: wsA1, name: 'tab\tinside', targetTable: 'x' }, [{ code: 'NAME_INVALID', field: 'name' }]],
      [editorA, { workspaceId: wsA1, name: 'Ok', targetTable: 'Dim Customer' }, [{ code: 'TARGET_TABLE_INVALID', field: 'targetTable' }]],
      [
        editorA,
        { workspaceId: wsA1, name: '', targetTable: '1st' },
        [
          { code: 'NAME_REQUIRED', field: 'name' },
          { code: 'TARGET_TABLE_INVALID', field: 'targetTable' },
        ],
      ],
      [editorA, { workspaceId: wsA1, name: 'PRODUCTS', targetTable: 'other' }, [{ code: 'NAME_TAKEN', field: 'name' }]],
      [adminA, { workspaceId: 'not-a-uuid', name: 'Ok', targetTable: 'ok' }, [{ code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId' }]],
    ];
    for (const [viewer, input, expected] of cases) {
      const res = await create(viewer, input);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.createMapping.mapping).toBeNull();
      expect(res.body.data?.createMapping.errors.map(({ code, field }) => ({ code, field }))).toEqual(expected);
      for (const e of res.body.data!.createMapping.errors) expect(e.message.length).toBeGreaterThan(0);
    }
    // 100 characters (counted as characters, not UTF-16 units) is still fine.
    await created(editorA, { workspaceId: wsA1, name: '🙂'.repeat(100), targetTable: 'emoji' });
    expect(await counts()).toEqual({ mappings: before.mappings + 1, events: before.events + 1 });
    expect(kicks).toBe(kicksBefore + 1);
  });

  it('lets only one of many concurrent creates with the same name win, writing one row and one event', async () => {
    const before = await counts();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => create(adminA, { workspaceId: wsA1, name: i % 2 ? 'Race' : 'RACE', targetTable: 'race' })),
    );
    const payloads = results.map((r) => r.body.data!.createMapping);
    expect(payloads.filter((p) => p.mapping !== null)).toHaveLength(1);
    expect(payloads.filter((p) => p.errors.length === 1 && p.errors[0]!.code === 'NAME_TAKEN')).toHaveLength(5);
    expect(await counts()).toEqual({ mappings: before.mappings + 1, events: before.events + 1 });
  });

  it('allows the same name in another workspace, and never reveals names of another org', async () => {
    await created(adminA, { workspaceId: wsA2, name: 'Customers', targetTable: 'dim_customer' });
    // Org B may use the same name in its own workspace; its row stays in org B.
    const b = await created(adminB, { workspaceId: wsB, name: 'Customers', targetTable: 'dim_customer' });
    const [row] = await ds.query(`SELECT org_id FROM mapping.mapping WHERE id = $1`, [b.id]);
    expect(row.org_id).toBe(orgB);
    const listA = await postGraphQL<ListPayload>(url, LIST, { ws: wsA1, first: 200 }, await as(adminA));
    expect(listA.body.data?.mappings.nodes.map((n) => n.id)).not.toContain(b.id);
  });

  it('refuses a workspace of another org, or an unknown one, with WORKSPACE_NOT_FOUND, writing nothing', async () => {
    const before = await counts();
    const kicksBefore = kicks;
    // Org B's ADMIN holds EDITOR on every workspace id: only the replica tells org A's apart.
    // No NAME_TAKEN oracle either ('Customers' exists in wsA1's neighbour wsA2 and in wsB).
    for (const [viewer, workspaceId] of [
      [adminB, wsA1],
      [adminB, wsA2],
      [adminB, randomUUID()],
      [adminA, wsB],
      [adminA, randomUUID()],
    ] as const) {
      const res = await create(viewer, { workspaceId, name: 'Customers', targetTable: 'dim_customer' });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.createMapping.mapping).toBeNull();
      expect(res.body.data?.createMapping.errors).toEqual([
        { code: 'WORKSPACE_NOT_FOUND', field: 'workspaceId', message: expect.stringMatching(/no such workspace in your organization.*try again/i) },
      ]);
    }
    expect(await counts()).toEqual(before);
    expect(kicks).toBe(kicksBefore);
  });

  it('denies writes without mappings:write in the workspace, writing nothing', async () => {
    const before = await counts();
    // A reader of the workspace sees it: the denial is a payload error (graphql-kit README).
    const reader = await create(readerA, { workspaceId: wsA1, name: 'Denied', targetTable: 'denied' });
    expect(reader.body.errors).toBeUndefined();
    expect(reader.body.data?.createMapping).toEqual({ mapping: null, errors: [{ code: 'FORBIDDEN', field: 'workspaceId', message: expect.any(String) }] });
    for (const [viewer, code] of [
      [otherWsA, 'FORBIDDEN'],
      [memberB, 'FORBIDDEN'],
      [ANONYMOUS, 'UNAUTHENTICATED'],
    ] as const) {
      const res = await create(viewer, { workspaceId: wsA1, name: 'Denied', targetTable: 'denied' });
      expect(res.body.errors?.[0]?.extensions?.code).toBe(code);
      expect(res.body.data).toBeNull();
    }
    expect(await counts()).toEqual(before);
  });

  it('shows a mapping to viewers of its workspace, by root field and _entities', async () => {
    const m = await created(editorA, { workspaceId: wsA1, name: 'Invoices', targetTable: 'fct_invoice' });
    for (const v of [readerA, editorA, adminA, robotA]) {
      const one = await postGraphQL(url, ONE, { id: m.id }, await as(v));
      expect(one.body).toEqual({ data: { mapping: { id: m.id, name: 'Invoices', workspace: { id: wsA1 } } } });
    }
    const ent = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'Mapping', id: m.id }] }, await as(readerA));
    expect(ent.body).toEqual({ data: { _entities: [{ id: m.id, name: 'Invoices', targetTable: 'fct_invoice' }] } });
  });

  it('gives org B (and org A users without a grant) nothing of org A’s mappings', async () => {
    const m = await created(editorA, { workspaceId: wsA1, name: 'Secret', targetTable: 'secret' });
    for (const v of [adminB, memberB, otherWsA]) {
      const one = await postGraphQL(url, ONE, { id: m.id }, await as(v));
      expect(one.body).toEqual({ data: { mapping: null } });
      const ent = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'Mapping', id: m.id }] }, await as(v));
      expect(ent.body).toEqual({ data: { _entities: [null] } });
    }
    for (const v of [memberB, otherWsA]) {
      const list = await postGraphQL(url, LIST, { ws: wsA1 }, await as(v));
      expect(list.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(list.body.data).toBeNull();
    }
    // An org B admin passes the coarse workspace check, but the data is filtered by org.
    const listB = await postGraphQL<ListPayload>(url, LIST, { ws: wsA1, first: 200 }, await as(adminB));
    expect(listB.body.errors).toBeUndefined();
    expect(listB.body.data?.mappings.nodes).toEqual([]); // org B's 'Customers' (an earlier test) is in org B's own workspace
    const anon = await postGraphQL(url, ONE, { id: m.id }, await as(ANONYMOUS));
    expect(anon.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const anonEnt = await postGraphQL(url, ENTITIES, { r: [{ __typename: 'Mapping', id: m.id }] }, await as(ANONYMOUS));
    expect(anonEnt.body.data).toEqual({ _entities: [null] });
    expect(anonEnt.body.errors).toBeUndefined();
  });

  it('resolves many references with one query, null for unknown and malformed ids', async () => {
    const a = await created(adminA, { workspaceId: wsA1, name: 'Ref A', targetTable: 'ref_a' });
    const b = await created(adminA, { workspaceId: wsA2, name: 'Ref B', targetTable: 'ref_b' });
    const spy = jest.spyOn(MappingDao.prototype, 'findByIds');
    try {
      const res = await postGraphQL(url, ENTITIES, { r: [a.id, b.id, randomUUID(), 'nope'].map((id) => ({ __typename: 'Mapping', id })) }, await as(adminA));
      expect(res.body).toEqual({
        data: { _entities: [{ id: a.id, name: 'Ref A', targetTable: 'ref_a' }, { id: b.id, name: 'Ref B', targetTable: 'ref_b' }, null, null] },
      });
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('pages a workspace newest first with a cursor, every row exactly once', async () => {
    const names: string[] = [];
    for (let i = 0; i < 7; i++) names.push((await created(adminA, { workspaceId: wsA2, name: `Paged ${i}`, targetTable: `paged_${i}` })).name);
    const expected: Array<{ id: string }> = await ds.query(
      `SELECT id FROM mapping.mapping WHERE org_id = $1 AND workspace_id = $2 ORDER BY created_at DESC, id DESC`,
      [orgA, wsA2],
    );
    const seen: string[] = [];
    const hasNext: boolean[] = [];
    let after: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof postGraphQL<ListPayload>>> = await postGraphQL<ListPayload>(
        url,
        LIST,
        { ws: wsA2, first: 3, after },
        await as(adminA),
      );
      expect(res.body.errors).toBeUndefined();
      const page = res.body.data!.mappings;
      seen.push(...page.nodes.map((n) => n.id));
      hasNext.push(page.pageInfo.hasNextPage);
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(expected.map((r) => r.id));
    expect(expected.length).toBe(7 + 2); // 'Customers' and 'Ref B' live here too
    expect(hasNext).toEqual([true, true, false]);
  });

  it('keeps rows created within the same millisecond on the right pages', async () => {
    const at = new Date();
    const ids: Array<{ id: string }> = await ds.query(
      `INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table, created_at, updated_at)
       SELECT $1, $2, 'Tie ' || g, 'tie', t, t FROM generate_series(1, 5) g, LATERAL (SELECT $3::timestamptz + g * interval '1 microsecond' AS t) x
       RETURNING id`,
      [orgA, wsA3, at],
    );
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof postGraphQL<ListPayload>>> = await postGraphQL<ListPayload>(
        url,
        LIST,
        { ws: wsA3, first: 2, after },
        await as(adminA),
      );
      seen.push(...res.body.data!.mappings.nodes.map((n) => n.id));
      after = res.body.data!.mappings.pageInfo.hasNextPage ? res.body.data!.mappings.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(
      ids
        .map((r) => r.id)
        .sort()
        .reverse(),
    );
  });

  it('rejects a bad cursor or page size with typed errors', async () => {
    for (const vars of [
      { ws: wsA1, after: 'nope' },
      { ws: wsA1, after: Buffer.from(`${new Date().toISOString()}|${'-'.repeat(36)}`).toString('base64url') },
      { ws: wsA1, first: 0 },
      { ws: wsA1, first: 201 },
    ]) {
      const res = await postGraphQL(url, LIST, vars, await as(adminA));
      expect(res.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    }
  });

  it('lists nothing for a malformed workspace id, as for one that does not exist', async () => {
    for (const ws of ['not-a-uuid', randomUUID()]) {
      const res = await postGraphQL(url, LIST, { ws }, await as(adminA));
      expect(res.body).toEqual({ data: { mappings: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } } });
    }
  });

  it('hides other orgs’ rows at the database too (row-level security)', async () => {
    const role = `dlx_rt_${randomBytes(4).toString('hex')}`;
    await ds.query(`CREATE ROLE ${role} NOLOGIN NOSUPERUSER NOBYPASSRLS`);
    try {
      await ds.query(`GRANT USAGE ON SCHEMA mapping TO ${role}`);
      await ds.query(`GRANT SELECT, INSERT ON mapping.mapping TO ${role}`);
      const [{ total }] = await ds.query(`SELECT count(*)::int AS total FROM mapping.mapping`);
      const [{ a }] = await ds.query(`SELECT count(*)::int AS a FROM mapping.mapping WHERE org_id = $1`, [orgA]);
      const asRole = (orgId: string | null, sql: string, params: unknown[] = []) =>
        ds.transaction(async (em) => {
          await em.query(`SET LOCAL ROLE ${role}`);
          if (orgId) await em.query(`SELECT set_config('app.current_org_id', $1, true)`, [orgId]);
          return em.query(sql, params);
        });
      expect(total).toBeGreaterThan(a);
      expect(await asRole(orgA, `SELECT count(*)::int AS n FROM mapping.mapping`)).toEqual([{ n: a }]);
      expect(await asRole(orgA, `SELECT count(*)::int AS n FROM mapping.mapping WHERE org_id = $1`, [orgB])).toEqual([{ n: 0 }]);
      expect(await asRole(null, `SELECT count(*)::int AS n FROM mapping.mapping`)).toEqual([{ n: 0 }]);
      await expect(
        asRole(orgA, `INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table) VALUES ($1, $2, 'Planted', 'planted')`, [orgB, wsB]),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await ds.query(`DROP OWNED BY ${role}`);
      await ds.query(`DROP ROLE ${role}`);
    }
  });

  it('contributes its status to the federated Platform entity', async () => {
    const res = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on Platform { mapping { service ok database migrations { name } } } } }`,
      { r: [{ __typename: 'Platform', id: 'datalinx' }] },
      await as(ANONYMOUS),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toMatchObject({
      _entities: [
        {
          mapping: {
            service: 'mapping',
            ok: true,
            migrations: [
              { name: 'Init1764400000000' },
              { name: 'WorkspaceRef1764500000000' },
              { name: 'Promotions1764600000000' },
              { name: 'MappingSpec1765300000000' },
              { name: 'DbtProjects1765400000000' },
              { name: 'CanonicalTypeRefs1765500000000' },
            ],
          },
        },
      ],
    });
  });

  it('has a reversible migration', async () => {
    const scratch = await createTestDatabase();
    const other = mappingDataSource(scratch.url, 2);
    try {
      await migrate(scratch.url);
      await other.initialize();
      const tables = async () =>
        (await other.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'mapping' ORDER BY 1`)).map(
          (r: { table_name: string }) => r.table_name,
        );
      expect(await tables()).toEqual([
        'canonical_type_ref',
        'dbt_project',
        'drift_notice',
        'mapping',
        'mapping_version',
        'migrations',
        'outbox',
        'promotion_applied',
        'source_snapshot_ref',
        'source_table_ref',
        'target_schema_ref',
        'workspace_ref',
      ]);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).not.toContain('canonical_type_ref');
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).not.toContain('dbt_project');
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual(['mapping', 'migrations', 'outbox', 'promotion_applied', 'workspace_ref']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual(['mapping', 'migrations', 'outbox', 'workspace_ref']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual(['mapping', 'migrations', 'outbox']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual(['migrations']);
      await other.destroy();
      expect(await migrate(scratch.url)).toEqual([
        'Init1764400000000',
        'WorkspaceRef1764500000000',
        'Promotions1764600000000',
        'MappingSpec1765300000000',
        'DbtProjects1765400000000',
        'CanonicalTypeRefs1765500000000',
      ]);
    } finally {
      if (other.isInitialized) await other.destroy();
      await scratch.drop();
    }
  });
  describe('workspace-events consumer (EVENTS workspace.workspace.created.v1 → mapping.workspace_ref)', () => {
    let nats: Nats;
    let worker: PullWorker | undefined;
    const durable = `mapping-workspaces-test-${randomUUID().slice(0, 8)}`;
    const orgC = randomUUID();

    beforeAll(async () => {
      const natsUrl = process.env.NATS_URL;
      if (!natsUrl) throw new Error('NATS_URL is not set: run tests with `npm test`.');
      nats = await connectNats(natsUrl, 'mapping-test');
      await ensureStreams(nats.jsm);
      // The shared stream holds other tests' workspaces too: record only this test's org.
      worker = await startWorkspaceEventsConsumer({
        js: nats.js,
        jsm: nats.jsm,
        dao: new WorkspaceRefDao(app),
        log: createLogger('mapping-test', 'silent'),
        durable,
        accept: async (ev) => ev.orgId === orgC,
      });
    });

    afterAll(async () => {
      await worker?.stop();
      await nats?.jsm.consumers.delete('EVENTS', durable).catch(() => undefined);
      await nats?.close();
    });

    const refsOf = async (org: string): Promise<Array<{ workspace_id: string }>> =>
      ds.query(`SELECT workspace_id FROM mapping.workspace_ref WHERE org_id = $1`, [org]);

    it('records a created workspace once, even when the event is delivered twice, and then allows mappings in it', async () => {
      const wsC = randomUUID();
      const body = { orgId: orgC, workspaceId: wsC, slug: 'gamma', environment: 'DEV' };
      // Two distinct messages (different msgIDs), so JetStream's de-duplication does not hide the second.
      await nats.js.publish(WORKSPACE_CREATED_V1, encodeJson(body), { msgID: randomUUID() });
      await nats.js.publish(WORKSPACE_CREATED_V1, encodeJson(body), { msgID: randomUUID() });
      for (const deadline = Date.now() + 15_000; ;) {
        const info = await nats.jsm.consumers.info('EVENTS', durable);
        if ((await refsOf(orgC)).length > 0 && info.num_pending === 0 && info.num_ack_pending === 0) break;
        if (Date.now() > deadline) throw new Error('the consumer did not record the workspace in 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await refsOf(orgC)).toEqual([{ workspace_id: wsC }]);
      const adminC = userViewer({ orgId: orgC, orgRole: 'ADMIN' });
      const m = await created(adminC, { workspaceId: wsC, name: 'Gamma', targetTable: 'gamma' });
      expect(m.workspace).toEqual({ id: wsC });
    });

    it('terminates an invalid event without recording anything', async () => {
      const before = await ds.query(`SELECT count(*)::int AS n FROM mapping.workspace_ref`);
      await nats.js.publish(WORKSPACE_CREATED_V1, encodeJson({ orgId: orgC, workspaceId: 'not-a-uuid' }), { msgID: randomUUID() });
      for (const deadline = Date.now() + 15_000; ;) {
        const info = await nats.jsm.consumers.info('EVENTS', durable);
        if (info.num_pending === 0 && info.num_ack_pending === 0) break;
        if (Date.now() > deadline) throw new Error('the consumer did not settle in 15 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await ds.query(`SELECT count(*)::int AS n FROM mapping.workspace_ref`)).toEqual(before);
    });
  });
});
