import { z } from 'zod';
import { platformWarehouseDestination } from './jobs';
import { TARGET_DATA_TYPE_PATTERN } from './target-schema';

/**
 * Mapping preview: the first rows a mapping produces, computed in the workspace's warehouse by a
 * worker that has the platform warehouse (WAREHOUSE_ADMIN_URL), as the workspace role, in a
 * read-only transaction with a statement timeout.
 *
 * Core NATS request/reply (not a stream: a preview is answered now or not at all) on
 * `dlx.preview.<workspaceId>`, served by the workers in queue group `dlx-preview`.
 *
 * Every SQL fragment of the request was emitted by the mapping compiler from PostgreSQL parse
 * trees (never a user's text); the worker still checks that the assembled statement is one SELECT.
 */
export const PREVIEW_SUBJECT_PREFIX = 'dlx.preview';
export const PREVIEW_QUEUE = 'dlx-preview';
export const previewSubject = (workspaceId: string) => `${PREVIEW_SUBJECT_PREFIX}.${workspaceId}`;

/** Rows a preview returns by default, and at most. */
export const PREVIEW_DEFAULT_LIMIT = 50;
export const PREVIEW_MAX_LIMIT = 1000;

const fragment = z
  .string()
  .min(1)
  .max(1_000_000)
  .refine((s) => !s.includes('\0'), 'a SQL fragment contains a NUL character');

export const previewRequestV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    /** The workspace's platform warehouse schema and role: the statement runs with that role's rights only. */
    destination: platformWarehouseDestination,
    /** `WITH …` clause of the mapping's CTEs, without the keyword (null when none). */
    with: fragment.nullable(),
    /** The FROM clause (sources and joins) without the keyword. */
    from: fragment,
    /** The target columns in order, each with its compiled expression (already cast to the column's type). */
    fields: z
      .array(
        z
          .object({
            column: z.string().min(1).max(63),
            sql: fragment,
            /** The target column's type: a field that fails shows as `NULL::<type>`, so the column keeps its type. */
            type: z.string().regex(TARGET_DATA_TYPE_PATTERN, 'a target data type').optional(),
          })
          .strict(),
      )
      .min(1)
      .max(2000),
    limit: z.number().int().min(1).max(PREVIEW_MAX_LIMIT),
    statementTimeoutMs: z.number().int().min(100).max(60_000),
  })
  .strict();
export type PreviewRequestV1 = z.infer<typeof previewRequestV1>;

/** A field that failed on some row: its value is null in every row, and `row` is the first row (0-based) it failed on. */
export const previewFieldError = z.object({
  column: z.string(),
  /** PostgreSQL's SQLSTATE (e.g. 22P02 invalid text representation). */
  code: z.string(),
  message: z.string(),
  row: z.number().int().min(0).nullable(),
});
export type PreviewFieldError = z.infer<typeof previewFieldError>;

export const previewReplyV1 = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    columns: z.array(z.object({ name: z.string(), type: z.string() })),
    /** Values as PostgreSQL's text output (null for NULL), in `columns` order. */
    rows: z.array(z.array(z.string().nullable())),
    fieldErrors: z.array(previewFieldError),
    /** Milliseconds the worker spent (connection wait, statements). */
    ms: z.number(),
  }),
  z.object({
    ok: z.literal(false),
    error: z.object({
      /** PREVIEW_TIMEOUT, PERMISSION_DENIED, WAREHOUSE_NOT_READY, INVALID_REQUEST, SOURCE_NOT_LOADED, PREVIEW_FAILED. */
      code: z.string(),
      message: z.string(),
    }),
  }),
]);
export type PreviewReplyV1 = z.infer<typeof previewReplyV1>;
