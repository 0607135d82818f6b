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

/**
 * `workspace.connection.failed.v1` (EVENTS): a connection that was HEALTHY failed its latest test
 * (a periodic re-test or a manual one). Alerting subscribes; the workspace service writes it to
 * its outbox in the same transaction that records the result, once per failing run.
 */
export const CONNECTION_FAILED_V1 = 'workspace.connection.failed.v1';
export const connectionFailedV1 = z.object({
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  connectionId: z.string().uuid(),
  name: z.string().min(1),
  type: z.enum(['POSTGRES', 'MYSQL', 'FILE', 'REST_API']),
  runId: z.string().uuid(),
  error: z.string(),
  failedAt: z.string().datetime(),
});
export type ConnectionFailedV1 = z.infer<typeof connectionFailedV1>;
