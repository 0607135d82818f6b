import type http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createLogger } from '@datalinx/common';
import { runtimeRoleUrl } from '@datalinx/db';
import { STREAMS, auditSubject } from '@datalinx/contracts';
import { VIEWER_HEADER } from '@datalinx/graphql-kit';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { createMonitoringServer } from '../src/app';
import { AuditRecorder } from '../src/managers/audit-recorder';
import { AuditEventsConsumer } from '../src/jobs/audit-events.consumer';
import { startIdentityStack, signUpAndLogin, login, type IdentityStack } from '../../../test/support/identity';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL, urlOf } from '../../../test/support/http';
import { eventually } from './support/run-events';

/**
 * Audit end to end, as production wires it: a sign-up and logins through the real gateway and
 * auth subgraph (its outbox + relay publish to EVENTS `audit.<orgId>`), the monitoring audit
 * consumer (runtime role) stores them, and the org's admin reads them through `auditLog`.
 */
describe('audit trail: auth → outbox → EVENTS → monitoring', () => {
  let stack: IdentityStack;
  let app: DataSource;
  let consumer: AuditEventsConsumer | undefined;
  let server: Awaited<ReturnType<typeof createMonitoringServer>>;
  let url: string;
  const durable = `monitoring-audit-e2e-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    stack = await startIdentityStack();
    await migrate(stack.db.url);
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, stack.db.url)).initialize();
    server = await createMonitoringServer({ ds: app, verifier: stack.keys.verifier, log: createLogger('audit-e2e', 'silent') });
    const h: http.Server = await server.listen(0, '127.0.0.1');
    url = urlOf(h);
  });

  afterAll(async () => {
    await consumer?.stop();
    await stack?.nats.jsm.consumers.delete(STREAMS.EVENTS.name, durable).catch(() => undefined);
    await server?.stop();
    await app?.destroy();
    await stack?.stop();
  });

  it('stores the sign-up and the logins, and shows them to the org admin only', async () => {
    const signed = await signUpAndLogin(stack.gatewayUrl);
    await expect(login(stack.gatewayUrl, signed.input.email, 'Wrong-Password-123!')).rejects.toThrow(/login failed/);

    // The consumer is narrowed to this org's subject; it starts after the events were published
    // and still gets them all (the durable delivers the stream's history).
    consumer = new AuditEventsConsumer({
      js: stack.nats.js,
      jsm: stack.nats.jsm,
      recorder: new AuditRecorder(app),
      log: createLogger('audit-e2e-consumer', 'silent'),
      durable,
      filterSubject: auditSubject(signed.orgId),
      concurrency: 2,
      ackWaitMs: 5000,
      maxDeliver: 5,
      backoffBaseMs: 100,
    });
    await consumer.start();

    const admin = userViewer({ orgId: signed.orgId, userId: signed.userId, orgRole: 'ADMIN' });
    type Entry = {
      action: string;
      outcome: string;
      actor: { type: string; id: string | null };
      target: { type: string; id: string } | null;
      details: Array<{ key: string; value: string }>;
    };
    const query = `{ auditLog { nodes { action outcome actor { type id } target { type id } details { key value } } } }`;
    const read = async (v = admin) =>
      postGraphQL<{ auditLog: { nodes: Entry[] } }>(url, query, {}, { [VIEWER_HEADER]: await stack.keys.signer.sign(v, randomUUID()) });
    const entries = await eventually(async () => {
      const nodes = (await read()).body.data?.auditLog.nodes ?? [];
      return nodes.length >= 3 ? nodes : undefined;
    }, 'the sign-up, login and failed login in the audit log');

    const signup = entries.find((e) => e.action === 'auth.signup');
    expect(signup).toMatchObject({ outcome: 'SUCCESS', actor: { type: 'USER', id: signed.userId }, target: { type: 'Organization', id: signed.orgId } });
    expect(entries.filter((e) => e.outcome === 'FAILURE').map((e) => e.action)).toEqual(['auth.login.failed']);
    expect(entries.some((e) => e.outcome === 'SUCCESS' && e.action.startsWith('auth.login') && e.actor.id === signed.userId)).toBe(true);
    // Nothing secret made it through: neither the password nor the tokens appear anywhere.
    const all = JSON.stringify(entries);
    for (const secret of [signed.input.password, 'Wrong-Password-123!', signed.accessToken, signed.refreshToken]) expect(all).not.toContain(secret);

    const member = await read(userViewer({ orgId: signed.orgId, orgRole: 'MEMBER' }));
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const otherAdmin = await read(userViewer({ orgId: randomUUID(), orgRole: 'ADMIN' }));
    expect(otherAdmin.body.data?.auditLog.nodes).toEqual([]);
  });
});
