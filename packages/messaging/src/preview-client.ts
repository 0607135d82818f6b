import { errors, type NatsConnection } from '@nats-io/nats-core';
import { previewReplyV1, previewRequestV1, previewSubject, type PreviewReplyV1, type PreviewRequestV1 } from '@datalinx/contracts';

/**
 * Asks a worker for a mapping preview (core NATS request/reply; see `previewRequestV1`). Always
 * returns a reply: no worker, a late worker or an unreadable answer become `ok: false` with a
 * code and what to do.
 */
export async function requestPreview(nc: NatsConnection, request: PreviewRequestV1, waitMs = request.statementTimeoutMs + 5_000): Promise<PreviewReplyV1> {
  const req = previewRequestV1.parse(request);
  try {
    const msg = await nc.request(previewSubject(req.workspaceId), JSON.stringify(req), { timeout: waitMs });
    const reply = previewReplyV1.safeParse(msg.json());
    return reply.success ? reply.data : { ok: false, error: { code: 'PREVIEW_FAILED', message: 'The worker answered the preview with an unreadable reply.' } };
  } catch (err) {
    if (err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders())) {
      return {
        ok: false,
        error: {
          code: 'PREVIEW_UNAVAILABLE',
          message:
            'No worker with the platform warehouse is running, so nothing can compute the preview. Start the workers (npm start runs them) with WAREHOUSE_ADMIN_URL set.',
        },
      };
    }
    if (err instanceof errors.TimeoutError) {
      return {
        ok: false,
        error: { code: 'PREVIEW_TIMEOUT', message: `No preview came back within ${waitMs} ms. The workers may be busy: try again, or preview fewer rows.` },
      };
    }
    throw err;
  }
}
