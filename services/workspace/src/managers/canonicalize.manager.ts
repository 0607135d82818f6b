import { randomUUID } from 'node:crypto';
import { lockLiveWorkspaceForRun } from '../daos/workspace.dao';
import type { DataSource, EntityManager } from 'typeorm';
import { UnauthenticatedError, isUuid } from '@datalinx/common';
import { actorIdOf, hasWorkspacePermission, type Viewer } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { canonicalizeColumnJobV1, canonicalTypeByName, type CanonicalizeColumnJobV1, type CanonicalizeColumnPayloadV1 } from '@datalinx/contracts';
import type { CanonicalTypeRefDao } from '../daos/canonical-type-ref.dao';
import type { ConnectionDao } from '../daos/connection.dao';
import type { WarehouseDao } from '../daos/warehouse.dao';
import type { JobDispatchSettings } from '../jobs/job-dispatch-settings';
import { enqueueJob } from '../jobs/enqueue-job';
import type { QuotaPolicy } from './quota.manager';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';
import { isUserError, lockDestinationConnectionFirst, lockWarehouseDestination } from './warehouse-destination';

/** The warehouse statement_timeout of a canonicalize run (one UPDATE over the whole table). */
export const CANONICALIZE_STATEMENT_TIMEOUT_MS = 600_000;
/** The job contract's limit on a custom type's pattern. */
const MAX_JOB_PATTERN = 2000;
/** A plain warehouse identifier, as the job contract takes it (the worker checks it again and quotes it). */
const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const TYPE_NAME = /^[a-z][a-z0-9_]{0,62}$/;

const NOT_FOUND = userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace, or you cannot run jobs in it.');

export interface CanonicalizeColumnInput {
  workspaceId: string;
  table: string;
  column: string;
  canonicalType: string;
}

export interface CanonicalizeColumnResult {
  runId: string | null;
  errors: UserError[];
}

/** What the job says about the type: a built-in, or a custom type as its built-in plus one pattern. */
type ResolvedType = Pick<CanonicalizeColumnPayloadV1, 'type' | 'custom'>;

/** Table and column: plain identifiers of the warehouse schema; `_dlx_*` names are the platform's own (quarantine, lineage columns). */
function identifierErrors(input: Pick<CanonicalizeColumnInput, 'table' | 'column'>): UserError[] {
  const errors: UserError[] = [];
  for (const field of ['table', 'column'] as const) {
    const v = input[field];
    const what = field === 'table' ? 'A table of the workspace’s warehouse schema' : 'A column';
    if (!PLAIN_IDENTIFIER.test(v)) {
      errors.push(
        userError(
          'INVALID_IDENTIFIER',
          field,
          `${what}: a letter or _, then letters, digits or _, at most 63 characters, exactly as in the warehouse (case matters); e.g. raw_public__customer.`,
        ),
      );
    } else if (v.toLowerCase().startsWith('_dlx_')) {
      errors.push(userError('RESERVED_IDENTIFIER', field, `${what} named _dlx_… belongs to the platform (run ids, quarantine) and cannot be canonicalized.`));
    }
  }
  return errors;
}

/**
 * The `custom.pattern` of the job for a chain of patterns (root first): a value must match every
 * one of them. One pattern is passed as it is; several become one anchored-lookahead conjunction
 * `(?=p1)(?=p2)…`, which both engines of the common subset accept (ECMAScript in the worker's
 * check, PostgreSQL ARE in its normalizer). Null: no pattern, the built-in alone decides.
 */
export function jobPatternOf(patterns: readonly string[]): string | null {
  if (!patterns.length) return null;
  if (patterns.length === 1) return patterns[0]!;
  return patterns.map((p) => `(?=${p})`).join('');
}

/**
 * `canonicalizeColumn`: queues a `column.canonicalize` run that rewrites one column of a table in
 * the workspace's warehouse schema (platform, or its EXTERNAL destination) to a canonical type's normal form; values the type
 * rejects stay and are copied to `<schema>._dlx_quarantine` (workers/src/jobs/canonicalize.ts).
 *
 * Needs pipelines:run in the workspace (shield checks it on the argument; re-checked here, and
 * the org always comes from the viewer: another org's workspace is WORKSPACE_NOT_FOUND). The
 * type's name resolves to a built-in of @datalinx/contracts, else to a custom type of the
 * viewer's org from the replica `workspace.canonical_type_ref` (the schema service owns custom
 * types; this service never reads its tables): the job then carries the built-in at the root of
 * the custom type's chain as `type` and its pattern(s) as `custom`. One tenant transaction: the
 * workspace row locked and not archived, the type resolved, the warehouse READY
 * (`lockWarehouseDestination`; EXTERNAL: the destination connection locked, its secrets sealed
 * for the job with AAD `job:<jobId>`), the run admitted through the quotas (it writes data:
 * storage-checked in the platform warehouse only; QUOTA_EXCEEDED rolls it back), then the job and
 * its QUEUED run event go to the outbox. Whether the table and column
 * exist is the worker's to find out (it reads the warehouse as the workspace role): a missing one
 * fails the run with COLUMN_NOT_FOUND.
 */
export class CanonicalizeManager {
  constructor(
    private readonly ds: DataSource,
    private readonly types: CanonicalTypeRefDao,
    private readonly warehouses: WarehouseDao,
    private readonly workspaces: WorkspaceManager,
    private readonly onCommit: () => void,
    private readonly quotas: QuotaPolicy,
    /** An EXTERNAL warehouse's destination connection, and the data-plane key its secrets are re-sealed with. */
    private readonly connections: ConnectionDao,
    private readonly settings: JobDispatchSettings,
  ) {}

  async canonicalize(viewer: Viewer, input: CanonicalizeColumnInput): Promise<CanonicalizeColumnResult> {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    const orgId = viewer.orgId;
    if (!isUuid(input.workspaceId) || !hasWorkspacePermission(viewer, input.workspaceId, 'workspace:read')) return { runId: null, errors: [NOT_FOUND] };
    if (!hasWorkspacePermission(viewer, input.workspaceId, 'pipelines:run')) {
      return {
        runId: null,
        errors: [
          userError('FORBIDDEN', 'workspaceId', 'You can see this workspace but not run jobs in it (needs pipelines:run); ask an editor of the workspace.'),
        ],
      };
    }
    // Input checks first, nothing read: a bad name changes nothing.
    const input0 = { table: input.table.trim(), column: input.column.trim() };
    const errors = identifierErrors(input0);
    if (errors.length) return { runId: null, errors };
    const typeName = input.canonicalType.trim().toLowerCase();
    const result = await withTenant(this.ds, orgId, async (em): Promise<CanonicalizeColumnResult> => {
      const destinationDeps = { warehouses: this.warehouses, connections: this.connections, settings: this.settings };
      await lockDestinationConnectionFirst(em, destinationDeps, orgId, input.workspaceId);
      // Locked like QuotaPolicy.admitRun does: an archive cannot slip in before this run commits.
      const ws = await lockLiveWorkspaceForRun(em, orgId, input.workspaceId);
      if (!ws) return { runId: null, errors: [NOT_FOUND] };
      if (ws.archivedAt) return { runId: null, errors: [this.workspaces.archivedError('workspaceId')] };
      const type = await this.resolveType(em, orgId, typeName);
      if ('code' in type) return { runId: null, errors: [type] };
      const warehouse = await lockWarehouseDestination(em, destinationDeps, orgId, input.workspaceId, 'workspaceId');
      if (isUserError(warehouse)) return { runId: null, errors: [warehouse] };
      const runId = randomUUID();
      const jobId = randomUUID();
      const { limits } = await this.quotas.admitRun(em, orgId, {
        runId,
        workspaceId: input.workspaceId,
        kind: 'column.canonicalize',
        writesData: true,
        externalWarehouse: warehouse.mode === 'EXTERNAL',
      });
      // An external warehouse's secrets are sealed for this job only (AAD job:<jobId>).
      const destination = warehouse.mode === 'PLATFORM' ? warehouse.destination : await warehouse.seal(`job:${jobId}`);
      // Parsed with the contract the worker applies: a job that would be refused never leaves.
      const job: CanonicalizeColumnJobV1 = canonicalizeColumnJobV1.parse({
        v: 1,
        kind: 'column.canonicalize',
        jobId,
        runId,
        orgId,
        workspaceId: input.workspaceId,
        requestedAt: new Date().toISOString(),
        requestedBy: actorIdOf(viewer),
        limits,
        payload: {
          destination,
          table: input0.table,
          column: input0.column,
          ...type,
          statementTimeoutMs: CANONICALIZE_STATEMENT_TIMEOUT_MS,
        },
      });
      await enqueueJob(em, job, `${input0.table}.${input0.column}`, `${input0.table}.${input0.column} as ${typeName}`);
      return { runId, errors: [] };
    });
    if (result.runId) this.onCommit();
    return result;
  }

  /** A built-in by name, else the org's custom type from the replica; otherwise the typed error. */
  private async resolveType(em: EntityManager, orgId: string, name: string): Promise<ResolvedType | UserError> {
    const notFound = userError(
      'CANONICAL_TYPE_NOT_FOUND',
      'canonicalType',
      `No canonical type "${name}" in your organization: check the names in \`canonicalTypes\`. A custom type created a moment ago may take a few seconds to be usable here; try again shortly.`,
    );
    if (!TYPE_NAME.test(name)) return notFound;
    if (canonicalTypeByName(name)) return { type: name };
    const ref = await this.types.find(em, orgId, name);
    if (!ref || !canonicalTypeByName(ref.baseType)) return notFound;
    const pattern = jobPatternOf(ref.patterns);
    // No pattern anywhere in the chain: the custom type only renames its built-in.
    if (pattern === null) return { type: ref.baseType };
    if (pattern.length > MAX_JOB_PATTERN) {
      return userError(
        'CANONICAL_TYPE_UNSUPPORTED',
        'canonicalType',
        `"${name}" narrows its built-in with patterns too long for one run (over ${MAX_JOB_PATTERN} characters together); canonicalize with a type of a shorter chain.`,
      );
    }
    return { type: ref.baseType, custom: { name: ref.name, pattern } };
  }
}
