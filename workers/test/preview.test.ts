import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, type TestDatabase } from '@datalinx/db';
import { connectNats, requestPreview, type Nats } from '@datalinx/messaging';
import { previewSubject, type PreviewRequestV1 } from '@datalinx/contracts';
import { startPreviewResponder, type PreviewResponder } from '../src/preview/responder';

/**
 * Mapping previews through the real path: a request on NATS (`requestPreview`), a responder as
 * the worker runs it, the statement in a real PostgreSQL as the workspace role (SET ROLE), read
 * only, with a statement timeout.
 */
describe('mapping preview (NATS request → worker → warehouse as the workspace role)', () => {
  const hex = randomUUID().replace(/-/g, '').slice(0, 12);
  const other = randomUUID().replace(/-/g, '').slice(0, 12);
  const schema = `ws_${hex}`;
  const role = `dlx_ws_${hex}`;
  const workspaceId = randomUUID();
  let db: TestDatabase;
  let nats: Nats;
  let responder: PreviewResponder;

  const admin = async (sql: string) => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };

  const request = (o: Partial<PreviewRequestV1>): PreviewRequestV1 => ({
    orgId: randomUUID(),
    workspaceId,
    destination: { schema, role },
    with: null,
    from: `"${schema}"."raw_public__customers" AS "c"`,
    fields: [
      { column: 'id', sql: `("c"."id")::integer` },
      { column: 'email', sql: `(lower(btrim("c"."email")))::text` },
    ],
    limit: 50,
    statementTimeoutMs: 5000,
    ...o,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    await admin(`
      CREATE ROLE ${role} NOLOGIN; CREATE ROLE dlx_ws_${other} NOLOGIN;
      REVOKE ALL ON SCHEMA public FROM PUBLIC;
      CREATE SCHEMA ${schema} AUTHORIZATION ${role}; CREATE SCHEMA ws_${other} AUTHORIZATION dlx_ws_${other};
      CREATE TABLE ${schema}.raw_public__customers (id text, email text, age text, _dlx_run_id uuid, _dlx_synced_at timestamptz);
      INSERT INTO ${schema}.raw_public__customers (id, email, age)
        SELECT g::text, CASE WHEN g % 2 = 0 THEN ' Ada' || g || '@Example.COM ' ELSE 'b' || g || '@example.org' END,
               CASE WHEN g = 3 THEN 'forty' ELSE (20 + g)::text END
          FROM generate_series(1, 200) g;
      ALTER TABLE ${schema}.raw_public__customers OWNER TO ${role};
      CREATE TABLE ${schema}.big AS SELECT g FROM generate_series(1, 3000) g; ALTER TABLE ${schema}.big OWNER TO ${role};
      CREATE SEQUENCE ${schema}.seq; ALTER SEQUENCE ${schema}.seq OWNER TO ${role};
      CREATE TABLE ws_${other}.secrets AS SELECT 'the other workspace''s data'::text AS s; ALTER TABLE ws_${other}.secrets OWNER TO dlx_ws_${other};
    `);
    nats = await connectNats(process.env.NATS_URL!, 'preview-test', createLogger('preview-test', 'warn'));
    responder = startPreviewResponder({
      nc: nats.nc,
      log: createLogger('preview-test', 'warn'),
      warehouseAdminUrl: db.url,
      subject: previewSubject(workspaceId),
    });
  }, 60000);

  afterAll(async () => {
    await responder?.stop();
    await nats?.close();
    await db?.drop();
    const c = new Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    try {
      await c.query(`DROP ROLE IF EXISTS ${role}; DROP ROLE IF EXISTS dlx_ws_${other}`);
    } finally {
      await c.end();
    }
  }, 60000);

  it('returns the first rows the mapping produces, as text, with the result column types', async () => {
    const reply = await requestPreview(nats.nc, request({ limit: 3 }));
    expect(reply).toMatchObject({
      ok: true,
      columns: [
        { name: 'id', type: 'integer' },
        { name: 'email', type: 'text' },
      ],
      rows: [
        ['1', 'b1@example.org'],
        ['2', 'ada2@example.com'],
        ['3', 'b3@example.org'],
      ],
      fieldErrors: [],
    });
  });

  it('a field that fails on a row (a cast of dirty data) is reported with that row; the other fields still show', async () => {
    const reply = await requestPreview(nats.nc, request({ limit: 10, fields: [...request({}).fields, { column: 'age', sql: `("c"."age")::integer` }] }));
    if (!reply.ok) throw new Error(reply.error.message);
    expect(reply.fieldErrors).toEqual([{ column: 'age', code: '22P02', message: 'invalid input syntax for type integer: "forty"', row: 2 }]);
    expect(reply.rows).toHaveLength(10);
    expect(reply.rows[0]).toEqual(['1', 'b1@example.org', null]);
  });

  it('runs as the workspace role: another workspace’s schema is refused before it reaches the warehouse, and the role could not read it anyway', async () => {
    const reply = await requestPreview(nats.nc, request({ from: `"ws_${other}"."secrets" AS "c"`, fields: [{ column: 's', sql: `"c"."s"` }] }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(!reply.ok && reply.error.message).toContain(`ws_${other}.secrets`);
    // A subquery is a second way in: the statement passes the schema check only for the workspace's schema, and the role's rights stop the rest.
    const sub = await requestPreview(nats.nc, request({ fields: [{ column: 's', sql: `(SELECT count(*) FROM pg_catalog.pg_authid)` }] }));
    expect(sub).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    // Unqualified, pg_catalog is still on every search path: only the mapping's own CTEs may go unqualified.
    const bare = await requestPreview(nats.nc, request({ fields: [{ column: 's', sql: `(SELECT count(*) FROM pg_authid)` }] }));
    expect(bare).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    const cte = await requestPreview(
      nats.nc,
      request({
        with: `"recent" AS (SELECT "id" FROM "${schema}"."raw_public__customers" WHERE "id"::int > 198)`,
        from: `"recent" AS "c"`,
        fields: [{ column: 'id', sql: `"c"."id"` }],
      }),
    );
    expect(cte).toMatchObject({ ok: true, rows: [['199'], ['200']] });
  });

  it('is read only, and stops at the statement timeout with what to do', async () => {
    const write = await requestPreview(nats.nc, request({ fields: [{ column: 'n', sql: `nextval('${schema}.seq')` }] }));
    expect(write).toMatchObject({ ok: false, error: { code: 'PREVIEW_FAILED' } });
    expect(!write.ok && write.error.message).toMatch(/read-only transaction/);
    const slow = await requestPreview(
      nats.nc,
      request({
        statementTimeoutMs: 200,
        fields: [{ column: 'n', sql: `(SELECT count(*) FROM "${schema}"."big" a, "${schema}"."big" b, "${schema}"."big" c)` }],
      }),
    );
    expect(slow).toMatchObject({ ok: false, error: { code: 'PREVIEW_TIMEOUT' } });
    expect(!slow.ok && slow.error.message).toMatch(/within 200 ms/);
  });

  it('a source that was never loaded says to sync it; a malformed request is refused with its problems', async () => {
    const missing = await requestPreview(nats.nc, request({ from: `"${schema}"."raw_public__orders" AS "o"`, fields: [{ column: 'id', sql: `"o"."id"` }] }));
    expect(missing).toMatchObject({ ok: false, error: { code: 'SOURCE_NOT_LOADED' } });
    expect(!missing.ok && missing.error.message).toMatch(/Sync the source/);
    const raw = await nats.nc.request(previewSubject(workspaceId), JSON.stringify({ ...request({}), limit: 5000, from: 'x; DROP TABLE y' }), { timeout: 5000 });
    const reply = raw.json<{ ok: boolean; error: { code: string; message: string } }>();
    expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
    expect(reply.error.message).toMatch(/limit/);
    const two = await requestPreview(nats.nc, request({ from: `"${schema}"."big" AS "c"; DROP TABLE "${schema}"."big"` }));
    expect(two).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST' } });
  });

  it('a workspace whose warehouse role does not exist (not provisioned) is told so', async () => {
    const reply = await requestPreview(nats.nc, request({ destination: { schema, role: `dlx_ws_${'0'.repeat(12)}` } }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'WAREHOUSE_NOT_READY' } });
  });

  it('without a worker for the workspace, the caller is told to start one', async () => {
    const reply = await requestPreview(nats.nc, request({ workspaceId: randomUUID() }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'PREVIEW_UNAVAILABLE' } });
  });
});
