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
 * Version 2 of `connection.test`: every connection type. `secrets` is the JSON of
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
};

export const connectionTestJobV1 = z.object({
  ...jobBase,
  kind: z.literal('connection.test'),
  payload: connectionTestPayloadV1,
});
export type ConnectionTestJobV1 = z.infer<typeof connectionTestJobV1>;

export const connectionTestJobV2 = z.object({
  ...jobBase,
  v: z.literal(2),
  kind: z.literal('connection.test'),
  payload: connectionTestPayloadV2,
});
export type ConnectionTestJobV2 = z.infer<typeof connectionTestJobV2>;

/** Every job a worker may receive; `kind` and `v` together select the contract. */
export const jobMessage = z.union([connectionTestJobV1, connectionTestJobV2]);
export type JobMessage = z.infer<typeof jobMessage>;
export type JobKind = JobMessage['kind'];

/** Job kinds are `<domain>.<verb>`, so a job subject always has four tokens: jobs.<domain>.<verb>.<workspaceId>. */
export const jobSubject = (kind: JobKind, workspaceId: string) => `jobs.${kind}.${workspaceId}`;
