import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { connectNats, encodeJson, ensureStreams, OutboxRelay, decodeJson, type Nats, type StreamConsumer } from '@datalinx/messaging';
import {
  PROMOTION_REQUESTED_V1,
  promotionCompletedSubject,
  promotionPartCompletedV1,
  type PromotionPartCompletedV1,
  type PromotionRequestedV1,
} from '@datalinx/contracts';
import { mappingDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { PromotionDao } from '../src/daos/promotion.dao';
import { startPromotionConsumer } from '../src/jobs/promotion.consumer';

/**
 * The mapping service's part of a workspace promotion, through real JetStream and PostgreSQL (as
 * the runtime role): a request on EVENTS copies the source workspace's mappings into the target
 * workspace and answers once on `mapping.promotion.completed.v1`, with a line per mapping.
 */
describe('mapping promotion consumer', () => {
  let db: TestDatabase;
  let app: DataSource;
  let admin: DataSource;
  let nats: Nats;
  let relay: OutboxRelay;
  let consumer: StreamConsumer<PromotionRequestedV1>;
  const durable = `mapping-promotions-test-${randomUUID().slice(0, 8)}`;
  const org = randomUUID();
  const otherOrg = randomUUID();
  const from = randomUUID();
  const to = randomUUID();
  const foreign = randomUUID();
  const answers: PromotionPartCompletedV1[] = [];
  let sub: { unsubscribe: () => void } | undefined;

  const spec = { sources: [], joins: [], ctes: [], fields: {}, wildcards: [] };
  const customersTableId = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    admin = await mappingDataSource(db.url, 2).initialize();
    app = await mappingDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 2).initialize();
    for (const [ws, o] of [
      [from, org],
      [to, org],
      [foreign, otherOrg],
    ] as const) {
      await admin.query(`INSERT INTO mapping.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, [ws, o]);
    }
    for (const [name, target] of [
      ['Customers', 'dim_customers'],
      ['Orders', 'fct_orders'],
      ['Products', 'dim_products'],
    ]) {
      await admin.query(`INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table, spec) VALUES ($1, $2, $3, $4, $5)`, [
        org,
        from,
        name,
        target,
        JSON.stringify({ ...spec, fields: { [`${name.toLowerCase()}_note`]: { kind: 'CONSTANT', value: name } } }),
      ]);
    }
    // The target workspace's target schema names dim_customers: the copy is bound to that table's id there.
    await admin.query(`INSERT INTO mapping.target_schema_ref (workspace_id, org_id, version, document, table_ids) VALUES ($1, $2, 1, $3, $4)`, [
      to,
      org,
      JSON.stringify({ format: 'datalinx.target-schema', formatVersion: 1, tables: [], relationships: [] }),
      JSON.stringify({ dim_customers: customersTableId }),
    ]);
    // The target already has an "orders" mapping (names are unique case-insensitively).
    await admin.query(`INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table) VALUES ($1, $2, 'orders', 'fct_orders_v2')`, [org, to]);

    const natsUrl = process.env.NATS_URL;
    if (!natsUrl) throw new Error('NATS_URL is not set: run tests with `npm test`.');
    nats = await connectNats(natsUrl, 'mapping-promotion-test');
    await ensureStreams(nats.jsm);
    const log = createLogger('mapping-promotion-test', 'silent');
    relay = new OutboxRelay(app, nats.js, log, { pollIntervalMs: 100 }).start();
    const s = nats.nc.subscribe(promotionCompletedSubject('mapping'), {
      callback: (_err, msg) => {
        const parsed = promotionPartCompletedV1.safeParse(decodeJson(msg.data));
        if (parsed.success && (parsed.data.orgId === org || parsed.data.orgId === otherOrg)) answers.push(parsed.data);
      },
    });
    sub = s;
    // The stream is shared with other test files: only this file's orgs are handled.
    consumer = await startPromotionConsumer({
      js: nats.js,
      jsm: nats.jsm,
      dao: new PromotionDao(app),
      log,
      durable,
      afterCommit: () => relay.kick(),
      accept: async (req) => req.orgId === org || req.orgId === otherOrg,
    });
  });

  afterAll(async () => {
    sub?.unsubscribe();
    await consumer?.stop();
    await relay?.stop();
    await nats?.jsm.consumers.delete('EVENTS', durable).catch(() => undefined);
    await nats?.close();
    await app?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  const request = (o: Partial<PromotionRequestedV1> = {}): PromotionRequestedV1 => ({
    v: 1,
    promotionId: randomUUID(),
    orgId: org,
    fromWorkspaceId: from,
    toWorkspaceId: to,
    include: ['CONNECTIONS', 'PIPELINES', 'MAPPINGS'],
    requestedBy: 'user:test',
    ...o,
  });
  const publish = (r: PromotionRequestedV1) => nats.js.publish(PROMOTION_REQUESTED_V1, encodeJson(r), { msgID: randomUUID() });
  const answerOf = async (promotionId: string) => {
    for (const deadline = Date.now() + 15_000; ;) {
      const found = answers.filter((a) => a.promotionId === promotionId);
      if (found.length) return found;
      if (Date.now() > deadline) throw new Error(`no answer for promotion ${promotionId} within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const settled = async () => {
    for (const deadline = Date.now() + 15_000; ;) {
      const info = await nats.jsm.consumers.info('EVENTS', durable);
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
      if (Date.now() > deadline) throw new Error('the consumer did not settle in 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /**
   * After settled(): every answer the consumer wrote is committed to the outbox (same transaction
   * as the request's effects). Once the relay has sent them all and a round trip to the server has
   * passed, the subscriber has seen every answer there will be.
   */
  const delivered = async () => {
    for (const deadline = Date.now() + 15_000; ;) {
      const [{ n }] = await admin.query(`SELECT count(*)::int AS n FROM mapping.outbox WHERE sent_at IS NULL`);
      if (n === 0) break;
      if (Date.now() > deadline) throw new Error('the outbox relay did not drain in 15 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await nats.nc.flush();
  };
  const answersInOutbox = async (promotionId: string) =>
    (await admin.query(`SELECT count(*)::int AS n FROM mapping.outbox WHERE payload->>'promotionId' = $1`, [promotionId]))[0].n as number;
  const mappingsOf = async (ws: string) =>
    (
      (await admin.query(`SELECT name, target_table FROM mapping.mapping WHERE workspace_id = $1 ORDER BY lower(name)`, [ws])) as Array<{
        name: string;
        target_table: string;
      }>
    ).map((m) => `${m.name}:${m.target_table}`);

  it('copies the mappings, leaves a name the target already has alone, and answers once with the report', async () => {
    const r = request();
    await publish(r);
    const [answer, ...more] = await answerOf(r.promotionId);
    expect(more).toEqual([]);
    expect(answer).toMatchObject({ part: 'MAPPINGS', error: null });
    expect(answer!.items.map((i) => [i.name, i.outcome])).toEqual([
      ['Customers', 'NEEDS_ATTENTION'],
      ['Orders', 'SKIPPED'],
      ['Products', 'NEEDS_ATTENTION'],
    ]);
    expect(answer!.items.find((i) => i.name === 'Orders')!.note).toMatch(/already has a mapping with this name/);
    expect(await mappingsOf(to)).toEqual(['Customers:dim_customers', 'orders:fct_orders_v2', 'Products:dim_products']);
    // Each copy carries the spec as its version 1, and is bound to the target workspace's table id when its schema names the table.
    const copies: Array<{ name: string; target_table_id: string | null; spec: { fields: Record<string, unknown> }; versions: number[] }> = await admin.query(
      `SELECT m.name, m.target_table_id, m.spec, array_agg(v.version ORDER BY v.version) AS versions
         FROM mapping.mapping m JOIN mapping.mapping_version v ON v.mapping_id = m.id
        WHERE m.workspace_id = $1 AND m.name IN ('Customers', 'Products') GROUP BY m.id ORDER BY m.name`,
      [to],
    );
    expect(copies.map((c) => [c.name, c.target_table_id, Object.keys(c.spec.fields), c.versions])).toEqual([
      ['Customers', customersTableId, ['customers_note'], [1]],
      ['Products', null, ['products_note'], [1]],
    ]);

    // The same request again (a redelivery, or a second publish): nothing changes, no second answer.
    await publish(r);
    await settled();
    await delivered();
    expect(await answersInOutbox(r.promotionId)).toBe(1);
    expect(answers.filter((a) => a.promotionId === r.promotionId)).toHaveLength(1);
    expect(await mappingsOf(to)).toEqual(['Customers:dim_customers', 'orders:fct_orders_v2', 'Products:dim_products']);
  });

  it('refuses a workspace of another org (or one it does not know) and copies nothing', async () => {
    const r = request({ toWorkspaceId: foreign });
    await publish(r);
    const [answer] = await answerOf(r.promotionId);
    expect(answer).toMatchObject({ items: [], error: expect.stringMatching(/^WORKSPACE_NOT_FOUND/) });
    expect(await mappingsOf(foreign)).toEqual([]);
  });

  it('ignores a request that does not include mappings', async () => {
    const r = request({ include: ['CONNECTIONS'] });
    await publish(r);
    await settled();
    await delivered();
    expect(await answersInOutbox(r.promotionId)).toBe(0);
    expect(answers.filter((a) => a.promotionId === r.promotionId)).toEqual([]);
    expect(await admin.query(`SELECT count(*)::int AS n FROM mapping.promotion_applied WHERE promotion_id = $1`, [r.promotionId])).toEqual([{ n: 0 }]);
  });
});
