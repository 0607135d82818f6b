import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createLogger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { STREAMS, auditSubject, parseAuditEvent } from '@datalinx/contracts';
import { connectNats, encodeJson, ensureStreams, type Nats } from '@datalinx/messaging';
import { monitoringDataSource } from '../src/data-source';
import { migrate } from '../src/migrate';
import { AuditRecorder } from '../src/managers/audit-recorder';
import { AuditEventsConsumer, parseAuditMessage } from '../src/jobs/audit-events.consumer';
import { eventually } from './support/run-events';
import { legacyAuditEnvelope, newAuditEvent } from './support/audit-events';

/**
 * The audit consumer end to end: real JetStream (the shared EVENTS stream), real PostgreSQL.
 * Isolation on the shared NATS server: a durable name and an org unique to this run; the
 * consumer only sees `audit.<that org>`; both are removed afterwards.
 */
describe('audit events consumer (EVENTS audit.<orgId> → monitoring.audit_log)', () => {
  let db: TestDatabase;
  /** The admin: inspects rows of every org. */
  let ds: DataSource;
  /** The runtime role the consumer runs as (row-level security applies). */
  let app: DataSource;
  let nats: Nats;
  let consumer: AuditEventsConsumer;
  const durable = `monitoring-audit-test-${randomBytes(6).toString('hex')}`;
  const orgId = randomUUID();
  const subject = auditSubject(orgId);

  beforeAll(async () => {
    if (!process.env.NATS_URL) throw new Error('NATS_URL is not set: run tests with `npm test`, which provides NATS.');
    db = await createTestDatabase();
    await migrate(db.url);
    ds = await monitoringDataSource(db.url).initialize();
    app = await monitoringDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url)).initialize();
    nats = await connectNats(process.env.NATS_URL, 'monitoring-audit-test');
    await ensureStreams(nats.jsm);
    consumer = new AuditEventsConsumer({
      js: nats.js,
      jsm: nats.jsm,
      recorder: new AuditRecorder(app),
      log: createLogger('monitoring-audit-consumer-test', 'silent'),
      durable,
      filterSubject: subject,
      concurrency: 4,
      ackWaitMs: 5000,
      maxDeliver: 5,
      backoffBaseMs: 100,
    });
    await consumer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    if (nats) {
      await nats.jsm.consumers.delete(STREAMS.EVENTS.name, durable).catch(() => undefined);
      await nats.jsm.streams.purge(STREAMS.EVENTS.name, { filter: subject }).catch(() => undefined);
      await nats.close();
    }
    await app?.destroy();
    await ds?.destroy();
    await db?.drop();
  });

  const publish = async (body: unknown, on = subject, msgID?: string) =>
    (await nats.js.publish(on, body instanceof Uint8Array ? body : encodeJson(body), msgID ? { msgID } : undefined)).seq;
  const rowsOf = (id: string) => ds.query(`SELECT * FROM monitoring.audit_log WHERE id = $1`, [id]);
  const drained = async () => {
    const info = await nats.jsm.consumers.info(STREAMS.EVENTS.name, durable);
    return info.num_pending === 0 && info.num_ack_pending === 0 ? info : undefined;
  };

  it('stores an event once, however often it is published', async () => {
    const ev = newAuditEvent({
      orgId,
      action: 'auth.login.failed',
      actor: { type: 'anonymous' },
      target: { type: 'User', id: randomUUID() },
      outcome: 'failure',
      userAgent: 'Mozilla/5.0 (test)',
      details: { reason: 'wrong_password', attempts: 3, locked: false },
    });
    const redeliveredBefore = (await nats.jsm.consumers.info(STREAMS.EVENTS.name, durable)).num_redelivered;
    // Twice with the outbox relay's msgID (JetStream's duplicate window drops the second), then
    // twice without one — a republish after the window — which only the consumer's idempotency stops.
    await publish(ev, subject, ev.id);
    await publish(ev, subject, ev.id);
    await publish(ev);
    await publish(ev);
    await eventually(async () => ((await rowsOf(ev.id)).length ? true : undefined), 'the audit row');
    const info = await eventually(drained, 'the consumer to drain');
    // The copies were acked as duplicates on first delivery, not failed and retried.
    expect(info.num_redelivered).toBe(redeliveredBefore);

    const rows = await rowsOf(ev.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      org_id: orgId,
      actor_type: 'anonymous',
      actor_id: null,
      action: 'auth.login.failed',
      target_type: 'User',
      target_id: ev.target!.id,
      ip: '203.0.113.7',
      user_agent: 'Mozilla/5.0 (test)',
      outcome: 'failure',
      details: { reason: 'wrong_password', attempts: 3, locked: false },
    });
    expect(rows[0].occurred_at.toISOString()).toBe(new Date(ev.occurredAt).toISOString());
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM monitoring.consumed_event WHERE event_id = $1`, [`audit:${ev.id}`]);
    expect(n).toBe(1);
  });

  it('stores the legacy envelope auth published first, normalized to V1', async () => {
    const userId = randomUUID();
    const env = legacyAuditEnvelope(orgId, {
      action: 'auth.signup',
      actorType: 'USER',
      actorId: userId,
      targetType: 'Organization',
      targetId: orgId,
      details: { slug: 'acme' },
    });
    await publish(env);
    const [row] = await eventually(async () => {
      const r = await rowsOf(env.id);
      return r.length ? r : undefined;
    }, 'the legacy audit row');
    expect(row).toMatchObject({
      actor_type: 'user',
      actor_id: userId,
      action: 'auth.signup',
      target_type: 'Organization',
      target_id: orgId,
      outcome: 'success',
      details: { slug: 'acme' },
    });
  });

  it('terminates malformed messages without blocking the ones behind them', async () => {
    const terminated: number[] = [];
    const sub = nats.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${STREAMS.EVENTS.name}.${durable}`, {
      callback: (_err, m) => {
        terminated.push((m.json() as { stream_seq: number }).stream_seq);
      },
    });
    await nats.nc.flush();
    const redeliveredBefore = (await nats.jsm.consumers.info(STREAMS.EVENTS.name, durable)).num_redelivered;

    const bad = [
      await publish(new TextEncoder().encode('{ not json')),
      await publish({ ...newAuditEvent({ orgId }), v: 2 }), // unknown version
      await publish({ ...newAuditEvent({ orgId }), outcome: 'maybe' }),
      await publish(newAuditEvent({ orgId, details: { newPassword: 'hunter2hunter2' } })), // a secret in the details
      await publish({ ...newAuditEvent({ orgId }), refreshToken: 'rt_abc' }), // an unknown key
      await publish(newAuditEvent({ orgId: randomUUID() })), // another org's event on this org's subject
    ];
    const good = newAuditEvent({ orgId, action: 'auth.session.revoked' });
    await publish(good);

    await eventually(async () => ((await rowsOf(good.id)).length ? true : undefined), 'the valid event behind the malformed ones');
    await eventually(async () => (terminated.length >= bad.length ? true : undefined), 'the terminations');
    const info = await eventually(drained, 'the consumer to drain');
    sub.unsubscribe();

    expect(terminated.sort((a, b) => a - b)).toEqual(bad);
    expect(info.num_redelivered).toBe(redeliveredBefore); // terminated on first delivery, never retried
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM monitoring.audit_log WHERE org_id <> $1`, [orgId]);
    expect(n).toBe(0);
  });

  it('validates the contract and the subject before anything is stored', () => {
    const ev = newAuditEvent();
    expect(parseAuditMessage(auditSubject(ev.orgId), encodeJson(ev))).toEqual(ev);
    expect(() => parseAuditMessage(`audit.${randomUUID()}`, encodeJson(ev))).toThrow(
      expect.objectContaining({ name: 'PermanentJobError', code: 'AUDIT_EVENT_WRONG_SUBJECT' }),
    );
    expect(() => parseAuditMessage(auditSubject(ev.orgId), encodeJson({ ...ev, occurredAt: 'yesterday' }))).toThrow(
      expect.objectContaining({ code: 'AUDIT_EVENT_INVALID' }),
    );
    for (const key of ['password', 'newPassword', 'accessToken', 'refresh_token', 'totpSecret', 'apiKey', 'backup_codes', 'passwordHash', 'Cookie']) {
      const r = parseAuditEvent({ ...ev, details: { [key]: 'x' } });
      expect([key, r.success]).toEqual([key, false]);
      // …at any depth.
      expect([key, parseAuditEvent({ ...ev, details: { after: { nested: [{ [key]: 'x' }] } } }).success]).toEqual([key, false]);
    }
    // Settings about secrets are not secrets; nested context (a policy change) is allowed.
    const policy = {
      ...ev,
      details: { before: { passwordMinLength: 12, tokenTtlS: 900, mfaRequiredForAdmins: false }, after: { passwordMinLength: 14 }, revokedSessions: 2 },
    };
    expect(parseAuditEvent(policy)).toEqual({ success: true, data: policy });
    expect(parseAuditEvent({ ...ev, details: { a: { b: { c: { d: { e: 1 } } } } } }).success).toBe(false); // too deep
    expect(parseAuditEvent({ ...ev, details: { blob: Array.from({ length: 20 }, () => 'x'.repeat(1000)) } }).success).toBe(false); // > 8 KB
    expect(parseAuditEvent({ ...ev, actor: { type: 'user', id: 'u1', password: 'x' } }).success).toBe(false);
    // Legacy: subject must name the org; outcome derived from the action.
    const legacy = legacyAuditEnvelope(ev.orgId, { action: 'auth.login.failed', actorType: 'ANONYMOUS', actorId: null, targetType: 'User', targetId: null });
    expect(parseAuditEvent(legacy)).toEqual({
      success: true,
      data: {
        v: 1,
        id: legacy.id,
        orgId: ev.orgId,
        occurredAt: legacy.occurredAt,
        actor: { type: 'anonymous' },
        action: 'auth.login.failed',
        outcome: 'failure',
        details: {},
      },
    });
    expect(parseAuditEvent({ ...legacy, subject: `audit.${randomUUID()}` }).success).toBe(false);
    const withClient = legacyAuditEnvelope(ev.orgId, {
      action: 'auth.login.succeeded',
      actorType: 'USER',
      actorId: 'u1',
      targetType: 'Session',
      targetId: 's1',
      details: { ip: '2001:db8::1', userAgent: 'curl/8', mfa: true },
    });
    expect(parseAuditEvent(withClient)).toMatchObject({
      success: true,
      data: { ip: '2001:db8::1', userAgent: 'curl/8', details: { mfa: true }, target: { type: 'Session', id: 's1' } },
    });
    const badIp = legacyAuditEnvelope(ev.orgId, {
      action: 'auth.login.succeeded',
      actorType: 'USER',
      actorId: 'u1',
      targetType: 'Session',
      targetId: 's1',
      details: { ip: 'not-an-ip' },
    });
    expect(parseAuditEvent(badIp)).toMatchObject({ success: true, data: { details: { ip: 'not-an-ip' } } });
    expect((parseAuditEvent(badIp) as { data: { ip?: string } }).data.ip).toBeUndefined();
  });
});
