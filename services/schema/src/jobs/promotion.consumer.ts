import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { PROMOTION_REQUESTED_V1, STREAMS, promotionRequestedV1, type PromotionRequestedV1 } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { TargetSchemaManager } from '../managers/target-schema.manager';

function parse(_subject: string, data: Uint8Array): PromotionRequestedV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('invalid promotion request: not JSON');
  }
  const parsed = promotionRequestedV1.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid promotion request: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Answers promotion requests that include TARGET_SCHEMAS (workspace.promotion.requested.v1 on
 * EVENTS): the source workspace's target schema becomes a new version of the target workspace's,
 * and schema.promotion.completed.v1 goes out through the outbox. Exactly once per promotion
 * (schema.promotion_applied); requests without TARGET_SCHEMAS are not ours.
 */
export async function startPromotionConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  targetSchemas: TargetSchemaManager;
  log: Logger;
  durable: string;
  accept?: (req: PromotionRequestedV1) => Promise<boolean>;
}): Promise<StreamConsumer<PromotionRequestedV1>> {
  const consumer = new StreamConsumer<PromotionRequestedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable,
    filterSubject: PROMOTION_REQUESTED_V1,
    concurrency: 2,
    ackWaitMs: 60_000,
    maxDeliver: 10,
    what: 'promotion requests',
    parse,
    apply: async (req) => {
      if (!req.include.includes('TARGET_SCHEMAS')) return;
      if (o.accept && !(await o.accept(req))) return;
      const answer = await o.targetSchemas.promote(req);
      return { promotionId: req.promotionId, copied: answer?.items.length ?? 0, redelivered: !answer };
    },
  });
  await consumer.start();
  return consumer;
}
