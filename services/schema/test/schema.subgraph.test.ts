import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { isObjectType } from 'graphql';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, ANONYMOUS } from '@datalinx/graphql-kit';
import { SOURCE_SNAPSHOT_CREATED_V1, sourceSnapshotCreatedV1 } from '@datalinx/contracts';
import { schemaDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createSchemaServer } from '../src/app';
import { permissions } from '../src/graphql/permissions';
import { makeTestKeys, expiredAssertion, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';

interface TypeRow {
  id: string;
  name: string;
  category: string;
  pattern: string;
  examples: string[];
}

/** Values that must NOT be detected as the type (the examples in the seed are the positives). */
const NOT_OF_TYPE: Record<string, string[]> = {
  email: ['ada@example', 'ada.example.com', 'ada@@example.com', 'ada @example.com', '@example.com'],
  phone_e164: ['004930901820', '+0123456', '+1234567890123456', '+49 30 901820'],
  url: ['ftp://example.com', 'example.com', 'https://', 'https://exa mple.com'],
  domain: ['localhost', 'example', '-bad.example.com', 'example.c0m', 'a..example.com'],
  uuid: ['123e4567-e89b-02d3-a456-426614174000', '123e4567-e89b-12d3-c456-426614174000', '123e4567e89b12d3a456426614174000'],
  ipv4: ['256.1.1.1', '192.168.01.1', '1.2.3', '1.2.3.4.5'],
  ipv6: ['2001:db8:::1', '1:2:3:4:5:6:7:8:9', '12345::1', 'g::1', '192.168.0.1'],
  iso_country: ['XX', 'UK', 'de', 'DEU'],
  iso_currency: ['ABC', 'usd', 'EURO', 'DEM'],
  date: ['2024-02-30', '2024-04-31', '2024-13-01', '24-01-01', '2024-1-1'],
  timestamp: ['2024-05-01', '2024-05-01T24:00:00Z', '2024-05-01T12:60Z', '2024-05-01T12:00:00+25:00'],
  boolean: ['maybe', '2', 'truth', ''],
  postal_code: ['ABCDE', '12', '1234567', '12 34'],
  percentage: ['42', '%', '4 2%', '12.%'],
  latitude: ['90.5', '-91', '180', '1e5'],
  longitude: ['180.1', '-181', '200', 'E13'],
  iban: ['DE89 3704 0044 0532 0130 00', 'de89370400440532013000', 'DE8937040044', 'D189370400440532013000'],
};

describe('schema subgraph', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let server: Awaited<ReturnType<typeof createSchemaServer>>;
  let httpServer: http.Server;
  let url: string;
  let ds: ReturnType<typeof schemaDataSource>;
  let seeded: TypeRow[];
  let customId: string;
  const viewer = userViewer({ orgId: randomUUID() });

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await schemaDataSource(db.url).initialize();
    seeded = await ds.query(`SELECT id, name, category, pattern, examples FROM "schema".canonical_type ORDER BY category, name`);
    // A custom type refining a built-in one, to read `parent` through the API.
    [{ id: customId }] = await ds.query(
      `INSERT INTO "schema".canonical_type (name, label, description, category, parent_id, pattern, examples)
       SELECT 'work_email', 'Work email', 'An email address on a company domain.', 'contact', id, NULL, ARRAY['ada@acme.test']
       FROM "schema".canonical_type WHERE name = 'email' RETURNING id`,
    );
    server = await createSchemaServer({ ds, verifier: keys.verifier, log: createLogger('schema-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await ds?.destroy();
    await db?.drop();
  });

  const as = async (v: Parameters<TestKeys['signer']['sign']>[0]) => ({ [VIEWER_HEADER]: await keys.signer.sign(v, randomUUID()) });

  describe('viewer assertion', () => {
    it('rejects a request without an assertion with 401, _service included', async () => {
      const res = await postGraphQL(url, '{ _service { sdl } }');
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'ASSERTION_MISSING' });
    });

    it('rejects an expired assertion with 401', async () => {
      const res = await postGraphQL(url, '{ canonicalTypes { name } }', {}, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, viewer) });
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.reason).toBe('ASSERTION_EXPIRED');
      expect(res.body.data).toBeUndefined();
    });

    it('rejects _entities without an assertion, and with an expired one, with 401', async () => {
      const q = `query($r:[_Any!]!){ _entities(representations:$r){ ... on CanonicalType { name } } }`;
      const r = { r: [{ __typename: 'CanonicalType', id: seeded[0]!.id }] };
      expect((await postGraphQL(url, q, r)).status).toBe(401);
      const expired = await postGraphQL(url, q, r, { [VIEWER_HEADER]: await expiredAssertion(keys.privatePem, viewer) });
      expect(expired.status).toBe(401);
      expect(expired.body.data).toBeUndefined();
    });

    it('answers _service with a valid assertion', async () => {
      const res = await postGraphQL<{ _service: { sdl: string } }>(url, '{ _service { sdl } }', {}, await as(ANONYMOUS));
      expect(res.status).toBe(200);
      expect(res.body.data?._service.sdl).toContain('type CanonicalType');
    });
  });

  it('has a shield rule for every root field', () => {
    for (const [type, rules] of [
      [server.schema.getQueryType()!, permissions.Query as Record<string, unknown>],
      [server.schema.getMutationType()!, permissions.Mutation as Record<string, unknown>],
    ] as const) {
      const missing = Object.keys(type.getFields()).filter((f) => !f.startsWith('_') && !rules[f]);
      expect(missing).toEqual([]);
    }
    expect(isObjectType(server.schema.getType('Subscription'))).toBe(false);
  });

  it('refuses anonymous viewers with UNAUTHENTICATED, root fields and _entities alike', async () => {
    const list = await postGraphQL(url, '{ canonicalTypes { name } }', {}, await as(ANONYMOUS));
    expect(list.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(list.body.data).toBeNull();
    const one = await postGraphQL(url, '{ canonicalType(name: "email") { name } }', {}, await as(ANONYMOUS));
    expect(one.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(one.body.data).toEqual({ canonicalType: null });
    const ent = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on CanonicalType { name } } }`,
      { r: [{ __typename: 'CanonicalType', id: seeded[0]!.id }] },
      await as(ANONYMOUS),
    );
    expect(ent.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(ent.body.data?._entities).toEqual([null]);
  });

  it('seeds at least the required built-in types', () => {
    const names = seeded.map((t) => t.name);
    expect(names.length).toBeGreaterThanOrEqual(12);
    for (const n of [
      'email',
      'phone_e164',
      'url',
      'domain',
      'uuid',
      'ipv4',
      'ipv6',
      'iso_country',
      'iso_currency',
      'date',
      'timestamp',
      'boolean',
      'postal_code',
      'percentage',
      'latitude',
      'longitude',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('seeds patterns that match their examples and reject other values, in ECMAScript and PostgreSQL alike', async () => {
    for (const t of seeded) {
      expect(t.examples.length).toBeGreaterThanOrEqual(2);
      // The 17 first built-ins get counterexamples here; every built-in's own invalid examples run through
      // its validator and SQL normalizer in packages/contracts/test/canonical.test.ts.
      const negatives = NOT_OF_TYPE[t.name] ?? [];
      const js = new RegExp(t.pattern);
      const values = [...t.examples, ...negatives!];
      const pg: Array<{ v: string; m: boolean }> = await ds.query(`SELECT v, v ~ $1 AS m FROM unnest($2::text[]) AS v`, [t.pattern, values]);
      for (const { v, m } of pg) {
        const expected = t.examples.includes(v);
        expect({ type: t.name, value: v, js: js.test(v), pg: m }).toEqual({ type: t.name, value: v, js: expected, pg: expected });
      }
    }
  });

  it('lists the seeded types from the database to a signed-in viewer', async () => {
    const res = await postGraphQL<{
      canonicalTypes: Array<{ id: string; name: string; category: string; pattern: string | null; examples: string[]; parent: { name: string } | null }>;
    }>(url, '{ canonicalTypes { id name category pattern examples parent { name } } }', {}, await as(viewer));
    expect(res.body.errors).toBeUndefined();
    const rows: Array<{ id: string; name: string; category: string; pattern: string | null; examples: string[]; parent: string | null }> = await ds.query(
      `SELECT t.id, t.name, t.category, t.pattern, t.examples, p.name AS parent FROM "schema".canonical_type t
       LEFT JOIN "schema".canonical_type p ON p.id = t.parent_id ORDER BY t.category, t.name`,
    );
    expect(res.body.data?.canonicalTypes).toEqual(rows.map((r) => ({ ...r, parent: r.parent ? { name: r.parent } : null })));
    expect(res.body.data?.canonicalTypes.find((t) => t.id === customId)).toMatchObject({ name: 'work_email', pattern: null, parent: { name: 'email' } });
  });

  it('filters by category and by a literal, case-insensitive search', async () => {
    const names = async (args: string) => {
      const res = await postGraphQL<{ canonicalTypes: Array<{ name: string }> }>(url, `{ canonicalTypes${args} { name } }`, {}, await as(viewer));
      expect(res.body.errors).toBeUndefined();
      return res.body.data!.canonicalTypes.map((t) => t.name);
    };
    expect(await names('(category: "network")')).toEqual(['ipv4', 'ipv6', 'mac_address']);
    expect(await names('(category: "Network")')).toEqual(['ipv4', 'ipv6', 'mac_address']);
    expect(await names('(category: "nope")')).toEqual([]);
    expect(await names('(search: "e.164")')).toEqual(['phone_e164']);
    expect(await names('(search: "iso 4217")')).toEqual(['iso_currency']);
    expect(await names('(category: "geo", search: "DEGREES")')).toEqual(['coordinates', 'latitude', 'longitude']);
    // `_` and `%` are matched literally, not as LIKE wildcards.
    const underscore = await names('(search: "_")');
    expect(underscore.sort()).toEqual(
      seeded
        .filter((t) => t.name.includes('_'))
        .map((t) => t.name)
        .concat('work_email')
        .sort(),
    );
    expect(await names('(search: "%")')).toEqual([]);
    const tooLong = await postGraphQL(url, `{ canonicalTypes(search: "${'x'.repeat(101)}") { name } }`, {}, await as(viewer));
    expect(tooLong.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('finds one type by name, and null for an unknown name', async () => {
    const res = await postGraphQL<{ email: { name: string; label: string; category: string; pattern: string; examples: string[] }; none: null }>(
      url,
      '{ email: canonicalType(name: "email") { name label category pattern examples } none: canonicalType(name: "nope") { name } }',
      {},
      await as(viewer),
    );
    expect(res.body.errors).toBeUndefined();
    const row = seeded.find((t) => t.name === 'email')!;
    expect(res.body.data).toEqual({
      email: { name: 'email', label: 'Email address', category: 'contact', pattern: row.pattern, examples: row.examples },
      none: null,
    });
  });

  it('resolves CanonicalType references through _entities, null for unknown ids', async () => {
    const ipv4 = seeded.find((t) => t.name === 'ipv4')!;
    const res = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on CanonicalType { id name parent { name } } } }`,
      {
        r: [
          { __typename: 'CanonicalType', id: ipv4.id },
          { __typename: 'CanonicalType', id: customId },
          { __typename: 'CanonicalType', id: randomUUID() },
          { __typename: 'CanonicalType', id: 'not-a-uuid' },
        ],
      },
      await as(viewer),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      _entities: [{ id: ipv4.id, name: 'ipv4', parent: null }, { id: customId, name: 'work_email', parent: { name: 'email' } }, null, null],
    });
  });

  it('contributes its status to the federated Platform entity', async () => {
    const res = await postGraphQL(
      url,
      `query($r:[_Any!]!){ _entities(representations:$r){ ... on Platform { schema { service ok database migrations { name } } } } }`,
      { r: [{ __typename: 'Platform', id: 'datalinx' }] },
      await as(ANONYMOUS),
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toMatchObject({
      _entities: [
        {
          schema: {
            service: 'schema',
            ok: true,
            migrations: [
              { name: 'Init1764400000000' },
              { name: 'RowLevelSecurity1764600000000' },
              { name: 'Discovery1764800000000' },
              { name: 'CanonicalTypes1764900000000' },
              { name: 'RowEstimateSource1765220000000' },
              { name: 'SourceSnapshotEvents1765240000000' },
              { name: 'TargetSchemas1765300000000' },
            ],
          },
        },
      ],
    });
  });

  it('has reversible migrations', async () => {
    const scratch = await createTestDatabase();
    const other = schemaDataSource(scratch.url, 2);
    try {
      await migrate(scratch.url);
      await other.initialize();
      const tables = () => other.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'schema' ORDER BY 1`);
      const builtIns = async () => (await other.query(`SELECT count(*)::int AS n FROM schema.canonical_type`))[0].n;
      expect((await tables()).map((r: { table_name: string }) => r.table_name)).toEqual([
        'canonical_type',
        'custom_canonical_type',
        'discovery_staging',
        'migrations',
        'outbox',
        'promotion_applied',
        'source_column',
        'source_snapshot',
        'source_table',
        'table_metadata',
        'target_column',
        'target_relationship',
        'target_schema_version',
        'target_table',
        'workspace_ref',
      ]);
      expect(await builtIns()).toBeGreaterThanOrEqual(50);
      await other.undoLastMigration({ transaction: 'each' });
      expect((await tables()).map((r: { table_name: string }) => r.table_name)).toEqual([
        'canonical_type',
        'custom_canonical_type',
        'discovery_staging',
        'migrations',
        'outbox',
        'source_column',
        'source_snapshot',
        'source_table',
        'table_metadata',
      ]);
      const estimateColumns = async () =>
        (
          await other.query(
            `SELECT column_name FROM information_schema.columns WHERE table_schema = 'schema' AND table_name = 'source_table' AND column_name LIKE 'row_estimate%' ORDER BY 1`,
          )
        ).map((r: { column_name: string }) => r.column_name);
      expect(await estimateColumns()).toEqual(['row_estimate', 'row_estimate_note', 'row_estimate_source']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await estimateColumns()).toEqual(['row_estimate', 'row_estimate_note', 'row_estimate_source']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await estimateColumns()).toEqual(['row_estimate']);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await builtIns()).toBe(17);
      expect((await tables()).map((r: { table_name: string }) => r.table_name)).toEqual([
        'canonical_type',
        'discovery_staging',
        'migrations',
        'outbox',
        'source_column',
        'source_snapshot',
        'source_table',
        'table_metadata',
      ]);
      await other.undoLastMigration({ transaction: 'each' });
      expect((await tables()).map((r: { table_name: string }) => r.table_name)).toEqual(['canonical_type', 'migrations', 'outbox']);
      const comment = () => other.query(`SELECT obj_description('schema.canonical_type'::regclass, 'pg_class') AS c`);
      expect(await comment()).toEqual([{ c: expect.stringMatching(/^Global reference data/) }]);
      await other.undoLastMigration({ transaction: 'each' });
      expect(await comment()).toEqual([{ c: null }]);
      await other.undoLastMigration({ transaction: 'each' });
      expect((await tables()).map((r: { table_name: string }) => r.table_name)).toEqual(['migrations']);
      await other.destroy();
      expect(await migrate(scratch.url)).toEqual([
        'Init1764400000000',
        'RowLevelSecurity1764600000000',
        'Discovery1764800000000',
        'CanonicalTypes1764900000000',
        'RowEstimateSource1765220000000',
        'SourceSnapshotEvents1765240000000',
        'TargetSchemas1765300000000',
      ]);
    } finally {
      if (other.isInitialized) await other.destroy();
      await scratch.drop();
    }
  });

  it('backfills schema.source_snapshot.created.v1 for the latest snapshot of every connection discovered before the event existed (down deletes the unsent ones)', async () => {
    const scratch = await createTestDatabase();
    const other = schemaDataSource(scratch.url, 2);
    try {
      await migrate(scratch.url);
      await other.initialize();
      // Back to before SourceSnapshotEvents (TargetSchemas came after it).
      await other.undoLastMigration({ transaction: 'each' });
      await other.undoLastMigration({ transaction: 'each' });
      // Two orgs' snapshots as they were before (v1 and v2 of one connection, v1 of another).
      const [orgA, orgB, ws, connA, connB] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      const snap = async (org: string, conn: string, version: number, tables: Array<{ name: string; columns: string[]; pk: string[] }>) => {
        const [{ id }] = await other.query(
          `INSERT INTO schema.source_snapshot (org_id, workspace_id, connection_id, version, run_id, table_count, diff) VALUES ($1, $2, $3, $4, gen_random_uuid(), $5, '{}') RETURNING id`,
          [org, ws, conn, version, tables.length],
        );
        for (const t of tables) {
          const [{ id: tableId }] = await other.query(
            `INSERT INTO schema.source_table (org_id, snapshot_id, schema_name, table_name, kind, primary_key) VALUES ($1, $2, 'public', $3, 'TABLE', $4) RETURNING id`,
            [org, id, t.name, JSON.stringify(t.pk)],
          );
          for (const [i, c] of t.columns.entries())
            await other.query(`INSERT INTO schema.source_column (org_id, table_id, name, type, nullable, ordinal) VALUES ($1, $2, $3, 'text', true, $4)`, [
              org,
              tableId,
              c,
              i + 1,
            ]);
        }
        return id as string;
      };
      await snap(orgA, connA, 1, [{ name: 'old', columns: ['id'], pk: ['id'] }]);
      const latestA = await snap(orgA, connA, 2, [
        { name: 'customer', columns: ['id', 'email'], pk: ['id'] },
        { name: 'empty', columns: [], pk: [] },
      ]);
      const latestB = await snap(orgB, connB, 1, [{ name: 'orders', columns: ['id'], pk: [] }]);
      await other.destroy();
      expect(await migrate(scratch.url)).toEqual(['SourceSnapshotEvents1765240000000', 'TargetSchemas1765300000000']);
      await other.initialize();
      const events = (await other.query(`SELECT subject, payload FROM schema.outbox ORDER BY seq`)) as Array<{ subject: string; payload: unknown }>;
      expect(events.map((e) => e.subject)).toEqual([SOURCE_SNAPSHOT_CREATED_V1, SOURCE_SNAPSHOT_CREATED_V1]);
      const parsed = events.map((e) => sourceSnapshotCreatedV1.parse(e.payload));
      const byConn = new Map(parsed.map((e) => [e.connectionId, e]));
      expect(byConn.get(connA)).toMatchObject({
        orgId: orgA,
        snapshotId: latestA,
        version: 2,
        part: 1,
        parts: 1,
        tableCount: 2,
        tables: [
          {
            schema: 'public',
            name: 'customer',
            kind: 'TABLE',
            primaryKey: ['id'],
            columns: [
              { name: 'id', type: 'text', nullable: true },
              { name: 'email', type: 'text', nullable: true },
            ],
          },
          { schema: 'public', name: 'empty', kind: 'TABLE', primaryKey: [], columns: [] },
        ],
      });
      expect(byConn.get(connB)).toMatchObject({ orgId: orgB, snapshotId: latestB, version: 1, tables: [{ name: 'orders' }] });
      // Row-level security is FORCEd again.
      expect(
        await other.query(
          `SELECT relname, relforcerowsecurity AS f FROM pg_class WHERE relname IN ('source_snapshot','source_table','source_column') AND relnamespace = 'schema'::regnamespace ORDER BY 1`,
        ),
      ).toEqual([
        { relname: 'source_column', f: true },
        { relname: 'source_snapshot', f: true },
        { relname: 'source_table', f: true },
      ]);
      await other.undoLastMigration({ transaction: 'each' }); // TargetSchemas
      await other.undoLastMigration({ transaction: 'each' });
      expect(await other.query(`SELECT count(*)::int AS n FROM schema.outbox`)).toEqual([{ n: 0 }]);
    } finally {
      if (other.isInitialized) await other.destroy();
      await scratch.drop();
    }
  });
});
