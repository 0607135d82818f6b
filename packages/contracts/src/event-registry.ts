import { z } from 'zod';
import { auditEventV1 } from './audit';
import {
  CANONICAL_TYPE_CREATED_V1,
  CONNECTION_FAILED_V1,
  DISCOVERY_COMPLETED_V1,
  SOURCE_SNAPSHOT_CREATED_V1,
  SOURCE_TABLE_DISCOVERED_V1,
  WORKSPACE_CREATED_V1,
  canonicalTypeCreatedV1,
  connectionFailedV1,
  discoveryCompletedV1,
  sourceSnapshotCreatedV1,
  sourceTableDiscoveredV1,
  workspaceCreatedV1,
} from './events';
import { jobMessage } from './jobs';
import { PROMOTION_REQUESTED_V1, promotionPartCompletedV1, promotionRequestedV1 } from './promotion';
import { runEvent } from './runs';
import { TARGET_SCHEMA_CHANGED_V1, targetSchemaChangedV1 } from './target-schema';

/**
 * `workspace.connection.{created,updated,secret_rotated,deleted}.v1` (EVENTS): a connection's
 * lifecycle, written by the workspace service's outbox in the transaction of the change. `type`
 * is set on created and updated.
 */
export const CONNECTION_CREATED_V1 = 'workspace.connection.created.v1';
export const CONNECTION_UPDATED_V1 = 'workspace.connection.updated.v1';
export const CONNECTION_SECRET_ROTATED_V1 = 'workspace.connection.secret_rotated.v1';
export const CONNECTION_DELETED_V1 = 'workspace.connection.deleted.v1';
export const connectionChangedV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    connectionId: z.string().uuid(),
    type: z.enum(['POSTGRES', 'MYSQL', 'FILE', 'REST_API']).optional(),
  })
  .strict();
export type ConnectionChangedV1 = z.infer<typeof connectionChangedV1>;

/** `mapping.mapping.created.v1` (EVENTS): a mapping was created, written in the transaction that inserts it. */
export const MAPPING_CREATED_V1 = 'mapping.mapping.created.v1';
export const mappingCreatedV1 = z
  .object({
    orgId: z.string().uuid(),
    mappingId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    name: z.string().min(1),
    targetTable: z.string().min(1),
    /** The TargetTable it fills (null: recorded by a table name no target schema version named yet). */
    targetTableId: z.string().uuid().nullable(),
    version: z.number().int().min(1),
    actor: z.object({ kind: z.enum(['user', 'service-account']), id: z.string().uuid() }),
  })
  .strict();
export type MappingCreatedV1 = z.infer<typeof mappingCreatedV1>;

/**
 * `mapping.mapping.drift_detected.v1` (EVENTS): a new source snapshot removed or retyped source
 * columns a mapping uses; `fields` are the target columns now in ERROR, with the reason shown on
 * each. Once per (mapping, snapshot), through the mapping service's outbox.
 */
export const MAPPING_DRIFT_DETECTED_V1 = 'mapping.mapping.drift_detected.v1';
export const mappingDriftDetectedV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    mappingId: z.string().uuid(),
    snapshotId: z.string().uuid(),
    fields: z.array(z.object({ column: z.string().min(1), reason: z.string().min(1) }).strict()).min(1),
  })
  .strict();
export type MappingDriftDetectedV1 = z.infer<typeof mappingDriftDetectedV1>;

/**
 * `mapping.dbt_project.published.v1`: a new version of a workspace's dbt project (every mapping
 * compiled) was written to file storage under `dbt/<project>` (`<workspaceId>/v<version>`); a
 * pipeline run builds the latest. Written only when the project's digest changed.
 */
export const DBT_PROJECT_PUBLISHED_V1 = 'mapping.dbt_project.published.v1';
export const dbtProjectPublishedV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    version: z.number().int().min(1),
    /** `<workspaceId>/v<version>`: the project's directory under the data directory's `dbt/` folder. */
    project: z.string().regex(/^[0-9a-f-]{36}\/v\d{1,9}$/),
    digest: z.string().regex(/^[0-9a-f]{64}$/),
    /** The target tables that are models. */
    models: z.array(z.string()).max(10_000),
  })
  .strict();
export type DbtProjectPublishedV1 = z.infer<typeof dbtProjectPublishedV1>;

/**
 * Every subject a service writes to its outbox (or the worker publishes on EVENTS), with the zod
 * contract of its body and its version. A `*` stands for one token (an id; a job kind is two). `enqueueOutbox` takes
 * only a subject of this registry and parses the body against it before anything is written.
 */
export const EVENT_CONTRACTS = {
  [WORKSPACE_CREATED_V1]: { version: 1, schema: workspaceCreatedV1 },
  [CONNECTION_CREATED_V1]: { version: 1, schema: connectionChangedV1 },
  [CONNECTION_UPDATED_V1]: { version: 1, schema: connectionChangedV1 },
  [CONNECTION_SECRET_ROTATED_V1]: { version: 1, schema: connectionChangedV1 },
  [CONNECTION_DELETED_V1]: { version: 1, schema: connectionChangedV1 },
  [CONNECTION_FAILED_V1]: { version: 1, schema: connectionFailedV1 },
  [PROMOTION_REQUESTED_V1]: { version: 1, schema: promotionRequestedV1 },
  'mapping.promotion.completed.v1': { version: 1, schema: promotionPartCompletedV1 },
  'schema.promotion.completed.v1': { version: 1, schema: promotionPartCompletedV1 },
  [MAPPING_CREATED_V1]: { version: 1, schema: mappingCreatedV1 },
  [MAPPING_DRIFT_DETECTED_V1]: { version: 1, schema: mappingDriftDetectedV1 },
  [DBT_PROJECT_PUBLISHED_V1]: { version: 1, schema: dbtProjectPublishedV1 },
  [CANONICAL_TYPE_CREATED_V1]: { version: 1, schema: canonicalTypeCreatedV1 },
  [SOURCE_SNAPSHOT_CREATED_V1]: { version: 1, schema: sourceSnapshotCreatedV1 },
  [TARGET_SCHEMA_CHANGED_V1]: { version: 1, schema: targetSchemaChangedV1 },
  [SOURCE_TABLE_DISCOVERED_V1]: { version: 1, schema: sourceTableDiscoveredV1 },
  [DISCOVERY_COMPLETED_V1]: { version: 1, schema: discoveryCompletedV1 },
  'audit.*': { version: 1, schema: auditEventV1 },
  'runs.*.*': { version: 1, schema: runEvent },
  'jobs.*.*.*': { version: 1, schema: jobMessage },
} as const satisfies Record<string, { version: number; schema: z.ZodTypeAny }>;

export type EventContractKey = keyof typeof EVENT_CONTRACTS;

type Concrete<K extends string> = K extends `${infer H}.*${infer T}` ? `${H}.${string}${Concrete<T>}` : K;
/** A subject the registry knows, patterns expanded to template literal types. */
export type RegisteredSubject = { [K in EventContractKey]: Concrete<K> }[EventContractKey];
/** The body a subject takes. */
export type EventBodyOf<S extends string> = {
  [K in EventContractKey]: S extends Concrete<K> ? z.input<(typeof EVENT_CONTRACTS)[K]['schema']> : never;
}[EventContractKey];

const patterns = Object.entries(EVENT_CONTRACTS).map(([key, contract]) => ({
  key,
  contract,
  re: new RegExp(
    `^${key
      .split('.')
      .map((t) => (t === '*' ? '[^.]+' : t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('\\.')}$`,
  ),
}));

/** The contract of a subject, or undefined when none is registered. */
export function eventContractOf(subject: string): { key: string; version: number; schema: z.ZodTypeAny } | undefined {
  const hit = patterns.find((p) => p.re.test(subject));
  return hit && { key: hit.key, version: hit.contract.version, schema: hit.contract.schema };
}

/** Parses a body against its subject's contract; throws on an unregistered subject or a bad body. */
export function parseEventBody(subject: string, body: unknown): unknown {
  const contract = eventContractOf(subject);
  if (!contract) throw new Error(`no event contract for subject ${subject}`);
  const parsed = contract.schema.safeParse(body);
  if (!parsed.success)
    throw new Error(
      `event body for ${subject} breaks its contract: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}
