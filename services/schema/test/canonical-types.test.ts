/**
 * Canonical types in the schema subgraph: every built-in of
 * @datalinx/contracts is seeded (the first 17 keep their ids) and exposes its validator metadata;
 * organizations create custom types refining a built-in, which only they can see and use. The
 * server runs as the runtime role (no superuser), so row-level security is really in force.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@datalinx/common';
import { BUILT_IN_CANONICAL_TYPES, CANONICAL_TYPES, applySql, customCanonicalType } from '@datalinx/contracts';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, type Viewer } from '@datalinx/graphql-kit';
import { schemaDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createSchemaServer } from '../src/app';
import { BUILT_INS as INIT_BUILT_INS } from '../src/migrations/1764400000000-init';
import { builtInId } from '../src/migrations/1764900000000-canonical-types';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { urlOf, gqlViewerClient } from '../../../test/support/http';

interface TypeView {
  id: string;
  name: string;
  label: string;
  category: string;
  builtIn: boolean;
  detectionPattern: string;
  sqlNormalizer: string;
  rule: string;
  examples: string[];
  parent: { name: string } | null;
}
const FIELDS = 'id name label category builtIn detectionPattern sqlNormalizer rule examples parent { name }';
const CREATE = `mutation($i: CreateCanonicalTypeInput!){ createCanonicalType(input: $i) { canonicalType { ${FIELDS} } errors { code field message } } }`;

describe('canonical types: built-ins and custom types per organization', () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let admin: ReturnType<typeof schemaDataSource>;
  let app: ReturnType<typeof schemaDataSource>;
  let server: Awaited<ReturnType<typeof createSchemaServer>>;
  let httpServer: http.Server;
  let url: string;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const memberA = userViewer({ orgId: orgA, orgRole: 'MEMBER' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    admin = await schemaDataSource(db.url, 2).initialize();
    app = await schemaDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 2).initialize();
    server = await createSchemaServer({ ds: app, verifier: keys.verifier, log: createLogger('schema-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  const gql = gqlViewerClient(
    () => url,
    async (v: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(v, randomUUID()) }),
  );

  it('seeds every built-in of the contracts package; the first 17 keep their ids, the others get fixed ones', async () => {
    const rows: Array<{ id: string; name: string; parent: string | null; pattern: string }> = await admin.query(
      `SELECT t.id, t.name, p.name AS parent, t.pattern FROM schema.canonical_type t LEFT JOIN schema.canonical_type p ON p.id = t.parent_id`,
    );
    expect(rows.length).toBe(BUILT_IN_CANONICAL_TYPES.length);
    expect(rows.length).toBeGreaterThanOrEqual(50);
    for (const old of INIT_BUILT_INS) expect(rows.find((r) => r.name === old.name)?.id).toBe(old.id);
    for (const t of BUILT_IN_CANONICAL_TYPES) {
      const row = rows.find((r) => r.name === t.name)!;
      expect({ name: t.name, parent: row.parent, pattern: row.pattern }).toEqual({ name: t.name, parent: t.parent ?? null, pattern: t.pattern });
      if (!INIT_BUILT_INS.some((o) => o.name === t.name)) expect(row.id).toBe(builtInId(t.name));
    }
  });

  it('lists the built-ins with their validator metadata to any signed-in viewer', async () => {
    const res = await gql<{ canonicalTypes: TypeView[] }>(memberA, `{ canonicalTypes { ${FIELDS} } }`);
    expect(res.body.errors).toBeUndefined();
    const list = res.body.data!.canonicalTypes;
    expect(list.length).toBe(BUILT_IN_CANONICAL_TYPES.length);
    for (const t of list) {
      const def = CANONICAL_TYPES[t.name]!;
      expect(t).toMatchObject({
        builtIn: true,
        label: def.label,
        category: def.category,
        detectionPattern: def.pattern,
        sqlNormalizer: def.sqlNormalizer,
        rule: def.rule,
        parent: def.parent ? { name: def.parent } : null,
      });
    }
    expect(list.find((t) => t.name === 'us_zip')?.parent).toEqual({ name: 'postal_code' });
  });

  it('creates a custom type for an org ADMIN that inherits its parent and narrows it', async () => {
    const res = await gql<{ createCanonicalType: { canonicalType: TypeView | null; errors: unknown[] } }>(adminA, CREATE, {
      i: { name: 'work_email', label: 'Work email', parent: 'email', pattern: '^[^@]+@acme\\.test$', examples: [' Ada@ACME.test', 'bob@acme.test'] },
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.createCanonicalType.errors).toEqual([]);
    const t = res.body.data!.createCanonicalType.canonicalType!;
    const expected = customCanonicalType(CANONICAL_TYPES.email!, { name: 'work_email', label: 'Work email', pattern: '^[^@]+@acme\\.test$' });
    expect(t).toMatchObject({
      name: 'work_email',
      builtIn: false,
      category: 'contact',
      parent: { name: 'email' },
      detectionPattern: '^[^@]+@acme\\.test$',
      rule: 'work_email.pattern',
      examples: ['ada@acme.test', 'bob@acme.test'],
      sqlNormalizer: expected.sqlNormalizer,
    });
    // The inherited normalizer really runs in PostgreSQL.
    const rows = await admin.query(`SELECT ${applySql(t.sqlNormalizer, 'v')} AS n FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [
      [' Eve@ACME.test ', 'eve@gmail.com', 'nope'],
    ]);
    expect(rows.map((r: { n: string | null }) => r.n)).toEqual(['eve@acme.test', null, null]);

    // Org A sees it by name, in the list, and through _entities.
    const one = await gql<{ canonicalType: TypeView | null }>(memberA, `{ canonicalType(name: "work_email") { ${FIELDS} } }`);
    expect(one.body.data?.canonicalType).toMatchObject({ id: t.id, builtIn: false, parent: { name: 'email' } });
    const list = await gql<{ canonicalTypes: TypeView[] }>(memberA, `{ canonicalTypes(category: "contact") { name builtIn } }`);
    expect(list.body.data?.canonicalTypes).toEqual([
      { name: 'email', builtIn: true },
      { name: 'phone_e164', builtIn: true },
      { name: 'work_email', builtIn: false },
    ]);
    const ent = await gql(memberA, `query($r:[_Any!]!){ _entities(representations:$r){ ... on CanonicalType { id name builtIn } } }`, {
      r: [{ __typename: 'CanonicalType', id: t.id }],
    });
    expect(ent.body.data).toEqual({ _entities: [{ id: t.id, name: 'work_email', builtIn: false }] });
  });

  it('refuses invalid custom types with payload errors', async () => {
    const create = async (i: Record<string, unknown>) => {
      const res = await gql<{ createCanonicalType: { canonicalType: TypeView | null; errors: Array<{ code: string; field: string | null }> } }>(
        adminA,
        CREATE,
        { i },
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data!.createCanonicalType.canonicalType).toBeNull();
      return res.body.data!.createCanonicalType.errors.map((e) => [e.code, e.field]);
    };
    const base = { label: 'X', parent: 'email', examples: [] };
    expect(await create({ ...base, name: 'email' })).toEqual([['NAME_TAKEN', 'name']]);
    expect(await create({ ...base, name: 'work_email' })).toEqual([['NAME_TAKEN', 'name']]);
    expect(await create({ ...base, name: 'Bad Name' })).toEqual([['NAME_INVALID', 'name']]);
    expect(await create({ ...base, name: 'x_type', parent: 'nope' })).toEqual([['PARENT_NOT_FOUND', 'parent']]);
    expect(await create({ ...base, name: 'x_type', pattern: '^(unclosed$' })).toEqual([['PATTERN_INVALID', 'pattern']]);
    expect(await create({ ...base, name: 'x_type', pattern: 'unanchored' })).toEqual([['PATTERN_INVALID', 'pattern']]);
    expect(await create({ ...base, name: 'x_type', pattern: '^[^@]+@acme\\.test$', examples: ['eve@gmail.com', 'not an email'] })).toEqual([
      ['EXAMPLE_INVALID', 'examples.0'],
      ['EXAMPLE_INVALID', 'examples.1'],
    ]);
    expect(await admin.query(`SELECT count(*)::int AS n FROM schema.custom_canonical_type`)).toEqual([{ n: 1 }]);
  });

  it('refines a custom type of the same org: both patterns apply, the rules name the failing one', async () => {
    const res = await gql<{ createCanonicalType: { canonicalType: TypeView | null; errors: unknown[] } }>(adminA, CREATE, {
      i: { name: 'sales_email', label: 'Sales email', parent: 'work_email', pattern: '^sales[.].*$', examples: ['Sales.Ada@acme.test'] },
    });
    expect(res.body.data!.createCanonicalType.errors).toEqual([]);
    const t = res.body.data!.createCanonicalType.canonicalType!;
    expect(t).toMatchObject({ parent: { name: 'work_email' }, rule: 'sales_email.pattern', examples: ['sales.ada@acme.test'], category: 'contact' });
    const rows = await admin.query(`SELECT ${applySql(t.sqlNormalizer, 'v')} AS n FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [
      ['SALES.bob@acme.test', 'bob@acme.test', 'sales.bob@gmail.com'],
    ]);
    expect(rows.map((r: { n: string | null }) => r.n)).toEqual(['sales.bob@acme.test', null, null]);
    await admin.query(`DELETE FROM schema.custom_canonical_type WHERE name = 'sales_email'`);
  });

  it('needs schemas:write in the org (an org ADMIN): a MEMBER is FORBIDDEN and nothing is written', async () => {
    const res = await gql(memberA, CREATE, { i: { name: 'member_type', label: 'M', parent: 'email', examples: [] } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await admin.query(`SELECT count(*)::int AS n FROM schema.custom_canonical_type WHERE name = 'member_type'`)).toEqual([{ n: 0 }]);
  });

  it('another org can neither see nor use org A’s custom type, and may have its own of the same name', async () => {
    const [{ id }] = await admin.query(`SELECT id FROM schema.custom_canonical_type WHERE org_id = $1 AND name = 'work_email'`, [orgA]);
    const one = await gql<{ canonicalType: TypeView | null }>(adminB, `{ canonicalType(name: "work_email") { id } }`);
    expect(one.body).toEqual({ data: { canonicalType: null } });
    const list = await gql<{ canonicalTypes: TypeView[] }>(adminB, `{ canonicalTypes { name builtIn } }`);
    expect(list.body.data!.canonicalTypes.filter((t) => !t.builtIn)).toEqual([]);
    const ent = await gql(adminB, `query($r:[_Any!]!){ _entities(representations:$r){ ... on CanonicalType { id name } } }`, {
      r: [{ __typename: 'CanonicalType', id }],
    });
    expect(ent.body.data).toEqual({ _entities: [null] });
    const use = await gql<{ createCanonicalType: { errors: Array<{ code: string }> } }>(adminB, CREATE, {
      i: { name: 'narrower', label: 'N', parent: 'work_email', examples: [] },
    });
    expect(use.body.data!.createCanonicalType.errors.map((e) => e.code)).toEqual(['PARENT_NOT_FOUND']);
    expect(await admin.query(`SELECT count(*)::int AS n FROM schema.custom_canonical_type WHERE org_id = $1`, [orgB])).toEqual([{ n: 0 }]);
    const own = await gql<{ createCanonicalType: { canonicalType: TypeView | null; errors: unknown[] } }>(adminB, CREATE, {
      i: { name: 'work_email', label: 'B work email', parent: 'email', pattern: '^[^@]+@beta\\.test$', examples: [] },
    });
    expect(own.body.data!.createCanonicalType.errors).toEqual([]);
    expect(own.body.data!.createCanonicalType.canonicalType!.id).not.toBe(id);
    // Each org still sees only its own.
    const mine = await gql<{ canonicalType: TypeView | null }>(memberA, `{ canonicalType(name: "work_email") { id label } }`);
    expect(mine.body.data!.canonicalType).toEqual({ id, label: 'Work email' });
  });
});
