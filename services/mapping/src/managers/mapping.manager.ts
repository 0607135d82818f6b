import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { ForbiddenError, UnauthenticatedError, type Logger, isUuid } from '@datalinx/common';
import { byIdLoader, hasWorkspacePermission, type AuthenticatedViewer, type Viewer, perViewer } from '@datalinx/graphql-kit';
import {
  destinationTableName,
  platformWarehouseNames,
  PREVIEW_MAX_LIMIT,
  stagingModelName,
  type PreviewReplyV1,
  type PreviewRequestV1,
  type TargetTable,
} from '@datalinx/contracts';
import { quoteIdent } from '@datalinx/sql';
import type { Author, DriftNoticeRow, MappingDao, MappingVersionRow } from '../daos/mapping.dao';
import type { CatalogDao, CatalogSnapshot, TargetSchemaRef } from '../daos/catalog.dao';
import type { Mapping } from '../entities/mapping.entity';
import { MAPPING_CREATED_V1 } from '../events';
import { decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { analyzeMapping, resolveRefs, type MappingAnalysis } from '../compile/analyze';
import { activeDrift, targetTableFor } from '../compile/workspace-project';
import { canonicalResolver, type CanonicalResolver } from '../compile/canonical';
import { suggestJoins, type SuggestedJoin } from '../compile/suggest-joins';
import { diffSpecs, type MappingDiff } from '../compile/diff';
import { canonicalSpec, EMPTY_SPEC, mappingSource, mappingSpec, type FieldMapping, type MappingSpec } from '../spec';
import { userError } from '../errors';

export const NAME_MAX_LENGTH = 100;
const TARGET_TABLE = /^[a-z_][a-z0-9_]{0,62}$/;
export const SUMMARY_MAX_LENGTH = 500;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** An expected failure of a mutation, returned in its payload (never thrown). */
export type { MappingUserError as UserError } from '../errors';
import type { MappingUserError as UserError } from '../errors';

export interface CreateMappingInput {
  workspaceId: string;
  /** The TargetTable to fill (preferred). */
  targetTableId?: string | null;
  /** A target table by name, for a table the target schema does not name yet. */
  targetTable?: string | null;
  name?: string | null;
}

export interface UpdateMappingInput {
  id: string;
  expectedVersion: number;
  spec: unknown;
  summary?: string | null;
}

export interface MappingManagerOptions {
  log: Logger;
  /** Runs a preview in the workspace's warehouse (a worker, over NATS: `requestPreview`); without it, previews answer PREVIEW_UNAVAILABLE. */
  preview?: (request: PreviewRequestV1) => Promise<PreviewReplyV1>;
  /** Statement timeout of a preview (default 10 s). */
  previewTimeoutMs?: number;
  /** Called after a write changed what a workspace's mappings compile to (the dbt project publisher's `schedule`). */
  workspaceChanged?: (orgId: string, workspaceId: string) => void;
  /** Called after a commit that wrote outbox rows (lets the relay publish at once). */
  afterCommit?: () => void;
}

type Payload = { mapping: Mapping | null; errors: UserError[] };

export interface MappingPreview {
  columns: Array<{ name: string; type: string; state: string }>;
  rows: Array<Array<string | null>>;
  fieldErrors: Array<{ column: string; code: string; message: string; row: number | null }>;
  error: { code: string; message: string } | null;
  ms: number | null;
}

/** The workspace facts a mapping compiles against. */
interface WorkspaceFacts {
  target: TargetSchemaRef | null;
  catalog: CatalogSnapshot[];
  /** The org's canonical types (built-ins and its own). */
  canonical: CanonicalResolver;
}

/**
 * Mappings as the viewer may see them. Shield checked the permission named by the arguments;
 * this class re-checks everything against the object itself, because `mapping(id)` and
 * `__resolveReference` carry no workspace argument: a mapping is visible only when it belongs
 * to the viewer's org AND the viewer has mappings:read in its workspace — otherwise it is null
 * (not found = not yours). A viewer who can read a mapping but not write it gets a payload
 * FORBIDDEN. Writes validate the whole input (the spec's structure against the workspace's
 * target schema and source catalog, replicated from the schema service's events), then write
 * the row, its version and its event in one transaction; an update names the version it was
 * made from, and a newer one makes it a VERSION_CONFLICT. Lookups by id are batched per request,
 * and the analysis (states, SQL, lineage) is computed once per mapping and request.
 */
export class MappingManager {
  private readonly byId: (viewer: Viewer) => DataLoader<string, Mapping | null>;
  private readonly facts: (viewer: Viewer) => DataLoader<string, WorkspaceFacts>;
  private readonly analyses: (viewer: Viewer) => Map<string, Promise<MappingAnalysis>>;
  private readonly drift: (viewer: Viewer) => DataLoader<string, DriftNoticeRow[]>;
  private readonly versionLoader: (viewer: Viewer) => DataLoader<string, MappingVersionRow[]>;
  private readonly byTarget: (viewer: Viewer) => DataLoader<string, Mapping | null>;

  constructor(
    private readonly mappings: MappingDao,
    private readonly catalogs: CatalogDao,
    private readonly opts: MappingManagerOptions,
  ) {
    this.byId = perViewer((viewer) =>
      byIdLoader((ids) => {
        const orgId = this.orgIdOrNull(viewer);
        const valid = ids.filter((id) => isUuid(id));
        return orgId && valid.length ? this.mappings.findByIds(orgId, valid) : Promise.resolve([]);
      }),
    );
    this.byTarget = perViewer(
      (viewer) =>
        new DataLoader<string, Mapping | null>(async (ids) => {
          const orgId = this.orgIdOrNull(viewer);
          const valid = ids.filter((id) => isUuid(id));
          const rows = orgId && valid.length ? await this.mappings.findByTargetTableIds(orgId, valid) : [];
          return ids.map((id) => rows.find((m) => m.targetTableId === id) ?? null);
        }),
    );
    this.facts = perViewer(
      (viewer) =>
        new DataLoader<string, WorkspaceFacts>(async (workspaceIds) => {
          const orgId = this.orgIdOrNull(viewer)!;
          const [targets, custom] = await Promise.all([
            this.catalogs.targetSchemas(this.dsOf(), orgId, workspaceIds),
            this.catalogs.customCanonicalTypes(this.dsOf(), orgId),
          ]);
          const canonical = canonicalResolver(custom);
          return Promise.all(
            workspaceIds.map(async (ws) => ({
              target: targets.get(ws) ?? null,
              catalog: await this.catalogs.sourceCatalog(this.dsOf(), orgId, ws),
              canonical,
            })),
          );
        }),
    );
    this.drift = perViewer(
      (viewer) =>
        new DataLoader<string, DriftNoticeRow[]>(async (ids) => {
          const notices = await this.mappings.driftNoticesOf(this.dsOf(), this.orgIdOrNull(viewer)!, ids);
          return ids.map((id) => notices.filter((n) => n.mappingId === id));
        }),
    );
    this.versionLoader = perViewer(
      (viewer) =>
        new DataLoader<string, MappingVersionRow[]>(async (ids) => {
          const rows = await this.mappings.versionsOf(this.orgIdOrNull(viewer)!, ids);
          return ids.map((id) => rows.filter((r) => r.mappingId === id));
        }),
    );
    const memo = new WeakMap<Viewer, Map<string, Promise<MappingAnalysis>>>();
    this.analyses = (viewer) => {
      let m = memo.get(viewer);
      if (!m) memo.set(viewer, (m = new Map()));
      return m;
    };
  }

  private dsOf() {
    return this.mappings.dataSource;
  }

  /** The service's data source (for the workspace-wide reads of the dbt project). */
  get dataSource() {
    return this.mappings.dataSource;
  }

  private orgIdOrNull(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  private requireViewer(viewer: Viewer): asserts viewer is AuthenticatedViewer {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
  }

  private canRead(viewer: Viewer, m: Mapping): boolean {
    return m.orgId === this.orgIdOrNull(viewer) && hasWorkspacePermission(viewer, m.workspaceId, 'mappings:read');
  }

  private author(viewer: AuthenticatedViewer): Author & { kind: 'user' | 'service-account'; id: string } {
    return viewer.kind === 'user' ? { kind: 'user', id: viewer.userId } : { kind: 'service-account', id: viewer.serviceAccountId };
  }

  /** The mapping when the viewer may read it; null otherwise (not found = not yours). */
  async mapping(viewer: Viewer, id: string): Promise<Mapping | null> {
    if (!this.orgIdOrNull(viewer)) return null;
    const m = await this.byId(viewer).load(id);
    return m && this.canRead(viewer, m) ? m : null;
  }

  /** The mapping of a target table, when the viewer may read it. */
  async byTargetTable(viewer: Viewer, targetTableId: string): Promise<Mapping | null> {
    if (!this.orgIdOrNull(viewer)) return null;
    const m = await this.byTarget(viewer).load(targetTableId);
    return m && this.canRead(viewer, m) ? m : null;
  }

  async list(viewer: Viewer, workspaceId: string, first: number | null | undefined, after: string | null | undefined) {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'mappings:read')) throw new ForbiddenError();
    const n = pageSize(first);
    // A malformed id names no workspace (the argument guard already makes it the nil UUID).
    if (!isUuid(workspaceId)) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await this.mappings.listByWorkspace(viewer.orgId, workspaceId, { first: n, after: decodeCursor(after) });
    const nodes = rows.slice(0, n);
    for (const m of nodes) this.byId(viewer).prime(m.id, m);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }

  /** The target table a mapping fills, from the workspace's replicated target schema (by id, else by name). */
  private targetOf(m: Mapping, facts: WorkspaceFacts): TargetTable | null {
    return targetTableFor(m, facts.target);
  }

  /** States, SQL and lineage of a mapping the viewer may read (computed once per request). */
  analysis(viewer: Viewer, m: Mapping): Promise<MappingAnalysis> {
    const cache = this.analyses(viewer);
    let p = cache.get(`${m.id}@${m.version}`);
    if (!p) {
      p = (async () => {
        const [facts, drift] = await Promise.all([this.facts(viewer).load(m.workspaceId), this.drift(viewer).load(m.id)]);
        return analyzeMapping(m.spec, this.targetOf(m, facts), facts.catalog, activeDrift(drift, m), facts.canonical);
      })();
      cache.set(`${m.id}@${m.version}`, p);
    }
    return p;
  }

  /**
   * The first `limit` rows the mapping produces, run by a worker in the workspace's platform
   * warehouse (the raw tables the syncs loaded stand in for the staging models, which select
   * them unchanged) as the workspace role. Never throws for the warehouse's reasons: the
   * preview's `error` says what happened and what to do.
   */
  async preview(viewer: Viewer, m: Mapping, limit: number | null | undefined): Promise<MappingPreview> {
    this.requireViewer(viewer);
    const analysis = await this.analysis(viewer, m);
    const states = new Map(analysis.fields.map((f) => [f.column, f.state]));
    const columns = analysis.fields.map((f) => ({ name: f.column, type: f.dataType, state: f.state }));
    const failed = (code: string, message: string): MappingPreview => ({ columns, rows: [], fieldErrors: [], error: { code, message }, ms: null });
    const n = limit ?? 50;
    if (!Number.isInteger(n) || n < 1 || n > PREVIEW_MAX_LIMIT)
      return failed('INVALID_REQUEST', `limit must be between 1 and ${PREVIEW_MAX_LIMIT}; it was ${n}.`);
    const run = analysis.runnable;
    if (!run) {
      const problems = [...analysis.structure.map((e) => e.message), ...analysis.ctes.filter((c) => !c.ok).map((c) => `CTE ${c.name}: ${c.problem}`)];
      return failed(
        'MAPPING_NOT_RUNNABLE',
        `The mapping's sources, joins or CTEs do not compile${problems.length ? `: ${problems.join('; ')}` : ''}. Fix them (each field and CTE shows its problem), then preview again.`,
      );
    }
    if (!this.opts.preview) return failed('PREVIEW_UNAVAILABLE', 'This mapping service has no connection to the workers, so it cannot compute previews.');
    const facts = await this.facts(viewer).load(m.workspaceId);
    const destination = platformWarehouseNames(m.workspaceId);
    const raw = new Map(
      facts.catalog.flatMap((c) =>
        c.tables.map((t) => [stagingModelName(t), `${quoteIdent(destination.schema)}.${quoteIdent(destinationTableName(t))}`] as const),
      ),
    );
    const resolve = (text: string) => resolveRefs(text, (model) => raw.get(model) ?? quoteIdent(model));
    const reply = await this.opts.preview({
      orgId: viewer.orgId,
      workspaceId: m.workspaceId,
      destination,
      with: run.with && resolve(run.with),
      from: resolve(run.from),
      fields: run.fields.map((f) => ({ column: f.column, sql: resolve(f.sql), type: f.type })),
      limit: n,
      statementTimeoutMs: this.opts.previewTimeoutMs ?? 10_000,
    });
    if (!reply.ok) return failed(reply.error.code, reply.error.message);
    return {
      columns: reply.columns.map((c) => ({ name: c.name, type: c.type, state: states.get(c.name) ?? 'UNMAPPED' })),
      rows: reply.rows,
      fieldErrors: reply.fieldErrors,
      error: null,
      ms: reply.ms,
    };
  }

  async suggestedJoins(viewer: Viewer, m: Mapping): Promise<SuggestedJoin[]> {
    const facts = await this.facts(viewer).load(m.workspaceId);
    return suggestJoins(m.spec, facts.catalog);
  }

  /** Join keys between sources not saved yet (a mapping being built); sources that are not valid are left out. */
  async suggestJoinsFor(viewer: Viewer, workspaceId: string, sources: ReadonlyArray<Record<string, unknown>>): Promise<SuggestedJoin[]> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'mappings:read')) throw new ForbiddenError();
    if (!isUuid(workspaceId)) return [];
    const valid = sources
      .map((s) => mappingSource.safeParse(Object.fromEntries(Object.entries(s).filter(([, v]) => v != null))))
      .flatMap((r) => (r.success ? [r.data] : []));
    const facts = await this.facts(viewer).load(workspaceId);
    return suggestJoins({ ...EMPTY_SPEC, sources: valid }, facts.catalog);
  }

  versions(viewer: Viewer, m: Mapping): Promise<MappingVersionRow[]> {
    return this.versionLoader(viewer).load(m.id);
  }

  /** Field-by-field differences between two versions; null when the mapping or a version is not there. */
  async diff(viewer: Viewer, id: string, from: number, to: number): Promise<MappingDiff | null> {
    const m = await this.mapping(viewer, id);
    if (!m) return null;
    const versions = await this.versionLoader(viewer).load(m.id);
    const a = versions.find((v) => v.version === from);
    const b = versions.find((v) => v.version === to);
    if (!a || !b) return null;
    const target = await this.targetTableOf(viewer, m);
    return diffSpecs(
      a.spec,
      b.spec,
      target?.columns.map((c) => c.name),
    );
  }

  /** Every mapping of a workspace the viewer may read, oldest first. */
  async allInWorkspace(viewer: Viewer, workspaceId: string): Promise<Mapping[]> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, workspaceId, 'mappings:read')) throw new ForbiddenError();
    if (!isUuid(workspaceId)) return [];
    return this.mappings.listAllByWorkspace(this.dsOf(), viewer.orgId, workspaceId);
  }

  /** The workspace's target table with this mapping's name resolution, for the dbt project. */
  async targetTableOf(viewer: Viewer, m: Mapping): Promise<TargetTable | null> {
    return this.targetOf(m, await this.facts(viewer).load(m.workspaceId));
  }

  async create(viewer: Viewer, input: CreateMappingInput): Promise<Payload> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, input.workspaceId, 'mappings:read')) throw new ForbiddenError();
    if (!hasWorkspacePermission(viewer, input.workspaceId, 'mappings:write'))
      return { mapping: null, errors: [userError('FORBIDDEN', 'workspaceId', 'You can read the mappings of this workspace but not change them.')] };
    const errors: UserError[] = [];
    const targetErrors: UserError[] = [];
    if (!isUuid(input.workspaceId)) errors.push(workspaceNotFound);
    let targetTable = input.targetTable?.trim() ?? '';
    let targetTableId: string | null = null;
    const doc = isUuid(input.workspaceId) ? await this.catalogs.targetSchema(this.dsOf(), viewer.orgId, input.workspaceId) : null;
    if (input.targetTableId != null) {
      const name = doc && Object.entries(doc.tableIds).find(([, id]) => id === input.targetTableId)?.[0];
      if (!name || !TARGET_TABLE.test(name))
        targetErrors.push(
          userError('TARGET_TABLE_NOT_FOUND', 'targetTableId', 'The workspace’s target schema has no such table. If it was added a moment ago, try again.'),
        );
      else {
        targetTable = name;
        targetTableId = input.targetTableId;
      }
    } else if (!TARGET_TABLE.test(targetTable)) {
      targetErrors.push(
        userError('TARGET_TABLE_INVALID', 'targetTable', 'Use a lower-case SQL identifier: a letter or _, then letters, digits or _, at most 63 characters.'),
      );
    } else targetTableId = doc?.tableIds[targetTable] ?? null;
    // Without a name, the mapping is called after its table.
    const name = input.name == null ? targetTable : input.name.trim();
    errors.push(...validateName(name), ...targetErrors);
    if (!errors.length && (await this.mappings.existsByName(viewer.orgId, input.workspaceId, name))) errors.push(nameTaken(name));
    if (errors.length) return { mapping: null, errors };

    const eventId = randomUUID();
    const actor = this.author(viewer);
    const result = await this.mappings.insertWithEvent(
      viewer.orgId,
      { workspaceId: input.workspaceId, name, targetTable, targetTableId, spec: EMPTY_SPEC },
      actor,
      (m) => ({
        id: eventId,
        subject: MAPPING_CREATED_V1,
        payload: {
          orgId: viewer.orgId,
          mappingId: m.id,
          workspaceId: m.workspaceId,
          name: m.name,
          targetTable: m.targetTable,
          targetTableId: m.targetTableId,
          version: m.version,
          actor,
        },
      }),
    );
    if (!result.ok) {
      const error =
        result.conflict === 'workspace'
          ? workspaceNotFound
          : result.conflict === 'target'
            ? userError('TARGET_TABLE_MAPPED', 'targetTableId', `The table ${targetTable} already has a mapping; change that one.`)
            : nameTaken(name);
      return { mapping: null, errors: [error] };
    }
    this.opts.log.info({ mappingId: result.mapping.id, workspaceId: result.mapping.workspaceId, eventId }, 'mapping created');
    this.opts.afterCommit?.();
    this.opts.workspaceChanged?.(result.mapping.orgId, result.mapping.workspaceId);
    this.byId(viewer).prime(result.mapping.id, result.mapping);
    return { mapping: result.mapping, errors: [] };
  }

  /** Loads a mapping for a write: MAPPING_NOT_FOUND when the viewer cannot see it, FORBIDDEN when they cannot change it. */
  private async writable(viewer: Viewer, id: string): Promise<{ ok: true; mapping: Mapping } | { ok: false; errors: UserError[] }> {
    this.requireViewer(viewer);
    const m = isUuid(id) ? await this.mapping(viewer, id) : null;
    if (!m) return { ok: false, errors: [userError('MAPPING_NOT_FOUND', 'id', 'There is no such mapping in your workspaces.')] };
    if (!hasWorkspacePermission(viewer, m.workspaceId, 'mappings:write'))
      return { ok: false, errors: [userError('FORBIDDEN', 'id', 'You can read this mapping but not change it.')] };
    return { ok: true, mapping: m };
  }

  /** Replaces the whole spec (a new version); structure problems and a stale expectedVersion write nothing. */
  async update(viewer: Viewer, input: UpdateMappingInput): Promise<Payload> {
    const w = await this.writable(viewer, input.id);
    if (!w.ok) return { mapping: null, errors: w.errors };
    return this.save(viewer as AuthenticatedViewer, w.mapping, input.expectedVersion, input.spec, input.summary ?? null, 'Updated the mapping');
  }

  /** Sets (or, with null, removes) one target column's definition: the rest of the spec as it is. */
  async setField(viewer: Viewer, input: { id: string; expectedVersion: number; targetColumn: string; mapping: FieldMapping | null }): Promise<Payload> {
    const w = await this.writable(viewer, input.id);
    if (!w.ok) return { mapping: null, errors: w.errors };
    const fields = { ...w.mapping.spec.fields };
    if (input.mapping) fields[input.targetColumn] = input.mapping;
    else delete fields[input.targetColumn];
    const spec = { ...w.mapping.spec, fields };
    const summary = input.mapping ? `Mapped ${input.targetColumn}` : `Unmapped ${input.targetColumn}`;
    return this.save(viewer as AuthenticatedViewer, w.mapping, input.expectedVersion, spec, summary, summary, (path) =>
      path.replace(/^fields\.[^.]+/, 'mapping'),
    );
  }

  /** A new version equal to an old one. */
  async revert(viewer: Viewer, input: { id: string; toVersion: number }): Promise<Payload> {
    const w = await this.writable(viewer, input.id);
    if (!w.ok) return { mapping: null, errors: w.errors };
    const old = await this.mappings.version((viewer as AuthenticatedViewer).orgId, w.mapping.id, input.toVersion);
    if (!old) return { mapping: null, errors: [userError('VERSION_NOT_FOUND', 'toVersion', `The mapping has no version ${input.toVersion}.`)] };
    const result = await this.mappings.updateSpec(
      w.mapping.orgId,
      w.mapping.id,
      w.mapping.version,
      old.spec,
      this.author(viewer as AuthenticatedViewer),
      `Reverted to version ${old.version}`,
    );
    return this.afterSave(viewer, result);
  }

  async delete(viewer: Viewer, id: string): Promise<{ deletedId: string | null; errors: UserError[] }> {
    const w = await this.writable(viewer, id);
    if (!w.ok) return { deletedId: null, errors: w.errors };
    const gone = await this.mappings.delete(w.mapping.orgId, w.mapping.id);
    if (gone) {
      this.opts.log.info({ mappingId: id }, 'mapping deleted');
      this.opts.workspaceChanged?.(w.mapping.orgId, w.mapping.workspaceId);
    }
    return gone
      ? { deletedId: id, errors: [] }
      : { deletedId: null, errors: [userError('MAPPING_NOT_FOUND', 'id', 'There is no such mapping in your workspaces.')] };
  }

  private async save(
    viewer: AuthenticatedViewer,
    m: Mapping,
    expectedVersion: number,
    raw: unknown,
    summary: string | null,
    defaultSummary: string,
    mapPath: (path: string) => string = (p) => p,
  ): Promise<Payload> {
    const errors: UserError[] = [];
    if (summary && [...summary].length > SUMMARY_MAX_LENGTH)
      errors.push(userError('SUMMARY_TOO_LONG', 'summary', `Use at most ${SUMMARY_MAX_LENGTH} characters.`));
    const parsed = mappingSpec.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues.slice(0, 20)) errors.push(userError('SPEC_INVALID', mapPath(i.path.join('.')) || null, i.message));
      return { mapping: null, errors };
    }
    const facts = await this.facts(viewer).load(m.workspaceId);
    const target = this.targetOf(m, facts);
    const spec = canonicalSpec(
      parsed.data,
      target?.columns.map((c) => c.name),
    );
    const analysis = await analyzeMapping(spec, target, facts.catalog, new Map(), facts.canonical);
    errors.push(...analysis.structure.map((e) => ({ ...e, field: e.field && mapPath(e.field) })));
    errors.push(...analysis.joinIssues.map((j) => userError('JOIN_INVALID', j.path, j.message)));
    if (errors.length) return { mapping: null, errors };
    const result = await this.mappings.updateSpec(m.orgId, m.id, expectedVersion, spec, this.author(viewer), summary?.trim() || defaultSummary);
    return this.afterSave(viewer, result);
  }

  private afterSave(viewer: Viewer, result: Awaited<ReturnType<MappingDao['updateSpec']>>): Payload {
    if (!result.ok) {
      if (result.conflict === 'missing')
        return { mapping: null, errors: [userError('MAPPING_NOT_FOUND', 'id', 'There is no such mapping in your workspaces.')] };
      return {
        mapping: null,
        errors: [
          userError(
            'VERSION_CONFLICT',
            'expectedVersion',
            `The mapping changed meanwhile: it is at version ${result.current}. Reload it and apply your change again.`,
          ),
        ],
      };
    }
    this.opts.log.info({ mappingId: result.mapping.id, version: result.mapping.version }, 'mapping changed');
    this.opts.workspaceChanged?.(result.mapping.orgId, result.mapping.workspaceId);
    this.byId(viewer).clear(result.mapping.id).prime(result.mapping.id, result.mapping);
    this.versionLoader(viewer).clear(result.mapping.id);
    return { mapping: result.mapping, errors: [] };
  }
}

function validateName(name: string): UserError[] {
  const length = [...name].length;
  if (length === 0) return [{ code: 'NAME_REQUIRED', field: 'name', message: 'Give the mapping a name.' }];
  if (length > NAME_MAX_LENGTH) return [{ code: 'NAME_TOO_LONG', field: 'name', message: `Use at most ${NAME_MAX_LENGTH} characters.` }];
  if (CONTROL_CHARS.test(name)) return [{ code: 'NAME_INVALID', field: 'name', message: 'The name cannot contain control characters.' }];
  return [];
}

export type { MappingSpec };

/** The workspace is not in mapping.workspace_ref for the viewer's org: another org's, unknown, or its created event not consumed yet. */
const workspaceNotFound: UserError = {
  code: 'WORKSPACE_NOT_FOUND',
  field: 'workspaceId',
  message: 'There is no such workspace in your organization. If it was created a moment ago, try again.',
};

const nameTaken = (name: string): UserError => ({ code: 'NAME_TAKEN', field: 'name', message: `A mapping named "${name}" already exists in this workspace.` });
