import { z } from 'zod';
import { jobLimits } from './quotas';

/**
 * Job contracts (stream JOBS, subject `jobs.<kind>.<workspaceId>`). A job message carries all
 * it needs ("passed, not fetched"); secrets inside it are sealed for the data plane.
 * Every contract has a version (`v`); `kind` and `v` together select it. A consumer refuses a
 * message that matches no contract: it terms the message and reports the run FAILED
 * (INVALID_MESSAGE), reading only the envelope (`jobHeader`).
 */
export const sealedSecret = z.object({
  alg: z.literal('A256GCM'),
  iv: z.string().min(1),
  tag: z.string().min(1),
  data: z.string().min(1),
});
export type SealedSecret = z.infer<typeof sealedSecret>;

/**
 * Connection configuration by type (what the workspace service stores in clear and validates;
 * secrets are kept apart, see `connectionSecrets`). Host names and ports as the data plane will
 * dial them.
 */
const host = z.string().trim().min(1).max(255);
const port = z.number().int().min(1).max(65535);
const identifier = z.string().trim().min(1).max(128);
export const postgresConnectionConfig = z.object({
  type: z.literal('POSTGRES'),
  host,
  port: port.default(5432),
  database: identifier,
  user: identifier,
  /** `disable` | `prefer` (TLS when the server offers it) | `require` | `verify-full` (TLS with a verified certificate). */
  sslMode: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('prefer'),
  /** Limits discovery to one schema (default: every schema the user can read). */
  schema: identifier.optional(),
});
export const mysqlConnectionConfig = z.object({
  type: z.literal('MYSQL'),
  host,
  port: port.default(3306),
  database: identifier,
  user: identifier,
  ssl: z.boolean().default(false),
});
export const fileFormat = z.enum(['CSV', 'JSON', 'JSONL']);
export const fileConnectionConfig = z.object({
  type: z.literal('FILE'),
  /** The uploaded file in file storage (`storedFilePath`). */
  fileId: z.string().uuid(),
  fileName: z.string().min(1).max(255),
  format: fileFormat,
  sizeBytes: z.number().int().min(0),
  /** CSV only: the delimiter when known (otherwise detected). */
  delimiter: z.string().length(1).optional(),
  /** Text encoding when known (otherwise detected): utf-8, latin1, utf-16le. */
  encoding: z.enum(['utf-8', 'latin1', 'utf-16le']).optional(),
});
export const restApiConnectionConfig = z.object({
  type: z.literal('REST_API'),
  baseUrl: z.string().url().max(2000),
  /** How requests authenticate; the credential itself is a secret (`token`, `apiKey` or `password`). */
  auth: z.enum(['NONE', 'BEARER', 'API_KEY', 'BASIC']),
  /** API_KEY: the header carrying the key (default X-API-Key). */
  apiKeyHeader: z.string().min(1).max(100).optional(),
  /** BASIC: the user name. */
  username: z.string().min(1).max(200).optional(),
  /** The OpenAPI document: a URL, or an uploaded file (`fileId`). */
  openApiUrl: z.string().url().max(2000).optional(),
  openApiFileId: z.string().uuid().optional(),
});
export const connectionConfig = z.discriminatedUnion('type', [postgresConnectionConfig, mysqlConnectionConfig, fileConnectionConfig, restApiConnectionConfig]);
export type ConnectionConfig = z.infer<typeof connectionConfig>;
export type ConnectionType = ConnectionConfig['type'];

/** A connection's secrets, sealed together as one JSON document (never stored or sent in clear). */
export const connectionSecrets = z
  .object({
    password: z.string().min(1).max(1000).optional(),
    token: z.string().min(1).max(8000).optional(),
    apiKey: z.string().min(1).max(8000).optional(),
  })
  .strict();
export type ConnectionSecrets = z.infer<typeof connectionSecrets>;

/**
 * `connection.test` (version 2): every connection type. `secrets` is the JSON of
 * `connectionSecrets`, sealed for the data plane with the job id as additional data (null when
 * the connection has none).
 */
export const connectionTestPayloadV2 = z.object({
  connectionId: z.string().uuid(),
  config: connectionConfig,
  secrets: sealedSecret.nullable(),
  timeoutMs: z.number().int().min(100).max(120000).default(10000),
});
export type ConnectionTestPayloadV2 = z.infer<typeof connectionTestPayloadV2>;

/**
 * Where an uploaded file lives in file storage (DLX_FILE_STORAGE_DIR, shared by the workspace
 * service, which writes it, and the workers, which read it): one directory per workspace.
 */
export const storedFilePath = (root: string, workspaceId: string, fileId: string) => `${root.replace(/\/+$/, '')}/${workspaceId}/${fileId}`;

const jobBase = {
  v: z.literal(1),
  jobId: z.string().uuid(),
  runId: z.string().uuid(),
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  requestedAt: z.string().datetime(),
  requestedBy: z.string().min(1),
  /** Quotas the data plane enforces for this run (rows per run), handed over at dispatch. */
  limits: jobLimits.optional(),
};

export const connectionTestJobV2 = z.object({
  ...jobBase,
  v: z.literal(2),
  kind: z.literal('connection.test'),
  payload: connectionTestPayloadV2,
});
export type ConnectionTestJobV2 = z.infer<typeof connectionTestJobV2>;

/** The generated warehouse names (see the warehouse jobs below). */
export const warehouseSchemaName = z.string().regex(/^ws_[0-9a-f]{12}$/, 'a warehouse schema is ws_ and 12 hex digits');
export const warehouseRoleName = z.string().regex(/^dlx_ws_[0-9a-f]{12}$/, 'a warehouse role is dlx_ws_ and 12 hex digits');

/**
 * Where a data-plane job writes (`source.sync`, the load of `pipeline.run`, `column.canonicalize`):
 *
 * - PLATFORM `{ schema, role }`: the workspace's generated schema and login role in the platform's
 *   warehouse database; the worker connects with WAREHOUSE_ADMIN_URL and `SET ROLE`s to the role.
 * - EXTERNAL `{ schema, external: { connectionId, config, secrets } }`: the workspace's DESTINATION
 *   PostgreSQL connection (`useExternalWarehouse`). The worker connects with the connection's own
 *   user, password and TLS settings (no SET ROLE: the role is the customer's), creates the schema
 *   if it is missing, and applies no platform storage quota (the database is the customer's).
 *   `secrets` is the JSON of `connectionSecrets`, sealed for the data plane with the job's AAD
 *   (`job:<jobId>`; a pipeline run: `pipelineSecretAad(jobId, connectionId)` of the destination
 *   connection), null when the connection has none. `schema` is the connection's `schema` when it
 *   names one, else the workspace's generated `ws_<hex>` name.
 */
export const externalWarehouseSchemaName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'an external warehouse schema is a plain identifier: a letter or _, then letters, digits or _, at most 63 characters')
  .refine((s) => !/^pg_/i.test(s) && s.toLowerCase() !== 'information_schema', 'pg_* and information_schema are PostgreSQL system schemas');
export const platformWarehouseDestination = z.object({ schema: warehouseSchemaName, role: warehouseRoleName }).strict();
export type PlatformWarehouseDestination = z.infer<typeof platformWarehouseDestination>;
export const externalWarehouseDestination = z
  .object({
    schema: externalWarehouseSchemaName,
    external: z.object({ connectionId: z.string().uuid(), config: postgresConnectionConfig, secrets: sealedSecret.nullable() }).strict(),
  })
  .strict();
export type ExternalWarehouseDestination = z.infer<typeof externalWarehouseDestination>;
export const warehouseDestination = z.union([platformWarehouseDestination, externalWarehouseDestination]);
export type WarehouseDestination = z.infer<typeof warehouseDestination>;
export const isExternalDestination = (d: WarehouseDestination): d is ExternalWarehouseDestination => 'external' in d;

/**
 * What a pipeline runs (PRODUCT.md step 5), as the workspace service stores it and as the
 * `pipeline.run` job carries it (a snapshot: an edit after dispatch does not change a queued run).
 * Ids only: connections belong to the pipeline's workspace, target tables to the schema service,
 * quality rules to monitoring.
 */
const uuid = z.string().uuid();
/**
 * The id of an object another service owns (a target table, a quality rule), stored without a
 * lookup. The API turns a malformed id into the nil UUID (it names nothing), so that one is
 * refused here rather than saved.
 */
const foreignId = uuid.refine((v) => v !== '00000000-0000-0000-0000-000000000000', 'This is not an id of an existing object.');
/** Table names or glob patterns (`*`, `?`) of a source, e.g. `public.orders`, `sales_*`. */
const tableName = z.string().trim().min(1).max(255);
export const pipelineIncrementalTable = z
  .object({
    table: tableName,
    cursorColumn: identifier,
    primaryKey: z.array(identifier).min(1).max(32).optional(),
  })
  .strict();
export type PipelineIncrementalTable = z.infer<typeof pipelineIncrementalTable>;
/** What a run does with malformed records of FILE and REST_API sources (as `source.sync`'s `onMalformed`). */
export const onMalformedPolicy = z.enum(['SKIP_AND_REPORT', 'FAIL']);
export const pipelineSource = z
  .object({
    connectionId: uuid,
    /** Exact tables to load; none (and no patterns) = every table the connection discovers. */
    tables: z.array(tableName).max(1000).optional(),
    patterns: z.array(tableName).max(100).optional(),
    /**
     * Tables (exact `schema.table` names, as discovery lists them) loaded INCREMENTAL: by the
     * cursor column, upserted by the primary key (default: the source table's), checkpointed per
     * batch. Every other selected table is a FULL refresh.
     */
    incremental: z.array(pipelineIncrementalTable).max(1000).optional(),
  })
  .strict();
export const pipelineCheck = z.union([
  /** A quality rule defined in monitoring. */
  z.object({ ruleId: foreignId }).strict(),
  /** A simple column check on one target table (or on every target table naming the column). */
  z.object({ type: z.enum(['NOT_NULL', 'UNIQUE']), column: identifier, targetTableId: foreignId.optional() }).strict(),
]);
export const pipelineExport = z
  .object({
    /** A DESTINATION connection of the same workspace. */
    connectionId: uuid,
    targetTableIds: z.array(foreignId).min(1).max(500),
  })
  .strict();
export const schemaDriftPolicy = z.enum(['PROPAGATE', 'BLOCK', 'IGNORE']);
export const pipelineDefinitionV1 = z
  .object({
    sources: z.array(pipelineSource).min(1).max(50),
    /** Target tables (schema service ids) whose mapped models the run builds. */
    targets: z.array(foreignId).max(500),
    checks: z.array(pipelineCheck).max(500),
    exports: z.array(pipelineExport).max(50),
    schemaDriftPolicy,
    /** Malformed records of FILE / REST_API sources: load the good ones and report the bad (default), or fail the run. */
    onMalformed: onMalformedPolicy.optional(),
  })
  .strict();
export type PipelineDefinitionV1 = z.infer<typeof pipelineDefinitionV1>;

/**
 * `pipeline.run` (version 2): one run of a pipeline, dispatched by the workspace scheduler (trigger
 * SCHEDULE, `scheduledFor` = the cron slot it fires, unique per pipeline) or by `runPipeline`
 * (MANUAL). It carries the definition plus everything its load
 * stage needs, resolved by the control plane at dispatch ("passed, not fetched"): each source
 * connection's name, config and secrets (the JSON of `connectionSecrets`, sealed for the data
 * plane with AAD `job:<jobId>:<connectionId>`, null when none), and the workspace's warehouse
 * destination (`warehouseDestination`: platform schema and role, or the EXTERNAL destination
 * connection). `load.sources` has one entry per connection of `definition.sources`.
 */
export const pipelineLoadSource = z
  .object({
    connectionId: uuid,
    name: z.string().min(1).max(200),
    config: connectionConfig,
    secrets: sealedSecret.nullable(),
  })
  .strict();
export type PipelineLoadSource = z.infer<typeof pipelineLoadSource>;
export const pipelineLoadV1 = z
  .object({
    /** The workspace's warehouse (see `warehouseDestination`; EXTERNAL: secrets sealed with `pipelineSecretAad(jobId, <destination connectionId>)`). */
    destination: warehouseDestination,
    sources: z.array(pipelineLoadSource).min(1).max(50),
    batchRows: z.number().int().min(1).max(1_000_000).default(50_000),
    statementTimeoutMs: z.number().int().min(1000).max(86_400_000).default(3_600_000),
  })
  .strict();
export type PipelineLoadV1 = z.infer<typeof pipelineLoadV1>;
/** The AAD a pipeline run's source secrets are sealed with. */
export const pipelineSecretAad = (jobId: string, connectionId: string) => `job:${jobId}:${connectionId}`;
/**
 * The dbt project a run builds after its loads: `project` is its directory under the data
 * directory's `dbt/` folder (`<workspaceId>/v<version>`, as the mapping service writes projects).
 * Absent: the run builds no models.
 */
export const pipelineDbtV1 = z
  .object({
    project: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/v\d{1,9}$/, 'a dbt project is <workspaceId>/v<version>'),
  })
  .strict();
export type PipelineDbtV1 = z.infer<typeof pipelineDbtV1>;
/**
 * A retry of a failed or canceled run of the same pipeline (`runId`, ours): the run re-executes
 * the first run's Dagster run from its failure (the steps that succeeded are not run again and
 * their outputs are reused; the run config, dbt project included, is the first run's), as a new
 * Dagster run linked to it.
 */
export const pipelineRetryV1 = z.object({ runId: uuid }).strict();
export const pipelineRunPayloadV2 = z.discriminatedUnion('trigger', [
  z.object({
    trigger: z.literal('SCHEDULE'),
    pipelineId: uuid,
    scheduledFor: z.string().datetime(),
    definition: pipelineDefinitionV1,
    load: pipelineLoadV1,
    dbt: pipelineDbtV1.optional(),
    retryOf: pipelineRetryV1.optional(),
  }),
  z.object({
    trigger: z.literal('MANUAL'),
    pipelineId: uuid,
    definition: pipelineDefinitionV1,
    load: pipelineLoadV1,
    dbt: pipelineDbtV1.optional(),
    retryOf: pipelineRetryV1.optional(),
  }),
]);
export type PipelineRunPayloadV2 = z.infer<typeof pipelineRunPayloadV2>;
export const pipelineRunJobV2 = z.object({
  ...jobBase,
  v: z.literal(2),
  kind: z.literal('pipeline.run'),
  payload: pipelineRunPayloadV2,
});
export type PipelineRunJobV2 = z.infer<typeof pipelineRunJobV2>;

/**
 * Warehouse jobs (ARCHITECTURE.md §7 "Warehouse layout"): one schema and one login role per
 * workspace in the platform's warehouse database. Only the generated names are ever sent
 * (`ws_<12 hex>` / `dlx_ws_<12 hex>`), and the worker checks them again before quoting them.
 * `database` is the warehouse database the control plane recorded; the worker refuses a job
 * naming another database than its WAREHOUSE_ADMIN_URL's.
 */
const warehouseTarget = { database: identifier, schema: warehouseSchemaName, role: warehouseRoleName };

/** `warehouse.provision`: create (or repair) the role and schema; `password` sealed for the data plane, AAD `job:<jobId>`. */
export const warehouseProvisionPayloadV1 = z.object({
  ...warehouseTarget,
  password: sealedSecret,
  /** Applied to every session of the role (ALTER ROLE … SET statement_timeout). */
  statementTimeoutMs: z.number().int().min(1000).max(86_400_000).default(300_000),
});
export type WarehouseProvisionPayloadV1 = z.infer<typeof warehouseProvisionPayloadV1>;

export const warehouseProvisionJobV1 = z.object({
  ...jobBase,
  kind: z.literal('warehouse.provision'),
  payload: warehouseProvisionPayloadV1,
});
export type WarehouseProvisionJobV1 = z.infer<typeof warehouseProvisionJobV1>;

/** `warehouse.purge`: drop the workspace's schema (CASCADE) and its role; idempotent. */
export const warehousePurgePayloadV1 = z.object(warehouseTarget);
export type WarehousePurgePayloadV1 = z.infer<typeof warehousePurgePayloadV1>;

export const warehousePurgeJobV1 = z.object({
  ...jobBase,
  kind: z.literal('warehouse.purge'),
  payload: warehousePurgePayloadV1,
});
export type WarehousePurgeJobV1 = z.infer<typeof warehousePurgeJobV1>;

/**
 * `source.discover`: read a source's schemas, tables, columns, keys, row estimates and column
 * profiles (from a bounded sample of each table). POSTGRES and MYSQL from their catalogs; FILE
 * and REST_API through the readers (schema `files` / `api`, a table per reader table). `secrets` is the JSON of
 * `connectionSecrets`, sealed for the data plane with AAD `job:<jobId>` (null when none). The
 * worker publishes the result as `schema.source_table.discovered.v1` events (one per table) and
 * then `schema.discovery.completed.v1` on EVENTS.
 */
/** 64 MiB: counting that much is a fraction of a second to a few seconds on any server. */
export const DEFAULT_EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024;
export const discoveryScope = z
  .object({
    /** Exact table names (`schema.table`, or `table` in the connection's database/default schema). */
    tables: z.array(tableName).max(1000).optional(),
    /** Glob patterns over the same names (`*`, `?`), e.g. `public.order*`. */
    patterns: z.array(tableName).max(100).optional(),
  })
  .strict();
export type DiscoveryScope = z.infer<typeof discoveryScope>;
export const sourceDiscoverPayloadV1 = z.object({
  connectionId: uuid,
  /** Any connection type (FILE and REST_API are read through the readers). */
  config: connectionConfig,
  secrets: sealedSecret.nullable(),
  /** None (or both lists empty) = every table the connection can read. */
  scope: discoveryScope.default({}),
  /** Rows sampled per table for the column profiles. */
  profileSampleRows: z.number().int().min(0).max(1_000_000).default(10_000),
  timeoutMs: z.number().int().min(1000).max(600_000).default(60_000),
  /**
   * A table the source has no statistics for (PostgreSQL: never analyzed) is counted exactly
   * (`count(*)`, within `timeoutMs`) when its size on disk is at most this many bytes; a bigger
   * one's row estimate is UNKNOWN (with the reason). 0 = never count. MySQL: a table whose data is
   * within the bound is always counted (TABLE_ROWS is an InnoDB estimate).
   */
  exactCountMaxBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 ** 4)
    .default(DEFAULT_EXACT_COUNT_MAX_BYTES),
});
export type SourceDiscoverPayloadV1 = z.infer<typeof sourceDiscoverPayloadV1>;
export const sourceDiscoverJobV1 = z.object({
  ...jobBase,
  kind: z.literal('source.discover'),
  payload: sourceDiscoverPayloadV1,
});
export type SourceDiscoverJobV1 = z.infer<typeof sourceDiscoverJobV1>;

/**
 * `source.sync` (subject `jobs.source.sync.<workspaceId>`): copy tables of a source (POSTGRES,
 * MYSQL, FILE or REST_API; for FILE and REST_API a table's `name` is the reader's table name) into
 * the workspace's warehouse schema (ARCHITECTURE.md §7 "Sync"). FULL loads a staging table and
 * swaps it in one transaction; INCREMENTAL upserts by primary key in batches (POSTGRES, MYSQL:
 * ordered by (cursorColumn, primaryKey)) and checkpoints each batch in the same transaction. FILE
 * and REST_API tables have no key of their own: INCREMENTAL needs `primaryKey`; every record is read and those
 * whose cursor is above the last completed run's high-water mark are upserted (one per key, the
 * greatest cursor), a redelivery skipping the records of the (immutable) file already consumed or
 * reading a REST collection again from the start. `secrets` as in
 * connection.test (sealed, AAD `job:<jobId>`). The job's `limits.maxRows` caps the rows loaded.
 */
export const syncTableV1 = z
  .object({
    schema: identifier,
    name: identifier,
    mode: z.enum(['FULL', 'INCREMENTAL']),
    /** Default: the source table's primary key. Required (here or in the source) for INCREMENTAL. */
    primaryKey: z.array(identifier).min(1).max(32).optional(),
    /** INCREMENTAL only: a column that grows when a row changes (updated_at, a sequence). */
    cursorColumn: identifier.optional(),
  })
  .strict()
  .refine((t) => t.mode === 'FULL' || Boolean(t.cursorColumn), { message: 'an INCREMENTAL table needs a cursorColumn', path: ['cursorColumn'] });
export type SyncTableV1 = z.infer<typeof syncTableV1>;
export const sourceSyncPayloadV1 = z.object({
  connectionId: uuid,
  config: connectionConfig,
  secrets: sealedSecret.nullable(),
  tables: z.array(syncTableV1).min(1).max(1000),
  /** FILE and REST_API: load the good records and report the malformed ones on the run, or fail the run (nothing swapped in). */
  onMalformed: onMalformedPolicy.default('SKIP_AND_REPORT'),
  /** The workspace's warehouse: its platform schema and role (as provisioned by warehouse.provision), or its EXTERNAL destination connection (secrets sealed with AAD `job:<jobId>`); see `warehouseDestination`. */
  destination: warehouseDestination,
  driftPolicy: schemaDriftPolicy,
  batchRows: z.number().int().min(1).max(1_000_000).default(50_000),
  /** Every warehouse statement runs with this statement_timeout (a full refresh is one COPY). */
  statementTimeoutMs: z.number().int().min(1000).max(86_400_000).default(3_600_000),
});
export type SourceSyncPayloadV1 = z.infer<typeof sourceSyncPayloadV1>;
export const sourceSyncJobV1 = z.object({
  ...jobBase,
  kind: z.literal('source.sync'),
  payload: sourceSyncPayloadV1,
});
export type SourceSyncJobV1 = z.infer<typeof sourceSyncJobV1>;

/**
 * `column.canonicalize` (subject `jobs.column.canonicalize.<workspaceId>`): normalize one column
 * of a warehouse table to its canonical type's form (packages/contracts/src/canonical), as the
 * workspace role (EXTERNAL warehouse: as the destination connection's user). Values the type's SQL normalizer rejects stay as they are and are written to
 * `<schema>._dlx_quarantine` with the rule that rejected them. `pattern` narrows the type (a
 * custom type: the parent's normalizer plus this pattern, rule `<customName>.pattern`).
 */
export const canonicalizeColumnPayloadV1 = z.object({
  /** The workspace's warehouse (see `warehouseDestination`; EXTERNAL: secrets sealed with AAD `job:<jobId>`). */
  destination: warehouseDestination,
  table: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a plain table name'),
  column: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a plain column name'),
  /** A built-in canonical type name (the parent, for a custom type). */
  type: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
  custom: z
    .object({ name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/), pattern: z.string().min(1).max(2000) })
    .strict()
    .optional(),
  statementTimeoutMs: z.number().int().min(1000).max(86_400_000).default(600_000),
});
export type CanonicalizeColumnPayloadV1 = z.infer<typeof canonicalizeColumnPayloadV1>;
export const canonicalizeColumnJobV1 = z.object({
  ...jobBase,
  kind: z.literal('column.canonicalize'),
  payload: canonicalizeColumnPayloadV1,
});
export type CanonicalizeColumnJobV1 = z.infer<typeof canonicalizeColumnJobV1>;

/** Every job a worker may receive; `kind` and `v` together select the contract. */
export const jobMessage = z.union([
  connectionTestJobV2,
  pipelineRunJobV2,
  warehouseProvisionJobV1,
  warehousePurgeJobV1,
  sourceDiscoverJobV1,
  sourceSyncJobV1,
  canonicalizeColumnJobV1,
]);
export type JobMessage = z.infer<typeof jobMessage>;
export type JobKind = JobMessage['kind'];

/**
 * The envelope every job shares, whatever its kind and version: what a worker reads of a message
 * that matches no contract (an unknown kind or version) to report its run FAILED. The subject id
 * is the payload's `connectionId` or `pipelineId` when it has one.
 */
export const jobHeader = z.object({
  v: z.number().int(),
  kind: z.string().min(1),
  jobId: z.string().uuid(),
  runId: z.string().uuid(),
  orgId: z.string().uuid(),
  workspaceId: z.string().uuid(),
  payload: z
    .object({ connectionId: z.string().min(1).optional(), pipelineId: z.string().min(1).optional() })
    .passthrough()
    .optional(),
});
export type JobHeader = z.infer<typeof jobHeader>;

/** Job kinds are `<domain>.<verb>`, so a job subject always has four tokens: jobs.<domain>.<verb>.<workspaceId>. */
export const jobSubject = (kind: JobKind, workspaceId: string) => `jobs.${kind}.${workspaceId}` as const;
