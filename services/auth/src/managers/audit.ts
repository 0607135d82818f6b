import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { enqueueOutbox } from '@datalinx/messaging';
import { auditEventV1From, auditSubject, type AuditParts } from '@datalinx/contracts';

/**
 * Writes an audit event (contract `auditEventV1`) to the outbox inside the caller's transaction
 * (subject `audit.<orgId>`, EVENTS stream; monitoring stores it). Audit data holds ids and action
 * names — never passwords or tokens: the contract refuses detail keys that name a secret.
 */
export async function audit(em: EntityManager, orgId: string, e: AuditParts): Promise<void> {
  const id = randomUUID();
  const event = auditEventV1From({ id, orgId, occurredAt: new Date().toISOString() }, e);
  await enqueueOutbox(em, auditSubject(orgId), event, id);
}
