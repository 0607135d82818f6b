import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@datalinx/common';
import { withTenant } from '@datalinx/db';
import { PROMOTION_COMPLETED_FILTER, STREAMS, promotionPartCompletedV1, type PromotionPartCompletedV1 } from '@datalinx/contracts';
import { decodeJson, PermanentJobError, StreamConsumer } from '@datalinx/messaging';
import type { DataSource } from 'typeorm';
import type { PromotionDao } from '../daos/promotion.dao';

function parse(_subject: string, data: Uint8Array): PromotionPartCompletedV1 {
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    throw new PermanentJobError('invalid promotion answer: not JSON');
  }
  const parsed = promotionPartCompletedV1.safeParse(body);
  if (!parsed.success) throw new PermanentJobError(`invalid promotion answer: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Merges the other services' parts of promotions (`<service>.promotion.completed.v1` on EVENTS)
 * into the promotion's report, in the promotion's tenant. Idempotent: a part already merged is
 * ignored; an answer for an unknown promotion (another org's, or not ours) changes nothing.
 */
export async function startPromotionResultsConsumer(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  ds: DataSource;
  dao: PromotionDao;
  log: Logger;
  durable: string;
  accept?: (a: PromotionPartCompletedV1) => Promise<boolean>;
  /** One service's answers (`<service>.promotion.completed.v1`): one consumer per answering service. Default: the mapping service's. */
  filterSubject?: string;
}): Promise<StreamConsumer<PromotionPartCompletedV1>> {
  const consumer = new StreamConsumer<PromotionPartCompletedV1>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable,
    filterSubject: o.filterSubject ?? PROMOTION_COMPLETED_FILTER,
    concurrency: 2,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: 'promotion answers',
    parse,
    apply: async (a) => {
      if (o.accept && !(await o.accept(a))) return;
      const merged = await withTenant(o.ds, a.orgId, async (em) => {
        const p = await o.dao.lock(em, a.orgId, a.promotionId);
        if (!p || !p.expectedParts.includes(a.part) || p.completedParts.includes(a.part)) return false;
        await o.dao.completePart(em, p, a.part, a.items, a.error);
        return true;
      });
      return { promotionId: a.promotionId, part: a.part, merged };
    },
  });
  await consumer.start();
  return consumer;
}
