import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, withTenant, type TestDatabase } from '@datalinx/db';
import { VIEWER_HEADER, ANONYMOUS, type Viewer } from '@datalinx/graphql-kit';
import type { DataSource } from 'typeorm';
import type { AuditEventV1 } from '@datalinx/contracts';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMonitoringServer } from '../src/app';
import { AuditRecorder } from '../src/managers/audit-recorder';
import { AuditLogDao } from '../src/daos/audit-log.dao';
import { makeTestKeys, type TestKeys } from '../../../test/support/keys';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';
import { at } from './support/run-events';
import { newAuditEvent } from './support/audit-events';

interface EntryView {
  id: string;
  occurredAt: string;
  actor: { type: string; id: string | null; email: string | null };
  action: string;
  target: { type: string; id: string } | null;
  outcome: string;
  ip: string | null;
  userAgent: string | null;
  details: Array<{ key: string; value: string }>;
}
type Page = { auditLog: { nodes: EntryView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

const ENTRY_FIELDS = `id occurredAt actor { type id email } action target { type id } outcome ip userAgent details { key value }`;
const LIST = `query($filter: AuditLogFilter, $first: Int, $after: String){
  auditLog(filter: $filter, first: $first, after: $after) { nodes { ${ENTRY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;

/**
 * `Query.auditLog` over the real write path (the consumer's AuditRecorder, as the runtime role):
 * org ADMINs only, their own org only, filters, keyset paging newest first, typed errors.
 */
describe('audit log (monitoring subgraph)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let app: DataSource;
  let keys: TestKeys;
  let server: Awaited<ReturnType<typeof createMonitoringServer>>;
  let httpServer: http.Server;
  let url: string;

  const orgA = randomUUID();
  const orgB = randomUUID();
  const adminA = userViewer({ orgId: orgA, orgRole: 'ADMIN' });
  const memberA = userViewer({ orgId: orgA, orgRole: 'MEMBER', grants: [{ workspaceId: randomUUID(), role: 'EDITOR' }] });
  const viewerA = userViewer({ orgId: orgA, orgRole: 'VIEWER' });
  const adminB = userViewer({ orgId: orgB, orgRole: 'ADMIN' });
  const alice = randomUUID();
  const bob = randomUUID();

  /** Org A's events, oldest first; the log lists them newest first. */
  let a: AuditEventV1[];
  let b: AuditEventV1;

  beforeAll(async () => {
    db = await createTestDatabase();
    await migrate(db.url);
    keys = await makeTestKeys();
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    const user = (id: string) => ({ type: 'user' as const, id, email: `${id.slice(0, 6)}@a.example` });
    a = [
      newAuditEvent({
        orgId: orgA,
        occurredAt: at(0),
        action: 'auth.signup',
        actor: user(alice),
        target: { type: 'Organization', id: orgA },
        details: { slug: 'acme' },
      }),
      newAuditEvent({ orgId: orgA, occurredAt: at(1000), action: 'auth.login.succeeded', actor: user(alice) }),
      newAuditEvent({
        orgId: orgA,
        occurredAt: at(2000),
        action: 'auth.login.failed',
        actor: { type: 'anonymous' },
        outcome: 'failure',
        details: { reason: 'wrong_password' },
      }),
      newAuditEvent({ orgId: orgA, occurredAt: at(3000), action: 'auth.login.succeeded', actor: user(bob), userAgent: 'curl/8' }),
      newAuditEvent({
        orgId: orgA,
        occurredAt: at(4000),
        action: 'auth.session.revoked',
        actor: user(alice),
        details: { reason: 'logout', sessions: ['s1', 's2'], policy: { idleMinutes: 30 } },
      }),
      newAuditEvent({ orgId: orgA, occurredAt: at(4000), action: 'auth.user.deactivated', actor: user(alice), target: { type: 'User', id: bob } }),
      newAuditEvent({ orgId: orgA, occurredAt: at(5000), action: 'auth.api_key.created', actor: { type: 'system' }, target: undefined }),
    ];
    b = newAuditEvent({ orgId: orgB, occurredAt: at(2500), action: 'auth.login.succeeded', actor: user(alice) });
    const rec = new AuditRecorder(app);
    for (const e of [...a, b]) expect(await rec.record(e)).toBe('recorded');

    server = await createMonitoringServer({ ds: app, verifier: keys.verifier, log: createLogger('monitoring-audit-test', 'silent') });
    httpServer = await server.listen(0, '127.0.0.1');
    url = urlOf(httpServer);
  });

  afterAll(async () => {
    await server?.stop();
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const as = async (viewer: Viewer) => ({ [VIEWER_HEADER]: await keys.signer.sign(viewer, randomUUID()) });
  const list = async (viewer: Viewer, vars: Record<string, unknown> = {}) => postGraphQL<Page>(url, LIST, vars, await as(viewer));
  /** Newest first; same time → higher id first (the keyset order). */
  const newestFirst = (events: AuditEventV1[]) =>
    [...events].sort((x, y) => Date.parse(y.occurredAt) - Date.parse(x.occurredAt) || (y.id > x.id ? 1 : y.id < x.id ? -1 : 0)).map((e) => e.id);
  const ids = (res: { body: { data?: Page | null } }) => res.body.data?.auditLog.nodes.map((n) => n.id);

  it('records an event id once (the ledger and the primary key)', async () => {
    const rec = new AuditRecorder(app);
    expect(await rec.record(a[0]!)).toBe('duplicate');
    // Even after the ledger row is pruned, the row's primary key keeps it single.
    await ds.query(`DELETE FROM monitoring.consumed_event WHERE event_id = $1`, [`audit:${a[0]!.id}`]);
    expect(await rec.record(a[0]!)).toBe('duplicate');
    expect(await ds.query(`SELECT count(*)::int AS n FROM monitoring.audit_log WHERE id = $1`, [a[0]!.id])).toEqual([{ n: 1 }]);
  });

  it('shows an admin the whole entry of its own org, newest first', async () => {
    const res = await list(adminA);
    expect(res.body.errors).toBeUndefined();
    expect(ids(res)).toEqual(newestFirst(a));
    const failed = res.body.data!.auditLog.nodes.find((n) => n.id === a[2]!.id);
    expect(failed).toEqual({
      id: a[2]!.id,
      occurredAt: at(2000),
      actor: { type: 'ANONYMOUS', id: null, email: null },
      action: 'auth.login.failed',
      target: { type: 'Session', id: a[2]!.target!.id },
      outcome: 'FAILURE',
      ip: '203.0.113.7',
      userAgent: null,
      details: [{ key: 'reason', value: 'wrong_password' }],
    });
    const revoked = res.body.data!.auditLog.nodes.find((n) => n.id === a[4]!.id);
    expect(revoked?.details).toEqual([
      { key: 'policy', value: '{"idleMinutes":30}' },
      { key: 'reason', value: 'logout' },
      { key: 'sessions', value: '["s1","s2"]' },
    ]);
    expect(res.body.data!.auditLog.nodes.find((n) => n.id === a[6]!.id)).toMatchObject({ actor: { type: 'SYSTEM', id: null }, target: null });
  });

  it('pages newest first without gaps or repeats, entries at the same time included', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await list(adminA, { first: 2, after });
      expect(res.body.errors).toBeUndefined();
      const page = res.body.data!.auditLog;
      seen.push(...page.nodes.map((n) => n.id));
      expect(page.nodes.length).toBeLessThanOrEqual(2);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(newestFirst(a));
  });

  it('filters by actor, action, action prefix and time range (combined with AND)', async () => {
    expect(ids(await list(adminA, { filter: { actorId: bob } }))).toEqual([a[3]!.id]);
    expect(ids(await list(adminA, { filter: { actorId: alice } }))).toEqual(newestFirst([a[0]!, a[1]!, a[4]!, a[5]!]));
    expect(ids(await list(adminA, { filter: { action: 'auth.login.succeeded' } }))).toEqual(newestFirst([a[1]!, a[3]!]));
    expect(ids(await list(adminA, { filter: { actionPrefix: 'auth.login' } }))).toEqual(newestFirst([a[1]!, a[2]!, a[3]!]));
    expect(ids(await list(adminA, { filter: { actionPrefix: 'auth.user.' } }))).toEqual([a[5]!.id]);
    // `_` is a literal, not LIKE's wildcard: `auth.api_` matches auth.api_key.*, `auth.apix` would not.
    expect(ids(await list(adminA, { filter: { actionPrefix: 'auth.api_' } }))).toEqual([a[6]!.id]);
    expect(ids(await list(adminA, { filter: { actionPrefix: 'auth.ap_' } }))).toEqual([]);
    expect(ids(await list(adminA, { filter: { from: at(1000), to: at(3000) } }))).toEqual(newestFirst([a[1]!, a[2]!, a[3]!]));
    expect(ids(await list(adminA, { filter: { from: at(4000) } }))).toEqual(newestFirst([a[4]!, a[5]!, a[6]!]));
    expect(ids(await list(adminA, { filter: { to: at(0) } }))).toEqual([a[0]!.id]);
    expect(ids(await list(adminA, { filter: { actorId: alice, actionPrefix: 'auth.login', from: at(500) } }))).toEqual([a[1]!.id]);
    expect(ids(await list(adminA, { filter: { actorId: alice, from: at(1000) }, first: 1 }))).toEqual([newestFirst([a[4]!, a[5]!])[0]]);
  });

  it('rejects an invalid filter, cursor or page size with typed errors', async () => {
    const reversed = await list(adminA, { filter: { from: at(3000), to: at(1000) } });
    expect(reversed.body.data).toBeNull();
    expect(reversed.body.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      fieldErrors: [{ field: 'filter.to', message: 'must not be before filter.from' }],
    });
    const many = await list(adminA, { filter: { from: 'last tuesday', action: 'Auth Login', actionPrefix: 'auth.%' } });
    expect(many.body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((many.body.errors?.[0]?.extensions?.fieldErrors as Array<{ field: string }>).map((f) => f.field).sort()).toEqual([
      'filter.action',
      'filter.actionPrefix',
      'filter.from',
    ]);
    expect((await list(adminA, { after: 'nope' })).body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((await list(adminA, { first: 0 })).body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect((await list(adminA, { first: 201 })).body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  describe('access', () => {
    it('refuses members and viewers of the org with FORBIDDEN', async () => {
      for (const v of [memberA, viewerA]) {
        const res = await list(v);
        expect(res.body.data).toBeNull();
        expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      }
    });

    it('refuses anonymous callers with UNAUTHENTICATED and service accounts with FORBIDDEN', async () => {
      expect((await list(ANONYMOUS)).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const sa: Viewer = {
        kind: 'service-account',
        serviceAccountId: randomUUID(),
        orgId: orgA,
        grants: [{ workspaceId: randomUUID(), role: 'EDITOR' }],
        keyId: 'k1',
        authMethod: 'api-key',
      };
      expect((await list(sa)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });

    it('shows an admin of org B none of org A’s entries, whatever the filter', async () => {
      expect(ids(await list(adminB))).toEqual([b.id]);
      expect(ids(await list(adminB, { filter: { actorId: alice } }))).toEqual([b.id]); // the same actor id in both orgs
      expect(ids(await list(adminB, { filter: { actionPrefix: 'auth.' } }))).toEqual([b.id]);
      expect(ids(await list(adminB, { filter: { actorId: bob } }))).toEqual([]);
      // A cursor taken from org A's log leads nowhere into it.
      const pageA = await list(adminA, { first: 1 });
      expect(ids(await list(adminB, { after: pageA.body.data!.auditLog.pageInfo.endCursor }))).toEqual([b.id]);
    });

    it('the manager re-checks the permission, and the DAO reads one org only', async () => {
      // Behind shield: the manager alone refuses a member (a mis-set rule must not open the log).
      const { AuditLogManager } = await import('../src/managers/audit-log.manager');
      await expect(new AuditLogManager(new AuditLogDao(app)).list(memberA, {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
      // The DAO asked for org B sees only B's rows even with an unfiltered, RLS-bound transaction.
      expect((await new AuditLogDao(app).list(orgB, {}, { first: 50 })).map((r) => r.id)).toEqual([b.id]);
    });
  });

  it('is append-only for the runtime role: its own org’s entries can be neither changed nor deleted', async () => {
    const count = (sql: string) => withTenant(app, orgA, (em) => em.query(`WITH x AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM x`, [a[1]!.id]));
    expect(await count(`UPDATE monitoring.audit_log SET action = 'auth.nothing_happened' WHERE id = $1`)).toEqual([{ n: 0 }]);
    expect(await count(`DELETE FROM monitoring.audit_log WHERE id = $1`)).toEqual([{ n: 0 }]);
    expect(await ds.query(`SELECT action FROM monitoring.audit_log WHERE id = $1`, [a[1]!.id])).toEqual([{ action: 'auth.login.succeeded' }]);
  });

  it('exposes no other field than the listed ones (no secrets can be selected)', async () => {
    const res = await postGraphQL(url, `query { auditLog { nodes { id details { key value } recordedAt } } }`, {}, await as(adminA));
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
