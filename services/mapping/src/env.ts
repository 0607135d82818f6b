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
  /** The platform's data directory (npm start: .datalinx); workspaces' dbt projects go to its `dbt/` unless DLX_DBT_PROJECTS_DIR says otherwise. */
  DLX_DATA_DIR: z.string().min(1).default('./.datalinx'),
  /** Where each workspace's dbt project versions are written (`<dir>/<workspaceId>/v<n>`); the workers read the same path (shared storage). */
  DLX_DBT_PROJECTS_DIR: z.string().min(1).optional(),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
});
export type Env = z.infer<typeof envSchema>;
