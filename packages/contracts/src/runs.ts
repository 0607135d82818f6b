import { z } from 'zod';

/**
 * Run events (stream RUNS, subject `runs.<workspaceId>.<runId>`). Run states follow Dagster's.
 * Each event has its own id (JetStream dedup + idempotent consumption in monitoring) and a
 * per-run sequence so a consumer can order and ignore stale events.
 */
export const runState = z.enum(['QUEUED', 'STARTING', 'STARTED', 'SUCCESS', 'FAILURE', 'CANCELING', 'CANCELED']);
export type RunState = z.infer<typeof runState>;
export const TERMINAL_RUN_STATES: readonly RunState[] = ['SUCCESS', 'FAILURE', 'CANCELED'];

export const stepStatus = z.enum(['SUCCESS', 'FAILURE', 'SKIPPED']);

const runEventBase = {
  v: z.literal(1),
  eventId: z.string().min(1),
  runId: z.string().uuid(),
  jobId: z.string().uuid(),
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  kind: z.string().min(1),
  /** Which subject the run is about, e.g. the connection id of a connection.test. */
  subjectId: z.string().min(1),
  at: z.string().datetime(),
};

export const runStateChangedV1 = z.object({
  ...runEventBase,
  type: z.literal('run.state'),
  state: runState,
  attempt: z.number().int().min(1),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  summary: z.string().optional(),
  /** A run executed by Dagster (pipeline.run): the Dagster run's id and its page in the Dagster UI. */
  dagster: z
    .object({ runId: z.string().min(1).max(100), url: z.string().url() })
    .strict()
    .optional(),
});

export const runStepV1 = z.object({
  ...runEventBase,
  type: z.literal('run.step'),
  seq: z.number().int().min(0),
  step: z.string().min(1),
  status: stepStatus,
  message: z.string(),
  durationMs: z.number().min(0),
  attempt: z.number().int().min(1),
});

/**
 * Progress of a data-moving step (e.g. one table of a source.sync): cumulative rows and bytes so
 * far, and the percent done when the total is known. Informational: a consumer that does not
 * record progress may ignore it (the last one of a step wins).
 */
export const runProgressV1 = z.object({
  ...runEventBase,
  type: z.literal('run.progress'),
  step: z.string().min(1),
  rows: z.number().int().min(0),
  bytes: z.number().int().min(0),
  totalRows: z.number().int().min(0).optional(),
  percent: z.number().min(0).max(100).optional(),
  attempt: z.number().int().min(1),
});

export const runEvent = z.discriminatedUnion('type', [runStateChangedV1, runStepV1, runProgressV1]);
export type RunEvent = z.infer<typeof runEvent>;
export type RunStateChangedV1 = z.infer<typeof runStateChangedV1>;
export type RunStepV1 = z.infer<typeof runStepV1>;
export type RunProgressV1 = z.infer<typeof runProgressV1>;

export const runSubject = (workspaceId: string, runId: string) => `runs.${workspaceId}.${runId}` as const;

/**
 * Cancel a run that Dagster executes (pipeline.run): core NATS request/reply on
 * `dlx.run.cancel.<workspaceId>`, answered by one worker with Dagster (queue group
 * `dlx-run-cancel`), which terminates the run's Dagster run. The run then goes CANCELING →
 * CANCELED on RUNS as the worker following it sees Dagster's events.
 */
export const RUN_CANCEL_SUBJECT_PREFIX = 'dlx.run.cancel';
export const RUN_CANCEL_QUEUE = 'dlx-run-cancel';
export const runCancelSubject = (workspaceId: string) => `${RUN_CANCEL_SUBJECT_PREFIX}.${workspaceId}` as const;
export const runCancelRequestV1 = z.object({ v: z.literal(1), workspaceId: z.string().uuid(), runId: z.string().uuid() }).strict();
export type RunCancelRequestV1 = z.infer<typeof runCancelRequestV1>;
export const runCancelReplyV1 = z.union([
  z.object({ ok: z.literal(true), dagsterRunId: z.string(), state: z.enum(['CANCELING', 'CANCELED']) }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: z.enum(['INVALID_REQUEST', 'RUN_NOT_FOUND', 'RUN_FINISHED', 'DAGSTER_UNAVAILABLE']), message: z.string() }),
  }),
]);
export type RunCancelReplyV1 = z.infer<typeof runCancelReplyV1>;
