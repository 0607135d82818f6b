/**
 * `schema.canonical_type.created.v1`: creating a custom canonical type writes its event to the
 * schema service's outbox in the same transaction (a refused create writes neither), carrying the
 * chain's built-in and patterns, and the outbox relay publishes it to EVENTS. The server runs as
 * the runtime role, so the outbox write happens under row-level security like in production.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@datalinx/common';
import { CANONICAL_TYPE_CREATED_V1, canonicalTypeCreatedV1 } from '@datalinx/contracts';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, OutboxRelay, type Nats } from '@datalinx/messaging';
import { schemaDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createSchemaServer } from '../src/app';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { urlOf, gqlViewerClient } from '../../../test/support/http';

const CREATE = `mutation($i: CreateCanonicalTypeInput!){ createCanonicalType(input: $i) { canonicalType { id name } errors { code field } } }`;

describe('custom canonical types: the created event through the outbox', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let admin: ReturnType<typeof schemaDataSource>;
  let app: ReturnType<typeof schemaDataSource>;
  let server: Awaited<ReturnType<typeof createSchemaServer>>;
  let httpServer: http.Server;
  let url: string;
  let nats: Nats;
  let relay: OutboxRelay;
  let kicks = 0;
  const orgA = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    admin = await schemaDataSource(db.url, 2).initialize();
    app = await schemaDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 2).initialize();
    nats = await connectNats(process.env.NATS_URL!, 'schema-events-test');
    await ensureStreams(nats.jsm);
    // Not started: the test drains it by hand, so it sees the outbox before and after.
    relay = new OutboxRelay(app, nats.js, createLogger('schema-test', 'silent'));
    server = await createSchemaServer({ ds: app, verifier: keys.verifier, log: createLogger('schema-test', 'silent'), onOutboxCommit: () => kicks++ });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await nats?.close();
    await app?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  const gql = gqlViewerClient(
    () => url,
    async (v: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(v, randomUUID()) }),
  );

  const create = async (i: Record<string, unknown>) => {
    const res = await gql<{
      createCanonicalType: { canonicalType: { id: string; name: string } | null; errors: Array<{ code: string; field: string | null }> };
    }>(adminA, CREATE, { i });
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.createCanonicalType;
  };

  const outbox = async (): Promise<Array<{ id: string; subject: string; payload: Record<string, unknown>; sent_at: Date | null }>> =>
    admin.query(`SELECT id, subject, payload, sent_at FROM schema.outbox ORDER BY seq`);

  it('writes schema.canonical_type.created.v1 with the type, its built-in and its patterns, and kicks the relay', async () => {
    const r = await create({ name: 'work_email', label: 'Work email', parent: 'email', pattern: '^[^@]+@acme\\.test$', examples: [] });
    expect(r.errors).toEqual([]);
    const rows = await outbox();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject).toBe(CANONICAL_TYPE_CREATED_V1);
    const ev = canonicalTypeCreatedV1.parse(rows[0]!.payload);
    expect(ev).toEqual({
      orgId: orgA,
      typeId: r.canonicalType!.id,
      name: 'work_email',
      label: 'Work email',
      parent: 'email',
      baseType: 'email',
      pattern: '^[^@]+@acme\\.test$',
      patterns: ['^[^@]+@acme\\.test$'],
      createdAt: expect.any(String),
    });
    expect(kicks).toBe(1);
  });

  it('a custom type of a custom type carries the chain: root built-in and every pattern, root first', async () => {
    const child = await create({ name: 'ada_work_email', label: 'Ada', parent: 'work_email', pattern: '^ada', examples: [] });
    expect(child.errors).toEqual([expect.objectContaining({ code: 'PATTERN_INVALID' })]);
    const ok = await create({ name: 'ada_work_email', label: 'Ada', parent: 'work_email', pattern: '^ada[^@]*@.*$', examples: [] });
    expect(ok.errors).toEqual([]);
    const renamed = await create({ name: 'staff_email', label: 'Staff', parent: 'ada_work_email', examples: [] });
    expect(renamed.errors).toEqual([]);
    const evs = (await outbox()).slice(1).map((r) => canonicalTypeCreatedV1.parse(r.payload));
    expect(evs.map((e) => [e.name, e.parent, e.baseType, e.pattern, e.patterns])).toEqual([
      ['ada_work_email', 'work_email', 'email', '^ada[^@]*@.*$', ['^[^@]+@acme\\.test$', '^ada[^@]*@.*$']],
      ['staff_email', 'ada_work_email', 'email', null, ['^[^@]+@acme\\.test$', '^ada[^@]*@.*$']],
    ]);
  });

  it('a refused create (name taken, invalid input, not an ADMIN) writes no event', async () => {
    const before = (await outbox()).length;
    expect((await create({ name: 'work_email', label: 'Again', parent: 'email', examples: [] })).errors).toEqual([
      expect.objectContaining({ code: 'NAME_TAKEN' }),
    ]);
    expect((await create({ name: 'x_type', label: 'X', parent: 'nope', examples: [] })).errors).toEqual([
      expect.objectContaining({ code: 'PARENT_NOT_FOUND' }),
    ]);
    const member = await gql<{ createCanonicalType: unknown }>(userViewer({ orgId: orgA, orgRole: 'MEMBER' }), CREATE, {
      i: { name: 'y_type', label: 'Y', parent: 'email', examples: [] },
    });
    expect(member.body.data?.createCanonicalType ?? null).toBeNull();
    expect((await outbox()).length).toBe(before);
  });

  it('the relay publishes the events to EVENTS (msgID = outbox id) and marks them sent', async () => {
    const pending = await outbox();
    expect(pending.every((r) => r.sent_at === null)).toBe(true);
    expect(await relay.drain()).toBe(pending.length);
    expect((await outbox()).every((r) => r.sent_at !== null)).toBe(true);
    const last = await nats.jsm.streams.getMessage('EVENTS', { last_by_subj: CANONICAL_TYPE_CREATED_V1 });
    // Other test files publish on the same subject; ours is the newest unless one raced it.
    const body = canonicalTypeCreatedV1.parse(last!.json());
    if (body.orgId === orgA) expect(body.name).toBe('staff_email');
  });
});
