import { z } from 'zod';
import { domainEventEnvelope, type DomainEventEnvelope } from '@datalinx/contracts';

/**
 * Domain events this service publishes (stream EVENTS, through its outbox). The body of each is
 * a versioned zod contract; a consumer validates with the same schema.
 */
export const MAPPING_CREATED_V1 = 'mapping.mapping.created.v1';

export const mappingCreatedV1 = z.object({
  mappingId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  name: z.string().min(1),
  targetTable: z.string().min(1),
  version: z.number().int().min(1),
  actor: z.object({ kind: z.enum(['user', 'service-account']), id: z.string().uuid() }),
});
export type MappingCreatedV1 = z.infer<typeof mappingCreatedV1>;

/** The full envelope for the outbox row; both parts are validated before anything is written. */
export function mappingEvent(id: string, subject: typeof MAPPING_CREATED_V1, orgId: string, occurredAt: Date, data: MappingCreatedV1): DomainEventEnvelope {
  return domainEventEnvelope.parse({ id, subject, orgId, occurredAt: occurredAt.toISOString(), data: mappingCreatedV1.parse(data) });
}
