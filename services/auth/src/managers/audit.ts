import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { enqueueOutbox } from '@datalinx/messaging';
import { auditEventData, auditSubject, type DomainEventEnvelope } from '@datalinx/contracts';

/**
 * Writes an audit event to the outbox inside the caller's transaction (subject `audit.<orgId>`,
 * EVENTS stream). Audit data holds ids and action names — never passwords or tokens.
 */
export async function audit(
  em: EntityManager,
  orgId: string,
  e: { action: string; actorType: 'USER' | 'SERVICE_ACCOUNT' | 'ANONYMOUS'; actorId: string | null; targetType: string; targetId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  const id = randomUUID();
  const envelope: DomainEventEnvelope = { id, subject: auditSubject(orgId), orgId, occurredAt: new Date().toISOString(), data: auditEventData.parse(e) };
  await enqueueOutbox(em, envelope.subject, envelope, id);
}
