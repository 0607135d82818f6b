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

/** `workspace.workspace.created.v1` (EVENTS): published by the workspace service's outbox. */
export const WORKSPACE_CREATED_V1 = 'workspace.workspace.created.v1';
export const workspaceCreatedV1 = z.object({
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  slug: z.string().min(1),
  environment: z.string().min(1),
});
export type WorkspaceCreatedV1 = z.infer<typeof workspaceCreatedV1>;
