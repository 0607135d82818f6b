import { z } from 'zod';

/** Domain events (stream EVENTS, subject `<domain>.<entity>.<event>.v<N>`), written via the outbox. */
export const domainEventEnvelope = z.object({
  id: z.string().uuid(),
  subject: z.string().regex(/^[a-z]+\.[a-z_]+\.[a-z_]+\.v\d+$|^audit\.[0-9a-f-]+$/),
  orgId: z.string().uuid().nullable(),
  occurredAt: z.string().datetime(),
  data: z.record(z.unknown()),
});
export type DomainEventEnvelope = z.infer<typeof domainEventEnvelope>;

export const connectionTestRequestedV1 = z.object({
  connectionId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  runId: z.string().uuid(),
});
