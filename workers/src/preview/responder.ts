import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Logger } from '@datalinx/common';
import { PREVIEW_QUEUE, PREVIEW_SUBJECT_PREFIX, previewRequestV1, type PreviewReplyV1 } from '@datalinx/contracts';
import { PreviewEngine } from './preview';

export interface PreviewResponder {
  engine: PreviewEngine;
  stop(): Promise<void>;
}

/**
 * Answers mapping previews (`dlx.preview.<workspaceId>`, queue group `dlx-preview`: one worker
 * answers each request). At most `concurrency` previews run at once per worker; the others wait
 * in order. A malformed request gets an INVALID_REQUEST reply naming the problem.
 */
export function startPreviewResponder(o: {
  nc: NatsConnection;
  log: Logger;
  warehouseAdminUrl: string;
  /** Default `dlx.preview.*` (every workspace). */
  subject?: string;
  concurrency?: number;
}): PreviewResponder {
  const engine = new PreviewEngine(o.warehouseAdminUrl, o.concurrency ?? 4);
  const limit = o.concurrency ?? 4;
  let running = 0;
  const waiting: Array<() => void> = [];
  const inFlight = new Set<Promise<void>>();
  const sub: Subscription = o.nc.subscribe(o.subject ?? `${PREVIEW_SUBJECT_PREFIX}.*`, {
    queue: PREVIEW_QUEUE,
    callback: (err, msg) => {
      if (err) {
        o.log.warn({ err: err.message }, 'preview subscription error');
        return;
      }
      const task = (async () => {
        if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
        running++;
        let reply: PreviewReplyV1;
        try {
          let body: unknown;
          try {
            body = msg.json();
          } catch {
            body = undefined;
          }
          const req = previewRequestV1.safeParse(body);
          if (!req.success) {
            reply = {
              ok: false,
              error: {
                code: 'INVALID_REQUEST',
                message: `preview request refused: ${req.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
              },
            };
          } else if (msg.subject !== `${PREVIEW_SUBJECT_PREFIX}.${req.data.workspaceId}`) {
            reply = { ok: false, error: { code: 'INVALID_REQUEST', message: 'preview request refused: the subject does not name the request’s workspace' } };
          } else {
            reply = await engine.run(req.data);
            o.log.debug(
              { workspaceId: req.data.workspaceId, ok: reply.ok, rows: reply.ok ? reply.rows.length : 0, ms: reply.ok ? Math.round(reply.ms) : undefined },
              'preview answered',
            );
          }
        } catch (e) {
          reply = { ok: false, error: { code: 'PREVIEW_FAILED', message: `The preview failed in the worker: ${(e as Error).message}` } };
        } finally {
          running--;
          waiting.shift()?.();
        }
        msg.respond(JSON.stringify(reply));
      })();
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    },
  });
  return {
    engine,
    stop: async () => {
      await sub.drain().catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await engine.close();
    },
  };
}
