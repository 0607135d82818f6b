import { z } from 'zod';

/**
 * Job contracts (stream JOBS, subject `jobs.<kind>.<workspaceId>`). A job message carries all
 * it needs ("passed, not fetched"); secrets inside it are sealed for the data plane.
 * Every contract has a version; a consumer terms (drops) a message whose version it doesn't know.
 */
export const sealedSecret = z.object({
  alg: z.literal('A256GCM'),
  iv: z.string().min(1),
  tag: z.string().min(1),
  data: z.string().min(1),
});
export type SealedSecret = z.infer<typeof sealedSecret>;

export const connectionTestPayloadV1 = z.object({
  connectionId: z.string().uuid(),
  type: z.literal('POSTGRES'),
  /** Connection string with the password, sealed with the data-plane key. */
  connectionString: sealedSecret,
  timeoutMs: z.number().int().min(100).max(120000).default(10000),
});
export type ConnectionTestPayloadV1 = z.infer<typeof connectionTestPayloadV1>;

const jobBase = {
  v: z.literal(1),
  jobId: z.string().uuid(),
  runId: z.string().uuid(),
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  requestedAt: z.string().datetime(),
  requestedBy: z.string().min(1),
};

export const connectionTestJobV1 = z.object({
  ...jobBase,
  kind: z.literal('connection.test'),
  payload: connectionTestPayloadV1,
});
export type ConnectionTestJobV1 = z.infer<typeof connectionTestJobV1>;

export const jobMessage = z.discriminatedUnion('kind', [connectionTestJobV1]);
export type JobMessage = z.infer<typeof jobMessage>;
export type JobKind = JobMessage['kind'];

/** Job kinds are `<domain>.<verb>`, so a job subject always has four tokens: jobs.<domain>.<verb>.<workspaceId>. */
export const jobSubject = (kind: JobKind, workspaceId: string) => `jobs.${kind}.${workspaceId}`;
