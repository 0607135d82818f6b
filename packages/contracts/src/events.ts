import { z } from 'zod';
import { discoveryScope } from './jobs';

/** Domain events (stream EVENTS, subject `<domain>.<entity>.<event>.v<N>`), written via the outbox. */
export const domainEventEnvelope = z.object({
  id: z.string().uuid(),
  subject: z.string().regex(/^[a-z]+\.[a-z_]+\.[a-z_]+\.v\d+$|^audit\.[0-9a-f-]+$/),
  orgId: z.string().uuid().nullable(),
  occurredAt: z.string().datetime(),
  data: z.record(z.unknown()),
});
export type DomainEventEnvelope = z.infer<typeof domainEventEnvelope>;

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

/**
 * Source discovery results (EVENTS, published by the worker running `source.discover`; the
 * worker has no outbox, so it publishes with msgID `<runId>:<table>` and `<runId>:done`).
 * The schema service stages the tables per run and, on `completed`, builds the connection's next
 * snapshot. A table is named by `schema` (PostgreSQL schema, MySQL database) and `name`; the
 * schema service keys it by `schema.name`.
 */
export const SOURCE_TABLE_DISCOVERED_V1 = 'schema.source_table.discovered.v1';
export const DISCOVERY_COMPLETED_V1 = 'schema.discovery.completed.v1';
const short = z.string().max(2000);
export const columnProfile = z.object({
  /** Rows in the sample the profile was computed from. */
  sampled: z.number().int().min(0),
  nullCount: z.number().int().min(0),
  /** Distinct non-null values in the sample. */
  distinctEstimate: z.number().int().min(0),
  min: short.nullable(),
  max: short.nullable(),
  topValues: z.array(z.object({ value: short, count: z.number().int().min(1) })).max(5),
  /** The canonical type most non-null sample values match (null when none does), and that share (0..1). */
  canonicalType: z.string().nullable(),
  canonicalShare: z.number().min(0).max(1),
});
export type ColumnProfile = z.infer<typeof columnProfile>;
export const discoveredColumn = z.object({
  name: z.string().min(1).max(255),
  type: z.string().min(1).max(255),
  nullable: z.boolean(),
  ordinal: z.number().int().min(1),
  profile: columnProfile.nullable(),
});
export type DiscoveredColumn = z.infer<typeof discoveredColumn>;
export const discoveredForeignKey = z.object({
  name: z.string().max(255),
  columns: z.array(z.string()).min(1),
  referencedTable: z.string().min(1),
  referencedColumns: z.array(z.string()).min(1),
});
export type DiscoveredForeignKey = z.infer<typeof discoveredForeignKey>;
/**
 * How a discovered table's `rowEstimate` was obtained:
 * - STATISTICS: the source's own statistics (PostgreSQL `reltuples` from the last ANALYZE or
 *   VACUUM, MySQL `information_schema.TABLES.TABLE_ROWS`): an estimate, possibly stale.
 * - EXACT_COUNT: `count(*)` run by discovery, because the table is small enough to count cheaply
 *   (its size on disk is within the job's `exactCountMaxBytes`) and the statistics were missing.
 * - FILE_READ: every row of a file counted while it was read.
 * - UNKNOWN: no number (`rowEstimate` null); `rowEstimateNote` says why.
 */
export const ROW_ESTIMATE_SOURCES = ['STATISTICS', 'EXACT_COUNT', 'FILE_READ', 'UNKNOWN'] as const;
export const rowEstimateSource = z.enum(ROW_ESTIMATE_SOURCES);
export type RowEstimateSource = z.infer<typeof rowEstimateSource>;
export const discoveredTable = z.object({
  schema: z.string().min(1).max(255),
  name: z.string().min(1).max(511),
  kind: z.enum(['TABLE', 'VIEW']),
  rowEstimate: z.number().int().nullable(),
  /** Absent in events of workers that predate it: then STATISTICS when there is a number, else UNKNOWN. */
  rowEstimateSource: rowEstimateSource.optional(),
  /** A sentence on how the number was obtained, or why there is none (e.g. "never analyzed and 1.2 GB on disk: too big to count"). */
  rowEstimateNote: z.string().max(500).nullable().optional(),
  columns: z.array(discoveredColumn).max(5000),
  primaryKey: z.array(z.string()),
  foreignKeys: z.array(discoveredForeignKey),
});
export type DiscoveredTable = z.infer<typeof discoveredTable>;
export const sourceTableDiscoveredV1 = z.object({
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  connectionId: z.string().uuid(),
  runId: z.string().uuid(),
  table: discoveredTable,
});
export type SourceTableDiscoveredV1 = z.infer<typeof sourceTableDiscoveredV1>;
export const discoveryCompletedV1 = z.object({
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  connectionId: z.string().uuid(),
  runId: z.string().uuid(),
  /** How many `source_table.discovered` events this run published (the snapshot waits for all). */
  tableCount: z.number().int().min(0),
  completedAt: z.string().datetime(),
  /**
   * The run's scope (absent or empty: the whole source). The snapshot refreshes the tables in
   * scope and carries every other table of the previous snapshot over unchanged, so a scoped
   * discovery never reports the tables it did not look at as removed.
   */
  scope: discoveryScope.optional(),
});
export type DiscoveryCompletedV1 = z.infer<typeof discoveryCompletedV1>;

/**
 * `schema.canonical_type.created.v1` (EVENTS): an organization's custom canonical type was
 * created. The schema service writes it to its outbox in the transaction that inserts the type;
 * services that must resolve custom types without reading the schema service's tables (the
 * workspace service, for `canonicalizeColumn`) keep a replica from it. Custom types cannot be
 * changed or deleted yet; when they can, `updated` / `deleted` events join this one.
 *
 * "Passed, not fetched": the event carries what a consumer needs to apply the type without
 * walking the chain of parents itself — `baseType`, the built-in at the root of the chain (a
 * custom type may refine another custom type), and `patterns`, every pattern a value must match
 * from the root down to this type's own (empty when no type of the chain narrows its built-in).
 */
export const CANONICAL_TYPE_CREATED_V1 = 'schema.canonical_type.created.v1';
const canonicalTypeName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/);
export const canonicalTypeCreatedV1 = z.object({
  orgId: z.string().uuid(),
  typeId: z.string().uuid(),
  name: canonicalTypeName,
  label: z.string().min(1).max(100),
  /** The direct parent's name: a built-in, or another custom type of the same org. */
  parent: canonicalTypeName,
  /** The built-in whose validator and SQL normalizer the type uses. */
  baseType: canonicalTypeName,
  /** This type's own anchored pattern (null: it only renames its parent). */
  pattern: z.string().min(1).max(1000).nullable(),
  /** Every pattern of the chain, root first, this type's own last. */
  patterns: z.array(z.string().min(1).max(1000)).max(16),
  createdAt: z.string().datetime(),
});
export type CanonicalTypeCreatedV1 = z.infer<typeof canonicalTypeCreatedV1>;

/**
 * `schema.source_snapshot.created.v1` (EVENTS): the schema service built a connection's next
 * source snapshot (from a discovery run). Written to the schema service's outbox in the
 * transaction that inserts the snapshot, so a snapshot never exists without its event. Services
 * that check requests against what discovery found without reading the schema service's tables
 * (the workspace service, for `syncConnection`) keep a replica of each connection's latest
 * snapshot from it.
 *
 * A snapshot can be large (thousands of tables): it is published in `parts` events (numbered
 * `part` 1..parts, each carrying a slice of the tables and the same snapshot fields), each well
 * under the NATS message limit; a consumer applies a version once it holds all of its parts.
 * Columns carry names, types and nullability only (profiles stay in the schema service).
 */
export const SOURCE_SNAPSHOT_CREATED_V1 = 'schema.source_snapshot.created.v1';
export const snapshotTableRef = z.object({
  schema: z.string().min(1).max(255),
  name: z.string().min(1).max(511),
  kind: z.enum(['TABLE', 'VIEW']),
  columns: z.array(z.object({ name: z.string().min(1).max(255), type: z.string().min(1).max(255), nullable: z.boolean() })).max(5000),
  primaryKey: z.array(z.string()),
});
export type SnapshotTableRef = z.infer<typeof snapshotTableRef>;
export const sourceSnapshotCreatedV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    connectionId: z.string().uuid(),
    snapshotId: z.string().uuid(),
    /** 1 for the connection's first snapshot, then +1 per snapshot. */
    version: z.number().int().min(1),
    /** The discovery run. */
    runId: z.string().uuid(),
    /** The snapshot's table count (every part). */
    tableCount: z.number().int().min(0),
    part: z.number().int().min(1),
    parts: z.number().int().min(1),
    tables: z.array(snapshotTableRef),
    createdAt: z.string().datetime(),
  })
  .refine((e) => e.part <= e.parts, { message: 'part is at most parts', path: ['part'] });
export type SourceSnapshotCreatedV1 = z.infer<typeof sourceSnapshotCreatedV1>;

/** The parts of a snapshot's event: slices of its tables of at most ~`maxBytes` of JSON (a table is never split). */
export function sourceSnapshotCreatedParts(
  base: Omit<SourceSnapshotCreatedV1, 'part' | 'parts' | 'tables' | 'tableCount'>,
  tables: SnapshotTableRef[],
  maxBytes = 256 * 1024,
): SourceSnapshotCreatedV1[] {
  const slices: SnapshotTableRef[][] = [[]];
  let size = 0;
  for (const t of tables) {
    const bytes = new TextEncoder().encode(JSON.stringify(t)).length;
    if (slices[slices.length - 1]!.length && size + bytes > maxBytes) {
      slices.push([]);
      size = 0;
    }
    slices[slices.length - 1]!.push(t);
    size += bytes;
  }
  return slices.map((slice, i) => ({ ...base, tableCount: tables.length, part: i + 1, parts: slices.length, tables: slice }));
}
