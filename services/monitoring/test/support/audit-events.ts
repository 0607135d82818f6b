import { randomUUID } from 'node:crypto';
import type { AuditEventV1 } from '@datalinx/contracts';

/**
 * Builder with defaults: a successful login of a fresh user in `orgId` (fresh org unless given).
 * `target`, `ip`: a default unless the key is given (`target: undefined` leaves it out).
 */
export function newAuditEvent(o: Partial<AuditEventV1> = {}): AuditEventV1 {
  const actorId = randomUUID();
  return {
    v: 1,
    id: o.id ?? randomUUID(),
    orgId: o.orgId ?? randomUUID(),
    occurredAt: o.occurredAt ?? new Date().toISOString(),
    actor: o.actor ?? { type: 'user', id: actorId, email: `u-${actorId.slice(0, 8)}@example.com` },
    action: o.action ?? 'auth.login.succeeded',
    ...('target' in o ? (o.target ? { target: o.target } : {}) : { target: { type: 'Session', id: randomUUID() } }),
    ...('ip' in o ? (o.ip ? { ip: o.ip } : {}) : { ip: '203.0.113.7' }),
    ...(o.userAgent !== undefined ? { userAgent: o.userAgent } : {}),
    outcome: o.outcome ?? 'success',
    details: o.details ?? {},
  };
}

/** The legacy envelope auth's first slice published (no `v`), as `services/auth/src/managers/audit.ts` builds it. */
export function legacyAuditEnvelope(
  orgId: string,
  data: {
    action: string;
    actorType: 'USER' | 'SERVICE_ACCOUNT' | 'ANONYMOUS';
    actorId: string | null;
    targetType: string;
    targetId: string | null;
    details?: Record<string, unknown>;
  },
  o: { id?: string; occurredAt?: string } = {},
) {
  return { id: o.id ?? randomUUID(), subject: `audit.${orgId}`, orgId, occurredAt: o.occurredAt ?? new Date().toISOString(), data: { details: {}, ...data } };
}
