import { mappingCreatedEnvelopeV1, mappingCreatedV1, type MappingCreatedEnvelopeV1, type MAPPING_CREATED_V1, type MappingCreatedV1 } from '@datalinx/contracts';

/**
 * Domain events this service publishes (stream EVENTS, through its outbox). The body of each is
 * a versioned zod contract; a consumer validates with the same schema.
 */
export { MAPPING_CREATED_V1, mappingCreatedV1, type MappingCreatedV1 } from '@datalinx/contracts';

/** The full envelope for the outbox row; both parts are validated before anything is written. */
export function mappingEvent(
  id: string,
  subject: typeof MAPPING_CREATED_V1,
  orgId: string,
  occurredAt: Date,
  data: MappingCreatedV1,
): MappingCreatedEnvelopeV1 {
  return mappingCreatedEnvelopeV1.parse({ id, subject, orgId, occurredAt: occurredAt.toISOString(), data: mappingCreatedV1.parse(data) });
}
