import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { PROMOTION_REQUESTED_V1, STREAMS, promotionRequestedV1, type PromotionRequestedV1 } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { PromotionDao } from '../daos/promotion.dao';

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
 * Answers promotion requests that include MAPPINGS (workspace.promotion.requested.v1 on EVENTS):
 * copies the mappings and publishes mapping.promotion.completed.v1 through the outbox. Exactly
 * once per promotion (mapping.promotion_applied); requests without MAPPINGS are not ours.
 */
export async function startPromotionConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  dao: PromotionDao;
  log: Logger;
  durable: string;
  afterCommit?: () => void;
  /** Called when the promotion copied mappings into a workspace (its dbt project changes). */
  workspaceChanged?: (orgId: string, workspaceId: string) => void;
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
      if (!req.include.includes('MAPPINGS')) return;
      if (o.accept && !(await o.accept(req))) return;
      const answer = await o.dao.apply(req);
      if (answer) {
        o.afterCommit?.();
        o.workspaceChanged?.(req.orgId, req.toWorkspaceId);
      }
      return { promotionId: req.promotionId, copied: answer?.items.filter((i) => i.targetId).length ?? 0, redelivered: !answer };
    },
  });
  await consumer.start();
  return consumer;
}
