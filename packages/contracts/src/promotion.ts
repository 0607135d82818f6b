import { z } from 'zod';

/**
 * Promotion: copying a workspace's configuration into another workspace of the same org
 * (dev → staging → prod). The workspace service owns the promotion and copies what it owns
 * (connections without their secrets, pipelines); the other services copy theirs when they see
 * the request on EVENTS and answer with their part of the report. Services never call each other.
 */
export const PROMOTION_REQUESTED_V1 = 'workspace.promotion.requested.v1';

export const promotionPart = z.enum(['CONNECTIONS', 'PIPELINES', 'MAPPINGS', 'TARGET_SCHEMAS']);
export type PromotionPart = z.infer<typeof promotionPart>;

export const promotionRequestedV1 = z.object({
  v: z.literal(1),
  promotionId: z.string().uuid(),
  orgId: z.string().uuid(),
  fromWorkspaceId: z.string().uuid(),
  toWorkspaceId: z.string().uuid(),
  /** The parts asked for; a service answers only for its own parts among them. */
  include: z.array(promotionPart).min(1),
  requestedBy: z.string().min(1),
});
export type PromotionRequestedV1 = z.infer<typeof promotionRequestedV1>;

/** One line of the report: what was looked at, what happened to it, and what to do about it. */
export const promotionItem = z.object({
  kind: z.enum(['CONNECTION', 'PIPELINE', 'MAPPING', 'TARGET_SCHEMA']),
  name: z.string(),
  sourceId: z.string(),
  /** The copy in the target workspace (null when nothing was copied). */
  targetId: z.string().nullable(),
  /** COPIED: ready as is; NEEDS_ATTENTION: copied, but something must be done before it works; SKIPPED: not copied. */
  outcome: z.enum(['COPIED', 'NEEDS_ATTENTION', 'SKIPPED']),
  note: z.string().nullable(),
});
export type PromotionItem = z.infer<typeof promotionItem>;

/** `<service>.promotion.completed.v1`: a service's part of the report, once. */
export const promotionPartCompletedV1 = z.object({
  v: z.literal(1),
  promotionId: z.string().uuid(),
  orgId: z.string().uuid(),
  part: promotionPart,
  items: z.array(promotionItem),
  /** Why the part could not be done at all (e.g. a workspace this service does not know). */
  error: z.string().nullable(),
});
export type PromotionPartCompletedV1 = z.infer<typeof promotionPartCompletedV1>;

export const promotionCompletedSubject = <S extends 'mapping' | 'schema'>(service: S) => `${service}.promotion.completed.v1` as const;
/**
 * The mapping service's answers (MAPPINGS); the schema service answers TARGET_SCHEMAS on
 * `promotionCompletedSubject('schema')`. A JetStream filter must fall under one of the stream's
 * subjects (`mapping.>`, `schema.>`, …), so a wildcard over services is not possible in one
 * consumer: the workspace service runs one per answering service.
 */
export const PROMOTION_COMPLETED_FILTER = promotionCompletedSubject('mapping');
