import { randomUUID } from 'node:crypto';
import { auditSubject } from '@datalinx/contracts';
import { encodeJson } from '@datalinx/messaging';
import { startPlatform, viewerHeader, type Platform } from '../../../test/support/platform';
import { userViewer } from '../../../test/support/viewers';
import { postGraphQL } from '../../../test/support/http';
import { eventually } from './support/run-events';
import { newAuditEvent } from './support/audit-events';

/**
 * `auditLog` through the real gateway and the committed supergraph, fed by the platform's audit
 * consumer from real JetStream: the field is routed to monitoring, org-scoped and admin-only.
 */
describe('audit log through the gateway', () => {
  let p: Platform;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const QUERY = `query($f: AuditLogFilter){ auditLog(filter: $f) { nodes { id action outcome actor { type id } } pageInfo { hasNextPage } } }`;

  beforeAll(async () => {
    p = await startPlatform({ audit: true });
  });

  afterAll(async () => {
    await p?.stop();
  });

  it('shows an org admin its org’s published audit events, and nobody else', async () => {
    const actor = randomUUID();
    const events = [
      newAuditEvent({ orgId: orgA, action: 'auth.login.failed', outcome: 'failure', actor: { type: 'anonymous' } }),
      newAuditEvent({ orgId: orgA, action: 'auth.api_key.revoked', actor: { type: 'user', id: actor } }),
    ];
    for (const e of events) await p.nats.js.publish(auditSubject(e.orgId), encodeJson(e), { msgID: e.id });

    const adminA = viewerHeader(userViewer({ orgId: orgA, orgRole: 'ADMIN' }));
    type Data = { auditLog: { nodes: Array<{ id: string; action: string }>; pageInfo: { hasNextPage: boolean } } };
    const nodes = await eventually(async () => {
      const res = await postGraphQL<Data>(p.gatewayUrl, QUERY, {}, adminA);
      const n = res.body.data?.auditLog.nodes ?? [];
      return n.length === events.length ? n : undefined;
    }, 'the published audit events behind the gateway');
    expect(nodes.map((n) => n.id).sort()).toEqual(events.map((e) => e.id).sort());
    const byActor = await postGraphQL<Data>(p.gatewayUrl, QUERY, { f: { actorId: actor } }, adminA);
    expect(byActor.body.data?.auditLog.nodes.map((n) => n.action)).toEqual(['auth.api_key.revoked']);

    const adminB = await postGraphQL<Data>(p.gatewayUrl, QUERY, {}, viewerHeader(userViewer({ orgId: orgB, orgRole: 'ADMIN' })));
    expect(adminB.body.data).toEqual({ auditLog: { nodes: [], pageInfo: { hasNextPage: false } } });
    const member = await postGraphQL<Data>(p.gatewayUrl, QUERY, {}, viewerHeader(userViewer({ orgId: orgA, orgRole: 'MEMBER' })));
    expect(member.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
