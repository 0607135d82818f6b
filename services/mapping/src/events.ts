/**
 * Domain events this service publishes (stream EVENTS, through its outbox). The body of each is
 * a versioned zod contract of @datalinx/contracts' event registry (`enqueueOutbox` parses it
 * before writing); a consumer validates with the same schema.
 */
export {
  MAPPING_CREATED_V1,
  MAPPING_DRIFT_DETECTED_V1,
  mappingCreatedV1,
  mappingDriftDetectedV1,
  type MappingCreatedV1,
  type MappingDriftDetectedV1,
} from '@datalinx/contracts';
