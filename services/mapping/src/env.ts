import { z } from 'zod';
import { commonEnv, databaseEnv, natsEnv, pem, port } from '@datalinx/common';

export const envSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  MAPPING_PORT: port(4004),
  DLX_ASSERTION_PUBLIC_KEY: pem('DLX_ASSERTION_PUBLIC_KEY'),
  /** How often the outbox relay looks for events a commit-time kick missed (NATS down, crash). */
  /** Durable consumer name on EVENTS for workspace.workspace.created.v1 (feeds mapping.workspace_ref). */
  WORKSPACE_EVENTS_DURABLE: z.string().min(1).default('mapping-workspaces'),
  /** Durable consumer name on EVENTS for workspace.promotion.requested.v1 (copies mappings). */
  MAPPING_PROMOTION_DURABLE: z.string().min(1).default('mapping-promotions'),
  /** Durable consumer name on EVENTS for schema.target_schema.changed.v1 (feeds mapping.target_schema_ref). */
  MAPPING_TARGET_SCHEMA_DURABLE: z.string().min(1).default('mapping-target-schemas'),
  /** Durable consumer name on EVENTS for schema.source_snapshot.created.v1 (feeds the source catalog, detects drift). */
  MAPPING_SOURCE_SNAPSHOT_DURABLE: z.string().min(1).default('mapping-source-snapshots'),
  /** Durable consumer name on EVENTS for schema.canonical_type.created.v1 (feeds mapping.canonical_type_ref: the orgs' own canonical types). */
  MAPPING_CANONICAL_TYPE_DURABLE: z.string().min(1).default('mapping-canonical-types'),
  /**
   * The platform's data directory (npm start: .datalinx): each workspace's dbt project versions are
   * written to its `dbt/<workspaceId>/v<n>`, where pipeline runs (Dagster) read them: shared storage
   * when the services and the workers run on different machines.
   */
  DLX_DATA_DIR: z.string().min(1).default('./.datalinx'),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});
export type Env = z.infer<typeof envSchema>;
