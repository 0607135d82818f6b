/**
 * Row-level security proven (ARCHITECTURE.md §3), for the tenant tables
 * of workspace, mapping and monitoring: connected as the runtime role the services use, inside
 * a transaction for org B, a query WITHOUT any tenant filter returns none of org A's rows; with
 * no tenant set it returns nothing; writing a row of org A while the tenant is org B is refused.
 * And the runtime role owns nothing, so it can neither ALTER nor DROP its way past the policies.
 *
 * Rows are planted by the admin (which bypasses RLS), so each check also proves there was
 * something to hide: org B does see its own rows.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, createTestDatabase, runMigrations, runtimeRoleName, runtimeRoleUrl, withTenant, type TestDatabase } from '@datalinx/db';
import { migrate as migrateAuth } from '../services/auth/src/migrate';
import { migrate as migrateWorkspace } from '../services/workspace/src/migrate';
import { migrate as migrateSchema } from '../services/schema/src/migrate';
import { migrate as migrateMapping } from '../services/mapping/src/migrate';
import { migrate as migrateMonitoring } from '../services/monitoring/src/migrate';
import { workspaceDataSource } from '../services/workspace/src/data-source';

const SCHEMAS = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'] as const;

/** Tables with no tenant, each for a reason written in its service's migration docblock. */
const GLOBAL_TABLES = [
  'auth.email_outbox',
  'auth.login_failure',
  'auth.migrations',
  'auth.outbox',
  'mapping.migrations',
  'mapping.outbox',
  'monitoring.consumed_event',
  'monitoring.migrations',
  'monitoring.outbox',
  'schema.canonical_type',
  'schema.migrations',
  'schema.outbox',
  'workspace.migrations',
  'workspace.outbox',
];

const orgA = randomUUID();
const orgB = randomUUID();
const ids = {
  wsA: randomUUID(),
  wsB: randomUUID(),
  /** A second workspace of org A without a data key (the insert attempt targets it). */
  wsA2: randomUUID(),
  promoA: randomUUID(),
  promotionA: randomUUID(),
  promotionB: randomUUID(),
  promoB: randomUUID(),
  connA: randomUUID(),
  connB: randomUUID(),
  fileA: randomUUID(),
  fileB: randomUUID(),
  activeRunA: randomUUID(),
  activeRunB: randomUUID(),
  pipeA: randomUUID(),
  pipeB: randomUUID(),
  pipeRunA: randomUUID(),
  pipeRunB: randomUUID(),
  mapA: randomUUID(),
  mapB: randomUUID(),
  runA: randomUUID(),
  runB: randomUUID(),
  auditA: randomUUID(),
  auditB: randomUUID(),
  discRunA: randomUUID(),
  discRunB: randomUUID(),
  snapA: randomUUID(),
  snapB: randomUUID(),
  srcTableA: randomUUID(),
  srcTableB: randomUUID(),
  srcColA: randomUUID(),
  srcColB: randomUUID(),
  metaA: randomUUID(),
  metaB: randomUUID(),
  customTypeA: randomUUID(),
  customTypeB: randomUUID(),
  targetTableA: randomUUID(),
  targetTableB: randomUUID(),
  targetRelA: randomUUID(),
  targetRelB: randomUUID(),
  targetVersionA: randomUUID(),
  targetVersionB: randomUUID(),
  schemaPromoA: randomUUID(),
  schemaPromoB: randomUUID(),
  typeRefA: randomUUID(),
  typeRefB: randomUUID(),
  snapRefA: randomUUID(),
  snapRefB: randomUUID(),
  mapSnapRefA: randomUUID(),
  mapSnapRefB: randomUUID(),
};
/** The built-in `email` canonical type (a fixed id since the schema service's first migration): custom types' parent. */
const EMAIL_TYPE_ID = '85ccb38a-17a9-43ad-8b08-18be7a9c77d8';

/** Auth rows, one of each per org: `auth.<A|B>.<table>` = the row's key. */
const authIds = (['A', 'B'] as const).reduce(
  (acc, o) => ({
    ...acc,
    [o]: {
      user: randomUUID(),
      history: randomUUID(),
      session: randomUUID(),
      refresh: randomUUID(),
      totp: randomUUID(),
      backup: randomUUID(),
      challenge: randomUUID(),
      pwChallenge: randomUUID(),
      sa: randomUUID(),
      key: randomUUID(),
      wsRef: randomUUID(),
      invitation: randomUUID(),
      reset: randomUUID(),
    },
  }),
  {} as Record<
    'A' | 'B',
    Record<
      'user' | 'history' | 'session' | 'refresh' | 'totp' | 'backup' | 'challenge' | 'pwChallenge' | 'sa' | 'key' | 'wsRef' | 'invitation' | 'reset',
      string
    >
  >,
);
const orgOf = (o: 'A' | 'B') => (o === 'A' ? orgA : orgB);
const hex = () => randomUUID().replace(/-/g, '') + randomUUID().replace(/-/g, '');

/** Plants one row of each auth tenant table for org `o` (as the admin). */
async function plantAuth(admin: DataSource, o: 'A' | 'B'): Promise<void> {
  const org = orgOf(o);
  const id = authIds[o];
  const q = (sql: string, params: unknown[]) => admin.query(sql, params);
  await q(`INSERT INTO auth.organization (id, slug, name, region, time_zone) VALUES ($1, $2, $2, 'eu', 'UTC')`, [
    org,
    `rls-${o.toLowerCase()}-${org.slice(0, 8)}`,
  ]);
  await q(`INSERT INTO auth."user" (id, org_id, email, display_name, org_role) VALUES ($1, $2, $3, 'U', 'ADMIN')`, [
    id.user,
    org,
    `rls-${id.user}@example.test`,
  ]);
  await q(`INSERT INTO auth.password_history (id, org_id, user_id, password_hash) VALUES ($1, $2, $3, 'h')`, [id.history, org, id.user]);
  await q(`INSERT INTO auth.session (id, org_id, user_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')`, [id.session, org, id.user]);
  await q(`INSERT INTO auth.refresh_token (id, org_id, session_id, token_hash) VALUES ($1, $2, $3, $4)`, [id.refresh, org, id.session, hex()]);
  await q(`INSERT INTO auth.workspace_grant (org_id, user_id, workspace_id, role) VALUES ($1, $2, $3, 'EDITOR')`, [org, id.user, id.wsRef]);
  await q(`INSERT INTO auth.mfa_totp (id, org_id, user_id, secret_sealed) VALUES ($1, $2, $3, '{}')`, [id.totp, org, id.user]);
  await q(`INSERT INTO auth.mfa_backup_code (id, org_id, user_id, code_hash) VALUES ($1, $2, $3, $4)`, [id.backup, org, id.user, hex()]);
  await q(
    `INSERT INTO auth.mfa_challenge (id, org_id, user_id, token_hash, purpose, expires_at) VALUES ($1, $2, $3, $4, 'LOGIN', now() + interval '5 minutes')`,
    [id.challenge, org, id.user, hex()],
  );
  await q(`INSERT INTO auth.password_change_challenge (id, org_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, now() + interval '5 minutes')`, [
    id.pwChallenge,
    org,
    id.user,
    hex(),
  ]);
  await q(`INSERT INTO auth.service_account (id, org_id, name, workspace_id, role, created_by) VALUES ($1, $2, 'bot', $3, 'VIEWER', $4)`, [
    id.sa,
    org,
    id.wsRef,
    id.user,
  ]);
  await q(`INSERT INTO auth.api_key (id, org_id, service_account_id, prefix, key_hash) VALUES ($1, $2, $3, 'dlx_sk_live_abcd', $4)`, [
    id.key,
    org,
    id.sa,
    hex(),
  ]);
  await q(`INSERT INTO auth.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, [id.wsRef, org]);
  await q(
    `INSERT INTO auth.invitation (id, org_id, email, org_role, token_hash, expires_at) VALUES ($1, $2, $3, 'MEMBER', decode($4, 'hex'), now() + interval '1 day')`,
    [id.invitation, org, `inv-${id.invitation}@example.test`, hex()],
  );
  await q(
    `INSERT INTO auth.password_reset (id, org_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, decode($4, 'hex'), now() + interval '30 minutes')`,
    [id.reset, org, id.user, hex()],
  );
}

/** The auth tenant tables: one planted row per org, and a new row of org A to try to insert. */
const AUTH_TENANT_TABLES: TenantTable[] = [
  {
    table: 'auth.organization',
    key: 'id',
    set: `name = 'x'`,
    rowsOf: (o) => [orgOf(o)],
    insertForA: { sql: `INSERT INTO auth.organization (id, slug, name, region, time_zone) VALUES ($1, 'rls-x', 'x', 'eu', 'UTC')`, params: [orgA] },
  },
  {
    table: 'auth.user',
    key: 'id',
    set: `display_name = 'x'`,
    rowsOf: (o) => [authIds[o].user],
    insertForA: { sql: `INSERT INTO auth."user" (org_id, email, display_name, org_role) VALUES ($1, 'planted@example.test', 'P', 'ADMIN')`, params: [orgA] },
  },
  {
    table: 'auth.password_history',
    key: 'id',
    set: `password_hash = 'x'`,
    rowsOf: (o) => [authIds[o].history],
    insertForA: { sql: `INSERT INTO auth.password_history (org_id, user_id, password_hash) VALUES ($1, $2, 'h')`, params: [orgA, authIds.A.user] },
  },
  {
    table: 'auth.session',
    key: 'id',
    set: `revoked_at = now()`,
    rowsOf: (o) => [authIds[o].session],
    insertForA: { sql: `INSERT INTO auth.session (org_id, user_id, expires_at) VALUES ($1, $2, now())`, params: [orgA, authIds.A.user] },
  },
  {
    table: 'auth.refresh_token',
    key: 'id',
    set: `rotated_at = now()`,
    rowsOf: (o) => [authIds[o].refresh],
    insertForA: { sql: `INSERT INTO auth.refresh_token (org_id, session_id, token_hash) VALUES ($1, $2, 'planted')`, params: [orgA, authIds.A.session] },
  },
  {
    table: 'auth.workspace_grant',
    key: 'workspace_id',
    set: `role = 'VIEWER'`,
    rowsOf: (o) => [authIds[o].wsRef],
    insertForA: {
      sql: `INSERT INTO auth.workspace_grant (org_id, user_id, workspace_id, role) VALUES ($1, $2, $3, 'VIEWER')`,
      params: [orgA, authIds.A.user, randomUUID()],
    },
  },
  {
    table: 'auth.mfa_totp',
    key: 'id',
    set: `attempts = 9`,
    rowsOf: (o) => [authIds[o].totp],
    insertForA: { sql: `INSERT INTO auth.mfa_totp (org_id, user_id, secret_sealed) VALUES ($1, $2, '{}')`, params: [orgA, authIds.A.user] },
  },
  {
    table: 'auth.mfa_backup_code',
    key: 'id',
    set: `used_at = now()`,
    rowsOf: (o) => [authIds[o].backup],
    insertForA: { sql: `INSERT INTO auth.mfa_backup_code (org_id, user_id, code_hash) VALUES ($1, $2, 'planted')`, params: [orgA, authIds.A.user] },
  },
  {
    table: 'auth.mfa_challenge',
    key: 'id',
    set: `attempts = 9`,
    rowsOf: (o) => [authIds[o].challenge],
    insertForA: {
      sql: `INSERT INTO auth.mfa_challenge (org_id, user_id, token_hash, purpose, expires_at) VALUES ($1, $2, 'planted', 'LOGIN', now())`,
      params: [orgA, authIds.A.user],
    },
  },
  {
    table: 'auth.password_change_challenge',
    key: 'id',
    set: `consumed_at = now()`,
    rowsOf: (o) => [authIds[o].pwChallenge],
    insertForA: {
      sql: `INSERT INTO auth.password_change_challenge (org_id, user_id, token_hash, expires_at) VALUES ($1, $2, 'planted', now())`,
      params: [orgA, authIds.A.user],
    },
  },
  {
    table: 'auth.service_account',
    key: 'id',
    rowsOf: (o) => [authIds[o].sa],
    insertForA: {
      sql: `INSERT INTO auth.service_account (org_id, name, workspace_id, role, created_by) VALUES ($1, 'p', $2, 'VIEWER', $3)`,
      params: [orgA, authIds.A.wsRef, authIds.A.user],
    },
  },
  {
    table: 'auth.api_key',
    key: 'id',
    set: `revoked_at = now()`,
    rowsOf: (o) => [authIds[o].key],
    insertForA: {
      sql: `INSERT INTO auth.api_key (org_id, service_account_id, prefix, key_hash) VALUES ($1, $2, 'p', 'planted')`,
      params: [orgA, authIds.A.sa],
    },
  },
  {
    table: 'auth.workspace_ref',
    key: 'workspace_id',
    set: `created_at = now()`,
    rowsOf: (o) => [authIds[o].wsRef],
    insertForA: { sql: `INSERT INTO auth.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, params: [randomUUID(), orgA] },
  },
  {
    table: 'auth.invitation',
    key: 'id',
    set: `revoked_at = now()`,
    rowsOf: (o) => [authIds[o].invitation],
    insertForA: {
      sql: `INSERT INTO auth.invitation (org_id, email, org_role, token_hash, expires_at) VALUES ($1, 'p@example.test', 'MEMBER', '\\x00', now())`,
      params: [orgA],
    },
  },
  {
    table: 'auth.password_reset',
    key: 'id',
    set: `used_at = now()`,
    rowsOf: (o) => [authIds[o].reset],
    insertForA: {
      sql: `INSERT INTO auth.password_reset (org_id, user_id, token_hash, expires_at) VALUES ($1, $2, '\\x00', now())`,
      params: [orgA, authIds.A.user],
    },
  },
];

interface TenantTable {
  table: string;
  /** What the UPDATE check sets (default `name = 'x'`). */
  set?: string;
  /** The id column (run_step: its run). */
  key: string;
  rowsOf: (org: 'A' | 'B') => string[];
  /** INSERT of a new row belonging to org A. */
  insertForA: { sql: string; params: unknown[] };
}

const TENANT_TABLES: TenantTable[] = [
  ...AUTH_TENANT_TABLES,
  {
    table: 'workspace.workspace',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: { sql: `INSERT INTO workspace.workspace (org_id, name, slug, environment) VALUES ($1, 'Planted', 'planted', 'DEV')`, params: [orgA] },
  },
  {
    table: 'workspace.connection',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.connA : ids.connB],
    insertForA: {
      sql: `INSERT INTO workspace.connection (org_id, workspace_id, name, kind, type) VALUES ($1, $2, 'Planted', 'SOURCE', 'POSTGRES')`,
      params: [orgA, ids.wsA],
    },
  },
  {
    table: 'workspace.pipeline',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.pipeA : ids.pipeB],
    insertForA: { sql: `INSERT INTO workspace.pipeline (org_id, workspace_id, name, definition) VALUES ($1, $2, 'Planted', '{}')`, params: [orgA, ids.wsA] },
  },
  {
    // The ledger of dispatched pipeline runs.
    table: 'workspace.pipeline_run',
    key: 'id',
    set: `requested_by = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.pipeRunA : ids.pipeRunB],
    insertForA: {
      sql: `INSERT INTO workspace.pipeline_run (org_id, workspace_id, pipeline_id, trigger, run_id, job_id, requested_by) VALUES ($1, $2, $3, 'MANUAL', gen_random_uuid(), gen_random_uuid(), 'planted')`,
      params: [orgA, ids.wsA, ids.pipeA],
    },
  },
  {
    // Uploaded files (POST /files): the metadata; the bytes live in file storage.
    table: 'workspace.file',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.fileA : ids.fileB],
    insertForA: {
      sql: `INSERT INTO workspace.file (id, org_id, workspace_id, name, content_type, size_bytes, sha256, created_by) VALUES ($1, $2, $3, 'planted.csv', 'text/csv', 1, repeat('0', 64), 'x')`,
      params: [randomUUID(), orgA, ids.wsA],
    },
  },
  {
    // Promotions (one workspace's configuration copied into another) and their reports.
    table: 'workspace.promotion',
    key: 'id',
    set: `status = 'DONE'`,
    rowsOf: (o) => [o === 'A' ? ids.promotionA : ids.promotionB],
    insertForA: {
      sql: `INSERT INTO workspace.promotion (id, org_id, from_workspace_id, to_workspace_id, include, status, requested_by) VALUES ($1, $2, $3, $3, '{}', 'RUNNING', 'x')`,
      params: [randomUUID(), orgA, ids.wsA],
    },
  },
  {
    // Envelope encryption: the workspace's data key, wrapped by the master key.
    table: 'workspace.data_key',
    key: 'workspace_id',
    set: `rewrapped_at = now()`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: { sql: `INSERT INTO workspace.data_key (workspace_id, org_id, wrapped, master_key_id) VALUES ($1, $2, '{}', 'x')`, params: [ids.wsA2, orgA] },
  },
  {
    // The workspace's warehouse destination: schema, role, sealed password.
    table: 'workspace.warehouse',
    key: 'workspace_id',
    set: `status = 'FAILED'`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: {
      sql: `INSERT INTO workspace.warehouse (workspace_id, org_id, mode, database, schema_name, role_name, status) VALUES ($1, $2, 'PLATFORM', 'w', 'ws_a2a2a2a2a2a2', 'dlx_ws_a2a2a2a2a2a2', 'PENDING')`,
      params: [ids.wsA2, orgA],
    },
  },
  {
    // A workspace's own quotas.
    table: 'workspace.quota',
    key: 'workspace_id',
    set: `concurrent_runs = 99`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: {
      sql: `INSERT INTO workspace.quota (workspace_id, org_id, storage_bytes, concurrent_runs, rows_per_run, api_requests_per_minute) VALUES ($1, $2, 1, 1, 1, 1)`,
      params: [ids.wsA2, orgA],
    },
  },
  {
    // Runs counted against the concurrent-runs quota.
    table: 'workspace.active_run',
    key: 'run_id',
    set: `kind = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.activeRunA : ids.activeRunB],
    insertForA: {
      sql: `INSERT INTO workspace.active_run (run_id, org_id, workspace_id, kind) VALUES (gen_random_uuid(), $1, $2, 'planted')`,
      params: [orgA, ids.wsA],
    },
  },
  {
    // The workspace service's replica of the orgs' custom canonical types (fed by schema.canonical_type.created.v1).
    table: 'workspace.canonical_type_ref',
    key: 'type_id',
    set: `label = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.typeRefA : ids.typeRefB],
    insertForA: {
      sql: `INSERT INTO workspace.canonical_type_ref (org_id, name, type_id, label, parent, base_type, created_at) VALUES ($1, 'planted', gen_random_uuid(), 'P', 'email', 'email', now())`,
      params: [orgA],
    },
  },
  {
    // The workspace service's replica of each connection's latest source snapshot (fed by schema.source_snapshot.created.v1).
    table: 'workspace.source_snapshot_ref',
    key: 'snapshot_id',
    set: `table_count = 9`,
    rowsOf: (o) => [o === 'A' ? ids.snapRefA : ids.snapRefB],
    insertForA: {
      sql: `INSERT INTO workspace.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, run_id, table_count, parts, created_at) VALUES ($1, $2, 9, $3, gen_random_uuid(), gen_random_uuid(), 0, 1, now())`,
      params: [orgA, ids.connA, ids.wsA],
    },
  },
  {
    // ...and its tables.
    table: 'workspace.source_table_ref',
    key: 'table_name',
    set: `kind = 'VIEW'`,
    rowsOf: (o) => [`rls_${o}`],
    insertForA: {
      sql: `INSERT INTO workspace.source_table_ref (org_id, connection_id, version, schema_name, table_name, kind, columns) VALUES ($1, $2, 1, 'public', 'planted', 'TABLE', '[]')`,
      params: [orgA, ids.connA],
    },
  },
  {
    // The workspace service's replica of each workspace's latest published dbt project (fed by mapping.dbt_project.published.v1).
    table: 'workspace.dbt_project_ref',
    key: 'workspace_id',
    set: `digest = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: {
      sql: `INSERT INTO workspace.dbt_project_ref (workspace_id, org_id, version, project, digest, models) VALUES ($1, $2, 1, 'p', 'd', '{}')`,
      params: [ids.wsA2, orgA],
    },
  },
  {
    table: 'mapping.mapping',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.mapA : ids.mapB],
    insertForA: {
      sql: `INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table) VALUES ($1, $2, 'Planted', 'planted')`,
      params: [orgA, ids.wsA],
    },
  },
  {
    // Promotions the mapping service has applied (exactly-once record).
    table: 'mapping.promotion_applied',
    key: 'promotion_id',
    set: `items = '[1]'`,
    rowsOf: (o) => [o === 'A' ? ids.promoA : ids.promoB],
    insertForA: {
      sql: `INSERT INTO mapping.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id, items) VALUES ($1, $2, $3, $3, '[]')`,
      params: [randomUUID(), orgA, ids.wsA],
    },
  },
  {
    // Mapping's replica of which org owns each workspace (fed by workspace.workspace.created.v1).
    table: 'mapping.workspace_ref',
    key: 'workspace_id',
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: { sql: `INSERT INTO mapping.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, params: [randomUUID(), orgA] },
  },
  {
    // Every version of a mapping's definition.
    table: 'mapping.mapping_version',
    key: 'mapping_id',
    set: `summary = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.mapA : ids.mapB],
    insertForA: {
      sql: `INSERT INTO mapping.mapping_version (mapping_id, version, org_id, spec, author_kind) VALUES ($1, 9, $2, '{}', 'system')`,
      params: [ids.mapA, orgA],
    },
  },
  {
    // The mapping service's replica of each workspace's target schema (fed by schema.target_schema events).
    table: 'mapping.target_schema_ref',
    key: 'workspace_id',
    set: `version = 9`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: {
      sql: `INSERT INTO mapping.target_schema_ref (workspace_id, org_id, version, document, table_ids) VALUES ($1, $2, 1, '{}', '{}')`,
      params: [randomUUID(), orgA],
    },
  },
  {
    // The mapping service's replica of each connection's latest source snapshot (fed by schema.source_snapshot.created.v1).
    table: 'mapping.source_snapshot_ref',
    key: 'snapshot_id',
    set: `complete = false`,
    rowsOf: (o) => [o === 'A' ? ids.mapSnapRefA : ids.mapSnapRefB],
    insertForA: {
      sql: `INSERT INTO mapping.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, parts, created_at) VALUES ($1, $2, 9, $3, gen_random_uuid(), 1, now())`,
      params: [orgA, ids.connA, ids.wsA],
    },
  },
  {
    // ...and its tables.
    table: 'mapping.source_table_ref',
    key: 'table_name',
    set: `columns = '[1]'`,
    rowsOf: (o) => [`rls_${o}`],
    insertForA: {
      sql: `INSERT INTO mapping.source_table_ref (org_id, connection_id, version, schema_name, table_name, columns) VALUES ($1, $2, 1, 'public', 'planted', '[]')`,
      params: [orgA, ids.connA],
    },
  },
  {
    // What broke a mapping in a source snapshot (one row per mapping and snapshot).
    table: 'mapping.drift_notice',
    key: 'mapping_id',
    set: `fields = '[1]'`,
    rowsOf: (o) => [o === 'A' ? ids.mapA : ids.mapB],
    insertForA: {
      sql: `INSERT INTO mapping.drift_notice (mapping_id, snapshot_id, org_id, fields) VALUES ($1, gen_random_uuid(), $2, '{}')`,
      params: [ids.mapA, orgA],
    },
  },
  {
    // The published versions of each workspace's dbt project.
    table: 'mapping.dbt_project',
    key: 'workspace_id',
    set: `digest = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: {
      sql: `INSERT INTO mapping.dbt_project (workspace_id, version, org_id, digest, file_count, models) VALUES ($1, 9, $2, 'd', 0, '{}')`,
      params: [ids.wsA, orgA],
    },
  },
  {
    // The mapping service's replica of the organizations' own canonical types.
    table: 'mapping.canonical_type_ref',
    key: 'name',
    set: `base_type = 'url'`,
    rowsOf: (o) => [`rls_type_${o.toLowerCase()}`],
    insertForA: {
      sql: `INSERT INTO mapping.canonical_type_ref (org_id, name, base_type, patterns, created_at) VALUES ($1, 'planted_type', 'email', '{}', now())`,
      params: [orgA],
    },
  },
  {
    table: 'monitoring.run',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.runA : ids.runB],
    insertForA: {
      sql: `INSERT INTO monitoring.run (id, org_id, workspace_id, job_id, kind, subject_id, state, attempts, created_at) VALUES ($1, $2, $3, $1, 'connection.test', 'x', 'QUEUED', 0, now())`,
      params: [randomUUID(), orgA, ids.wsA],
    },
  },
  {
    // No org_id of its own: the policy goes through the run.
    table: 'monitoring.run_step',
    key: 'run_id',
    rowsOf: (o) => [o === 'A' ? ids.runA : ids.runB],
    insertForA: {
      sql: `INSERT INTO monitoring.run_step (run_id, seq, name, status, message, duration_ms, attempt, at) VALUES ($1, 7, 'planted', 'SUCCESS', '', 1, 1, now())`,
      params: [ids.runA],
    },
  },
  {
    // Append-only: SELECT and INSERT policies only, so UPDATE/DELETE match no row of any org.
    table: 'monitoring.audit_log',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.auditA : ids.auditB],
    insertForA: {
      sql: `INSERT INTO monitoring.audit_log (id, org_id, occurred_at, actor_type, action, outcome) VALUES ($1, $2, now(), 'system', 'auth.planted', 'success')`,
      params: [randomUUID(), orgA],
    },
  },
  {
    // A discovery run's tables waiting for its completion.
    table: 'schema.discovery_staging',
    key: 'run_id',
    set: `body = '{}'`,
    rowsOf: (o) => [o === 'A' ? ids.discRunA : ids.discRunB],
    insertForA: {
      sql: `INSERT INTO schema.discovery_staging (org_id, run_id, workspace_id, connection_id, table_name, body) VALUES ($1, gen_random_uuid(), $2, $3, 'public.p', '{}')`,
      params: [orgA, ids.wsA, ids.connA],
    },
  },
  {
    table: 'schema.source_snapshot',
    key: 'id',
    set: `table_count = 9`,
    rowsOf: (o) => [o === 'A' ? ids.snapA : ids.snapB],
    insertForA: {
      sql: `INSERT INTO schema.source_snapshot (org_id, workspace_id, connection_id, version, run_id, table_count, diff) VALUES ($1, $2, $3, 2, gen_random_uuid(), 0, '{}')`,
      params: [orgA, ids.wsA, ids.connA],
    },
  },
  {
    table: 'schema.source_table',
    key: 'id',
    set: `row_estimate = 9`,
    rowsOf: (o) => [o === 'A' ? ids.srcTableA : ids.srcTableB],
    insertForA: {
      sql: `INSERT INTO schema.source_table (org_id, snapshot_id, schema_name, table_name, kind) VALUES ($1, $2, 'public', 'planted', 'TABLE')`,
      params: [orgA, ids.snapA],
    },
  },
  {
    table: 'schema.source_column',
    key: 'id',
    set: `type = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.srcColA : ids.srcColB],
    insertForA: {
      sql: `INSERT INTO schema.source_column (org_id, table_id, name, type, nullable, ordinal) VALUES ($1, $2, 'planted', 'text', true, 9)`,
      params: [orgA, ids.srcTableA],
    },
  },
  {
    // Descriptions of source tables and columns, by name (carried over across snapshots).
    table: 'schema.table_metadata',
    key: 'id',
    set: `description = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.metaA : ids.metaB],
    insertForA: {
      sql: `INSERT INTO schema.table_metadata (org_id, workspace_id, connection_id, table_name, description, status, updated_by) VALUES ($1, $2, $3, 'public.planted', 'd', 'DRAFT', 'planted')`,
      params: [orgA, ids.wsA, ids.connA],
    },
  },
  {
    // An organization's own canonical types (built-ins stay global in schema.canonical_type).
    table: 'schema.custom_canonical_type',
    key: 'id',
    set: `label = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.customTypeA : ids.customTypeB],
    insertForA: {
      sql: `INSERT INTO schema.custom_canonical_type (org_id, name, label, category, parent_id, created_by) VALUES ($1, 'planted', 'P', 'contact', $2, 'x')`,
      params: [orgA, EMAIL_TYPE_ID],
    },
  },
  {
    // The schema service's replica of which org owns each workspace (fed by workspace.workspace.created.v1).
    table: 'schema.workspace_ref',
    key: 'workspace_id',
    set: `created_at = now()`,
    rowsOf: (o) => [o === 'A' ? ids.wsA : ids.wsB],
    insertForA: { sql: `INSERT INTO schema.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, params: [randomUUID(), orgA] },
  },
  {
    table: 'schema.target_table',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.targetTableA : ids.targetTableB],
    insertForA: { sql: `INSERT INTO schema.target_table (org_id, workspace_id, name, position) VALUES ($1, $2, 'planted', 9)`, params: [orgA, ids.wsA] },
  },
  {
    table: 'schema.target_column',
    key: 'table_id',
    rowsOf: (o) => [o === 'A' ? ids.targetTableA : ids.targetTableB],
    insertForA: {
      sql: `INSERT INTO schema.target_column (org_id, table_id, position, name, data_type, nullable) VALUES ($1, $2, 9, 'planted', 'text', true)`,
      params: [orgA, ids.targetTableA],
    },
  },
  {
    table: 'schema.target_relationship',
    key: 'id',
    rowsOf: (o) => [o === 'A' ? ids.targetRelA : ids.targetRelB],
    insertForA: {
      sql: `INSERT INTO schema.target_relationship (org_id, workspace_id, name, position, from_table_id, from_columns, to_table_id, to_columns) VALUES ($1, $2, 'planted', 9, $3, '{id}', $3, '{id}')`,
      params: [orgA, ids.wsA, ids.targetTableA],
    },
  },
  {
    table: 'schema.target_schema_version',
    key: 'id',
    set: `summary = 'x'`,
    rowsOf: (o) => [o === 'A' ? ids.targetVersionA : ids.targetVersionB],
    insertForA: {
      sql: `INSERT INTO schema.target_schema_version (org_id, workspace_id, version, document, table_ids, summary, actor_kind) VALUES ($1, $2, 99, '{}', '{}', 's', 'system')`,
      params: [orgA, ids.wsA],
    },
  },
  {
    // Promotions the schema service has answered (exactly-once record).
    table: 'schema.promotion_applied',
    key: 'promotion_id',
    set: `items = '[1]'`,
    rowsOf: (o) => [o === 'A' ? ids.schemaPromoA : ids.schemaPromoB],
    insertForA: {
      sql: `INSERT INTO schema.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id) VALUES ($1, $2, $3, $3)`,
      params: [randomUUID(), orgA, ids.wsA],
    },
  },
];

describe('row-level security', () => {
  let db: TestDatabase;
  /** The admin (owner of everything, bypasses RLS): plants rows and reads the catalog. */
  let admin: DataSource;
  /** The runtime role, one pooled connection (so a leaked tenant setting would show). */
  let app: DataSource;
  const role = runtimeRoleName();

  beforeAll(async () => {
    db = await createTestDatabase();
    for (const m of [migrateAuth, migrateWorkspace, migrateSchema, migrateMapping, migrateMonitoring]) await m(db.url);
    admin = await createDataSource({ url: db.url, schema: 'public', entities: [], poolMax: 2 }).initialize();
    app = await createDataSource({ url: await runtimeRoleUrl(process.env.DATABASE_URL, db.url), schema: 'public', entities: [], poolMax: 1 }).initialize();
    await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, 'a2', 'a2', 'DEV')`, [ids.wsA2, orgA]);
    await plantAuth(admin, 'A');
    await plantAuth(admin, 'B');
    for (const [org, ws, conn, map, run, audit] of [
      [orgA, ids.wsA, ids.connA, ids.mapA, ids.runA, ids.auditA],
      [orgB, ids.wsB, ids.connB, ids.mapB, ids.runB, ids.auditB],
    ]) {
      const slug = org === orgA ? 'a' : 'b';
      await admin.query(`INSERT INTO workspace.workspace (id, org_id, name, slug, environment) VALUES ($1, $2, $3, $3, 'DEV')`, [ws, org, slug]);
      await admin.query(`INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type) VALUES ($1, $2, $3, 'pg', 'SOURCE', 'POSTGRES')`, [
        conn,
        org,
        ws,
      ]);
      const [pipe, pipeRun] = org === orgA ? [ids.pipeA, ids.pipeRunA] : [ids.pipeB, ids.pipeRunB];
      await admin.query(
        `INSERT INTO workspace.pipeline (id, org_id, workspace_id, name, definition, schedule, next_run_at) VALUES ($1, $2, $3, 'p', '{}', '* * * * *', now())`,
        [pipe, org, ws],
      );
      await admin.query(
        `INSERT INTO workspace.pipeline_run (id, org_id, workspace_id, pipeline_id, trigger, scheduled_for, run_id, job_id, requested_by) VALUES ($1, $2, $3, $4, 'SCHEDULE', now(), gen_random_uuid(), gen_random_uuid(), 'scheduler')`,
        [pipeRun, org, ws, pipe],
      );
      await admin.query(`INSERT INTO workspace.data_key (workspace_id, org_id, wrapped, master_key_id) VALUES ($1, $2, '{}', 'planted')`, [ws, org]);
      await admin.query(
        `INSERT INTO workspace.promotion (id, org_id, from_workspace_id, to_workspace_id, include, status, requested_by) VALUES ($1, $2, $3, $3, '{}', 'RUNNING', 'planted')`,
        [org === orgA ? ids.promotionA : ids.promotionB, org, ws],
      );
      await admin.query(
        `INSERT INTO workspace.warehouse (workspace_id, org_id, mode, database, schema_name, role_name, status) VALUES ($1, $2, 'PLATFORM', 'w', $3, $4, 'READY')`,
        [ws, org, `ws_${ws.replace(/-/g, '').slice(0, 12)}`, `dlx_ws_${ws.replace(/-/g, '').slice(0, 12)}`],
      );
      await admin.query(
        `INSERT INTO workspace.file (id, org_id, workspace_id, name, content_type, size_bytes, sha256, created_by) VALUES ($1, $2, $3, 'f.csv', 'text/csv', 3, repeat('a', 64), 'planted')`,
        [org === orgA ? ids.fileA : ids.fileB, org, ws],
      );
      await admin.query(
        `INSERT INTO workspace.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, run_id, table_count, parts, received_parts, complete, created_at) VALUES ($1, $2, 1, $3, $4, gen_random_uuid(), 1, 1, '{1}', true, now())`,
        [org, conn, ws, org === orgA ? ids.snapRefA : ids.snapRefB],
      );
      await admin.query(
        `INSERT INTO workspace.source_table_ref (org_id, connection_id, version, schema_name, table_name, kind, columns) VALUES ($1, $2, 1, 'public', $3, 'TABLE', '[]')`,
        [org, conn, org === orgA ? 'rls_A' : 'rls_B'],
      );
      await admin.query(
        `INSERT INTO workspace.quota (workspace_id, org_id, storage_bytes, concurrent_runs, rows_per_run, api_requests_per_minute) VALUES ($1, $2, 1024, 2, 1000, 60)`,
        [ws, org],
      );
      await admin.query(`INSERT INTO workspace.active_run (run_id, org_id, workspace_id, kind) VALUES ($1, $2, $3, 'connection.test')`, [
        org === orgA ? ids.activeRunA : ids.activeRunB,
        org,
        ws,
      ]);
      await admin.query(
        `INSERT INTO workspace.canonical_type_ref (org_id, name, type_id, label, parent, base_type, pattern, patterns, created_at) VALUES ($1, 'work_email', $2, 'Work email', 'email', 'email', '^.+$', '{^.+$}', now())`,
        [org, org === orgA ? ids.typeRefA : ids.typeRefB],
      );
      await admin.query(
        `INSERT INTO workspace.dbt_project_ref (workspace_id, org_id, version, project, digest, models) VALUES ($1, $2, 1, $3, repeat('a', 64), '{m}')`,
        [ws, org, `${ws}/v1`],
      );
      await admin.query(`INSERT INTO mapping.mapping (id, org_id, workspace_id, name, target_table) VALUES ($1, $2, $3, 'm', 'dim_m')`, [map, org, ws]);
      await admin.query(`INSERT INTO mapping.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, [ws, org]);
      await admin.query(
        `INSERT INTO mapping.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id, items) VALUES ($1, $2, $3, $3, '[]')`,
        [org === orgA ? ids.promoA : ids.promoB, org, ws],
      );
      await admin.query(
        `INSERT INTO mapping.mapping_version (mapping_id, version, org_id, spec, author_kind, author_id, summary) VALUES ($1, 1, $2, '{}', 'user', gen_random_uuid(), 'Created')`,
        [map, org],
      );
      await admin.query(`INSERT INTO mapping.target_schema_ref (workspace_id, org_id, version, document, table_ids) VALUES ($1, $2, 1, '{}', '{}')`, [ws, org]);
      await admin.query(
        `INSERT INTO mapping.source_snapshot_ref (org_id, connection_id, version, workspace_id, snapshot_id, parts, received_parts, complete, created_at) VALUES ($1, $2, 1, $3, $4, 1, '{1}', true, now())`,
        [org, conn, ws, org === orgA ? ids.mapSnapRefA : ids.mapSnapRefB],
      );
      await admin.query(
        `INSERT INTO mapping.source_table_ref (org_id, connection_id, version, schema_name, table_name, columns, primary_key) VALUES ($1, $2, 1, 'public', $3, '[]', '{id}')`,
        [org, conn, org === orgA ? 'rls_A' : 'rls_B'],
      );
      await admin.query(`INSERT INTO mapping.drift_notice (mapping_id, snapshot_id, org_id, fields) VALUES ($1, $2, $3, '{}')`, [
        map,
        org === orgA ? ids.mapSnapRefA : ids.mapSnapRefB,
        org,
      ]);
      await admin.query(
        `INSERT INTO mapping.dbt_project (workspace_id, version, org_id, digest, file_count, models) VALUES ($1, 1, $2, repeat('a', 64), 1, '{m}')`,
        [ws, org],
      );
      await admin.query(`INSERT INTO mapping.canonical_type_ref (org_id, name, base_type, patterns, created_at) VALUES ($1, $2, 'email', '{}', now())`, [
        org,
        org === orgA ? 'rls_type_a' : 'rls_type_b',
      ]);
      await admin.query(
        `INSERT INTO monitoring.run (id, org_id, workspace_id, job_id, kind, subject_id, state, attempts, created_at) VALUES ($1, $2, $3, $1, 'connection.test', $4, 'QUEUED', 0, now())`,
        [run, org, ws, conn],
      );
      await admin.query(
        `INSERT INTO monitoring.run_step (run_id, seq, name, status, message, duration_ms, attempt, at) VALUES ($1, 0, 'connect', 'SUCCESS', 'ok', 3, 1, now())`,
        [run],
      );
      await admin.query(
        `INSERT INTO monitoring.audit_log (id, org_id, occurred_at, actor_type, action, outcome) VALUES ($1, $2, now(), 'system', 'auth.login.succeeded', 'success')`,
        [audit, org],
      );
      const [discRun, snap, srcTable, srcCol, meta] =
        org === orgA ? [ids.discRunA, ids.snapA, ids.srcTableA, ids.srcColA, ids.metaA] : [ids.discRunB, ids.snapB, ids.srcTableB, ids.srcColB, ids.metaB];
      await admin.query(
        `INSERT INTO schema.discovery_staging (org_id, run_id, workspace_id, connection_id, table_name, body) VALUES ($1, $2, $3, $4, 'public.t', '{}')`,
        [org, discRun, ws, conn],
      );
      await admin.query(
        `INSERT INTO schema.source_snapshot (id, org_id, workspace_id, connection_id, version, run_id, table_count, diff) VALUES ($1, $2, $3, $4, 1, gen_random_uuid(), 1, '{}')`,
        [snap, org, ws, conn],
      );
      await admin.query(
        `INSERT INTO schema.source_table (id, org_id, snapshot_id, schema_name, table_name, kind) VALUES ($1, $2, $3, 'public', 't', 'TABLE')`,
        [srcTable, org, snap],
      );
      await admin.query(`INSERT INTO schema.source_column (id, org_id, table_id, name, type, nullable, ordinal) VALUES ($1, $2, $3, 'c', 'text', true, 1)`, [
        srcCol,
        org,
        srcTable,
      ]);
      await admin.query(
        `INSERT INTO schema.table_metadata (id, org_id, workspace_id, connection_id, table_name, description, status, updated_by) VALUES ($1, $2, $3, $4, 'public.t', 'd', 'DRAFT', 'planted')`,
        [meta, org, ws, conn],
      );
      await admin.query(
        `INSERT INTO schema.custom_canonical_type (id, org_id, name, label, category, parent_id, created_by) VALUES ($1, $2, 'work_email', 'Work email', 'contact', $3, 'planted')`,
        [org === orgA ? ids.customTypeA : ids.customTypeB, org, EMAIL_TYPE_ID],
      );
      const [targetTable, targetRel, targetVersion, schemaPromo] =
        org === orgA
          ? [ids.targetTableA, ids.targetRelA, ids.targetVersionA, ids.schemaPromoA]
          : [ids.targetTableB, ids.targetRelB, ids.targetVersionB, ids.schemaPromoB];
      await admin.query(`INSERT INTO schema.workspace_ref (workspace_id, org_id) VALUES ($1, $2)`, [ws, org]);
      await admin.query(`INSERT INTO schema.target_table (id, org_id, workspace_id, name, position) VALUES ($1, $2, $3, 'customers', 1)`, [
        targetTable,
        org,
        ws,
      ]);
      await admin.query(`INSERT INTO schema.target_column (org_id, table_id, position, name, data_type, nullable) VALUES ($1, $2, 1, 'id', 'text', false)`, [
        org,
        targetTable,
      ]);
      await admin.query(
        `INSERT INTO schema.target_relationship (id, org_id, workspace_id, name, position, from_table_id, from_columns, to_table_id, to_columns) VALUES ($1, $2, $3, 'self_fkey', 1, $4, '{id}', $4, '{id}')`,
        [targetRel, org, ws, targetTable],
      );
      await admin.query(
        `INSERT INTO schema.target_schema_version (id, org_id, workspace_id, version, document, table_ids, summary, actor_kind) VALUES ($1, $2, $3, 1, '{}', '{}', 'planted', 'system')`,
        [targetVersion, org, ws],
      );
      await admin.query(`INSERT INTO schema.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id) VALUES ($1, $2, $3, $3)`, [
        schemaPromo,
        org,
        ws,
      ]);
    }
  });

  afterAll(async () => {
    await app?.destroy();
    await admin?.destroy();
    await db?.drop();
  });

  /** Runs `sql` as the runtime role, in a transaction for `orgId` (null: no tenant set). */
  const asRuntime = (orgId: string | null, sql: string, params: unknown[] = []) =>
    orgId ? withTenant(app, orgId, (em) => em.query(sql, params)) : app.transaction((em) => em.query(sql, params));

  it('connects as the runtime role, which bypasses nothing', async () => {
    expect(await app.query(`SELECT current_user AS u, r.rolsuper AS su, r.rolbypassrls AS bypass FROM pg_roles r WHERE r.rolname = current_user`)).toEqual([
      { u: role, su: false, bypass: false },
    ]);
  });

  describe.each(TENANT_TABLES)('$table: row-level security proven', (t) => {
    it('a query without any tenant filter, inside a transaction for org B, returns none of org A’s rows', async () => {
      const rows: Array<Record<string, string>> = await asRuntime(orgB, `SELECT * FROM ${t.table}`);
      const keys = rows.map((r) => r[t.key]);
      expect(keys).toEqual(expect.arrayContaining(t.rowsOf('B')));
      expect(keys.filter((k) => t.rowsOf('A').includes(k))).toEqual([]);
      // ...while the rows are there, and org A sees its own.
      expect((await admin.query(`SELECT ${t.key} AS k FROM ${t.table} WHERE ${t.key} = ANY($1)`, [t.rowsOf('A')])).length).toBeGreaterThan(0);
      const ofA: Array<Record<string, string>> = await asRuntime(orgA, `SELECT * FROM ${t.table}`);
      expect(ofA.map((r) => r[t.key])).toEqual(expect.arrayContaining(t.rowsOf('A')));
      expect(ofA.map((r) => r[t.key]).filter((k) => t.rowsOf('B').includes(k))).toEqual([]);
    });

    it('with no tenant set, returns nothing (also outside a transaction, and with an empty setting)', async () => {
      expect(await asRuntime(null, `SELECT count(*)::int AS n FROM ${t.table}`)).toEqual([{ n: 0 }]);
      expect(await app.query(`SELECT count(*)::int AS n FROM ${t.table}`)).toEqual([{ n: 0 }]);
      const empty = await app.transaction(async (em) => {
        await em.query(`SELECT set_config('app.current_org_id', '', true)`);
        return em.query(`SELECT count(*)::int AS n FROM ${t.table}`);
      });
      expect(empty).toEqual([{ n: 0 }]);
    });

    it('refuses to insert a row of org A while the tenant is org B', async () => {
      await expect(asRuntime(orgB, t.insertForA.sql, t.insertForA.params)).rejects.toThrow(/row-level security/);
      await expect(asRuntime(null, t.insertForA.sql, t.insertForA.params)).rejects.toThrow(/row-level security/);
    });

    it('can neither change nor delete org A’s rows as org B', async () => {
      const before = await admin.query(`SELECT * FROM ${t.table} WHERE ${t.key} = ANY($1) ORDER BY 1`, [t.rowsOf('A')]);
      const hit = `${t.key} = ANY($1)`;
      const setSomething =
        t.set ??
        (t.table === 'monitoring.run_step'
          ? `message = 'x'`
          : t.table === 'monitoring.run'
            ? `summary = 'x'`
            : t.table === 'monitoring.audit_log'
              ? `action = 'auth.x'`
              : t.table === 'mapping.workspace_ref'
                ? `created_at = now()`
                : `name = 'x'`);
      const n = [{ n: 0 }];
      expect(
        await asRuntime(orgB, `WITH x AS (UPDATE ${t.table} SET ${setSomething} WHERE ${hit} RETURNING 1) SELECT count(*)::int AS n FROM x`, [t.rowsOf('A')]),
      ).toEqual(n);
      expect(await asRuntime(orgB, `WITH x AS (DELETE FROM ${t.table} WHERE ${hit} RETURNING 1) SELECT count(*)::int AS n FROM x`, [t.rowsOf('A')])).toEqual(n);
      expect(await admin.query(`SELECT * FROM ${t.table} WHERE ${t.key} = ANY($1) ORDER BY 1`, [t.rowsOf('A')])).toEqual(before);
    });
  });

  it('refuses to move a row of org B into org A', async () => {
    for (const table of [
      'auth.user',
      'auth.session',
      'auth.api_key',
      'auth.invitation',
      'workspace.workspace',
      'workspace.connection',
      'workspace.pipeline',
      'workspace.pipeline_run',
      'workspace.quota',
      'workspace.active_run',
      'workspace.canonical_type_ref',
      'mapping.mapping',
      'mapping.workspace_ref',
      'mapping.mapping_version',
      'mapping.source_snapshot_ref',
      'mapping.dbt_project',
      'monitoring.run',
      'schema.source_snapshot',
      'schema.table_metadata',
      'schema.custom_canonical_type',
      'schema.target_table',
      'schema.target_schema_version',
    ]) {
      await expect(asRuntime(orgB, `UPDATE ${table} SET org_id = $1 WHERE org_id = $2`, [orgA, orgB])).rejects.toThrow(/row-level security/);
    }
  });

  it('ends the tenant with its transaction: the pooled connection carries no org into the next query', async () => {
    expect(await asRuntime(orgB, `SELECT count(*)::int AS n FROM workspace.workspace`)).toEqual([{ n: 1 }]);
    expect(await app.query(`SELECT current_setting('app.current_org_id', true) AS s, (SELECT count(*)::int FROM workspace.workspace) AS n`)).toEqual([
      { s: '', n: 0 },
    ]);
  });

  it('the service code path (a DAO over the runtime role) sees its org only', async () => {
    const ws = await workspaceDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 1).initialize();
    try {
      const { WorkspaceDao } = await import('../services/workspace/src/daos/workspace.dao');
      const dao = new WorkspaceDao(ws);
      // The DAO filters by org itself; ask for A's id under B's org to see the wall, not the filter.
      expect((await dao.findByIds(orgB, [ids.wsB, ids.wsA])).map((w) => w.id)).toEqual([ids.wsB]);
      const sneaky = await withTenant(ws, orgB, (em) => em.getRepository('Workspace').find());
      expect(sneaky.map((w) => (w as { id: string }).id)).toEqual([ids.wsB]);
    } finally {
      await ws.destroy();
    }
  });

  it('every table of auth, workspace, schema, mapping and monitoring is either tenant-isolated (ENABLE + FORCE + a policy) or a known global table', async () => {
    const tables: Array<{ name: string; on: boolean; forced: boolean; policies: number }> = await admin.query(
      `SELECT n.nspname || '.' || c.relname AS name, c.relrowsecurity AS on, c.relforcerowsecurity AS forced,
              (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) ORDER BY 1`,
      [[...SCHEMAS]],
    );
    const isolated = tables.filter((t) => t.on && t.forced && t.policies > 0).map((t) => t.name);
    const open = tables.filter((t) => !isolated.includes(t.name)).map((t) => t.name);
    expect(isolated.sort()).toEqual(TENANT_TABLES.map((t) => t.table).sort());
    expect(open.sort()).toEqual([...GLOBAL_TABLES].sort());
  });

  it('before sign-in, the runtime role can learn which org owns a key (auth.tenant_of) and nothing else', async () => {
    const [{ key_hash: keyHash }] = await admin.query(`SELECT key_hash FROM auth.api_key WHERE id = $1`, [authIds.A.key]);
    const [{ token_hash: refreshHash }] = await admin.query(`SELECT token_hash FROM auth.refresh_token WHERE id = $1`, [authIds.B.refresh]);
    const [{ h: invitationHash }] = await admin.query(`SELECT encode(token_hash, 'hex') AS h FROM auth.invitation WHERE id = $1`, [authIds.A.invitation]);
    const tenantOf = async (kind: string, key: string) => (await app.query(`SELECT auth.tenant_of($1, $2) AS org`, [kind, key]))[0].org;
    expect(await tenantOf('api_key', keyHash)).toBe(orgA);
    expect(await tenantOf('refresh_token', refreshHash)).toBe(orgB);
    expect(await tenantOf('invitation', invitationHash)).toBe(orgA);
    expect(await tenantOf('login_email', `RLS-${authIds.B.user}@example.test`)).toBe(orgB);
    expect(await tenantOf('session', authIds.A.session)).toBe(orgA);
    expect(await tenantOf('api_key', 'unknown')).toBeNull();
    expect(await tenantOf('session', 'not-a-uuid')).toBeNull();
    await expect(tenantOf('user_by_id', authIds.A.user)).rejects.toThrow(/unknown kind/);
    expect((await app.query(`SELECT auth.identifier_taken('email', $1) AS t`, [`rls-${authIds.A.user}@example.test`]))[0].t).toBe(true);
    expect((await app.query(`SELECT auth.identifier_taken('email', 'nobody@example.test') AS t`))[0].t).toBe(false);
    // The lookup policy belongs to the owner: the runtime role itself still sees no row without a tenant.
    expect(await app.query(`SELECT count(*)::int AS n FROM auth.api_key WHERE key_hash = $1`, [keyHash])).toEqual([{ n: 0 }]);
  });

  describe('the runtime role', () => {
    it('owns no table, sequence, view or schema', async () => {
      expect(await admin.query(`SELECT schemaname, tablename FROM pg_tables WHERE tableowner = $1`, [role])).toEqual([]);
      expect(await admin.query(`SELECT relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [role])).toEqual([]);
      expect(await admin.query(`SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [role])).toEqual([]);
    });

    it('cannot ALTER, DROP, TRUNCATE or create tables', async () => {
      for (const sql of [
        `ALTER TABLE workspace.connection DISABLE ROW LEVEL SECURITY`,
        `ALTER TABLE mapping.mapping NO FORCE ROW LEVEL SECURITY`,
        `DROP POLICY run_tenant_isolation ON monitoring.run`,
        `DROP TABLE workspace.workspace`,
        `DROP TABLE monitoring.run_step`,
      ]) {
        await expect(app.query(sql)).rejects.toThrow(/must be owner/);
      }
      await expect(app.query(`TRUNCATE mapping.mapping`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`CREATE TABLE workspace.planted (id int)`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`CREATE TABLE public.planted (id int)`)).rejects.toThrow(/permission denied/);
    });

    it('reads but cannot write the migration history and the global canonical types', async () => {
      for (const s of SCHEMAS) expect((await app.query(`SELECT count(*)::int AS n FROM "${s}".migrations`))[0].n).toBeGreaterThan(0);
      expect((await app.query(`SELECT count(*)::int AS n FROM schema.canonical_type`))[0].n).toBeGreaterThan(0);
      await expect(app.query(`DELETE FROM workspace.migrations`)).rejects.toThrow(/permission denied/);
      await expect(app.query(`UPDATE schema.canonical_type SET name = name`)).rejects.toThrow(/permission denied/);
    });

    it('gets its grants on every service schema, auth included, from the migration runner', async () => {
      const rows: Array<{ schema: string; usage: boolean; tables: number; readable: number }> = await admin.query(
        `SELECT n.nspname AS schema, has_schema_privilege($1, n.oid, 'USAGE') AS usage,
                (SELECT count(*)::int FROM pg_tables t WHERE t.schemaname = n.nspname) AS tables,
                (SELECT count(*)::int FROM pg_tables t WHERE t.schemaname = n.nspname AND has_table_privilege($1, format('%I.%I', t.schemaname, t.tablename), 'SELECT')) AS readable
           FROM pg_namespace n WHERE n.nspname = ANY($2) ORDER BY 1`,
        [role, ['auth', ...SCHEMAS]],
      );
      expect(rows.map((r) => r.schema)).toEqual(['auth', 'mapping', 'monitoring', 'schema', 'workspace']);
      for (const r of rows) expect([r.schema, r.usage, r.readable]).toEqual([r.schema, true, r.tables]);
    });

    it('is refused by the migration runner when it would bypass row-level security', async () => {
      const [{ superuser }] = await admin.query(`SELECT current_user AS superuser`);
      await expect(runMigrations(workspaceDataSource(db.url, 2), { runtimeRole: superuser })).rejects.toThrow(/superuser or has BYPASSRLS/);
    });
  });
});
