import DataLoader from 'dataloader';
import type { DataSource, EntityManager } from 'typeorm';
import type { ZodIssue } from 'zod';
import { UnauthenticatedError, ValidationError, decodeCursor, encodeCursor, pageSize } from '@datalinx/common';
import { tenantByIdLoader, actorIdOf, hasWorkspacePermission, type Viewer, type WorkspacePermission } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { inDiscoveryScope, pipelineDefinitionV1, type PipelineDefinitionV1 } from '@datalinx/contracts';
import type { PipelineDao } from '../daos/pipeline.dao';
import { SourceSnapshotRefDao, type DiscoveredSnapshotRef } from '../daos/source-snapshot-ref.dao';
import type { Pipeline } from '../entities/pipeline.entity';
import { cronError, isTimeZone, nextRunAfter, nextRunTimes } from '../scheduler/cron';
import { dispatchPipelineRun, PipelineDispatchRefused, type PipelineDispatchDeps } from '../scheduler/dispatch';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';

/** The definition as GraphQL inputs carry it (checks: one input type for both kinds of check). */
export interface PipelineDefinitionInput {
  sources: Array<{
    connectionId: string;
    tables?: string[] | null;
    patterns?: string[] | null;
    incremental?: Array<{ table: string; cursorColumn: string; primaryKey?: string[] | null }> | null;
  }>;
  targetTableIds?: string[] | null;
  checks?: Array<{ ruleId?: string | null; type?: string | null; column?: string | null; targetTableId?: string | null }> | null;
  exports?: Array<{ connectionId: string; targetTableIds: string[] }> | null;
  schemaDriftPolicy?: string | null;
  onMalformed?: string | null;
}

export interface CreatePipelineInput {
  workspaceId: string;
  name: string;
  description?: string | null;
  definition: PipelineDefinitionInput;
  schedule?: string | null;
  timeZone?: string | null;
  enabled?: boolean | null;
}

/** Absent fields keep their value; `schedule: null` removes the schedule (manual runs only). */
export interface UpdatePipelineInput {
  name?: string | null;
  description?: string | null;
  definition?: PipelineDefinitionInput | null;
  schedule?: string | null;
  timeZone?: string | null;
}

/** What the GraphQL definition types resolve from (mappers in codegen.ts). */
export type PipelineSourceValue = PipelineDefinitionV1['sources'][number];
export type PipelineCheckValue = PipelineDefinitionV1['checks'][number];
export type PipelineExportValue = PipelineDefinitionV1['exports'][number];

type PipelinePayload = { pipeline: Pipeline | null; errors: UserError[] };
const NOT_FOUND = (field = 'id') => userError('PIPELINE_NOT_FOUND', field, 'No such pipeline. Check the id, or ask for access to its workspace.');

const strip = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;

/** GraphQL input → the contract's shape (nulls dropped, one check input split into its two kinds). */
function toDefinition(d: PipelineDefinitionInput): unknown {
  return {
    sources: d.sources.map((s) =>
      strip({
        connectionId: s.connectionId,
        tables: s.tables,
        patterns: s.patterns,
        incremental: s.incremental?.map((t) => strip({ table: t.table, cursorColumn: t.cursorColumn, primaryKey: t.primaryKey })),
      }),
    ),
    targets: d.targetTableIds ?? [],
    checks: (d.checks ?? []).map((c) => strip({ ruleId: c.ruleId, type: c.type, column: c.column, targetTableId: c.targetTableId })),
    exports: d.exports ?? [],
    schemaDriftPolicy: d.schemaDriftPolicy ?? 'BLOCK',
    onMalformed: d.onMalformed ?? 'SKIP_AND_REPORT',
  };
}

/**
 * Whether `schema.table` is among the tables a source selects, as the workers read a selection:
 * none = every table; an exact name, or one without a dot matching the bare table name; a pattern
 * with a dot matched against `schema.table`, without one against the bare name.
 */
function selects(s: { tables?: string[]; patterns?: string[] }, name: string): boolean {
  const dot = name.indexOf('.');
  return dot < 0 ? inDiscoveryScope(s, '', name) : inDiscoveryScope(s, name.slice(0, dot), name.slice(dot + 1));
}

/**
 * The incremental tables' checks the contract's schema cannot express: each table once per source,
 * and each among the tables the source selects (else it would never be loaded, incrementally or not).
 */
function incrementalErrors(d: PipelineDefinitionV1): UserError[] {
  const errors: UserError[] = [];
  d.sources.forEach((s, i) => {
    const seen = new Set<string>();
    (s.incremental ?? []).forEach((t, j) => {
      const field = `definition.sources.${i}.incremental.${j}.table`;
      if (seen.has(t.table)) errors.push(userError('DEFINITION_INVALID', field, `${field}: ${t.table} is listed twice; give each incremental table once.`));
      else if (!selects(s, t.table)) {
        errors.push(
          userError(
            'DEFINITION_INVALID',
            field,
            `${field}: ${t.table} is not among the tables this source loads (its tables and patterns); add it to \`tables\` or a matching pattern, or remove it from \`incremental\`.`,
          ),
        );
      }
      seen.add(t.table);
    });
  });
  return errors;
}

const someOf = (names: readonly string[], n = 5) => (names.length > n ? `${names.slice(0, n).join(', ')}, … (${names.length} in all)` : names.join(', '));

/**
 * A source's exact tables and incremental tables against its connection's latest discovery
 * snapshot (the workspace service's replica): each exact name must be a discovered table
 * (`schema.table`, or a bare name matching a table of any schema; case-sensitive), and an
 * incremental table's cursor and key columns must be its columns, with a key (its own or the
 * source table's). Patterns are not checked: they are matched when the pipeline runs.
 */
export function sourceTableErrors(s: PipelineDefinitionV1['sources'][number], i: number, snap: DiscoveredSnapshotRef): UserError[] {
  const errors: UserError[] = [];
  const matches = (name: string) => snap.tables.filter((t) => (name.includes('.') ? `${t.schema}.${t.name}` === name : t.name === name));
  const notDiscovered = (field: string, name: string) => {
    const lower = name.toLowerCase();
    const near = snap.tables.map((t) => `${t.schema}.${t.name}`).filter((q) => q.toLowerCase() === lower || q.toLowerCase().endsWith(`.${lower}`));
    const hint = near.length
      ? ` Did you mean ${someOf(near, 3)}? Names are case-sensitive.`
      : snap.tables.length
        ? ` It has ${someOf(snap.tables.map((t) => `${t.schema}.${t.name}`))}.`
        : ' It found no tables.';
    return userError(
      'TABLE_NOT_DISCOVERED',
      field,
      `${field}: ${JSON.stringify(name)} is not a table of the connection's latest discovery (version ${snap.version}).${hint} If the table is new, run discoverConnection again first.`,
    );
  };
  (s.tables ?? []).forEach((name, j) => {
    if (!matches(name).length) errors.push(notDiscovered(`definition.sources.${i}.tables.${j}`, name));
  });
  (s.incremental ?? []).forEach((inc, j) => {
    const at = `definition.sources.${i}.incremental.${j}`;
    const found = matches(inc.table);
    if (!found.length) {
      errors.push(notDiscovered(`${at}.table`, inc.table));
      return;
    }
    for (const t of found) {
      const columns = new Set(t.columns.map((c) => c.name));
      const missing = (field: string, c: string) =>
        userError(
          'COLUMN_NOT_FOUND',
          field,
          `${field}: ${t.schema}.${t.name} has no column ${JSON.stringify(c)} (its columns: ${someOf(
            t.columns.map((x) => x.name),
            8,
          )}).`,
        );
      if (!columns.has(inc.cursorColumn)) errors.push(missing(`${at}.cursorColumn`, inc.cursorColumn));
      inc.primaryKey?.forEach((c, k) => {
        if (!columns.has(c)) errors.push(missing(`${at}.primaryKey.${k}`, c));
      });
      if (!inc.primaryKey?.length && !t.primaryKey.length) {
        errors.push(
          userError(
            'PRIMARY_KEY_REQUIRED',
            `${at}.primaryKey`,
            `${at}.primaryKey: ${t.schema}.${t.name} has no primary key; name the column(s) that identify a row, or load the table FULL.`,
          ),
        );
      }
    }
  });
  return errors;
}

/** Parses a definition input: the contract's schema, then the cross-field checks; field errors or the definition. */
function parseDefinition(input: PipelineDefinitionInput): { definition: PipelineDefinitionV1; errors: [] } | { definition: null; errors: UserError[] } {
  const parsed = pipelineDefinitionV1.safeParse(toDefinition(input));
  if (!parsed.success) return { definition: null, errors: definitionErrors(parsed.error.issues) };
  const errors = incrementalErrors(parsed.data);
  return errors.length ? { definition: null, errors } : { definition: parsed.data, errors: [] };
}

/** Zod issues → field-level errors (`definition.sources.0.connectionId`) telling what to fix. */
function definitionErrors(issues: ZodIssue[]): UserError[] {
  return issues.map((i) => {
    const path = i.path.map((k, n) => (n === 0 && k === 'targets' ? 'targetTableIds' : k));
    const field = ['definition', ...path].join('.');
    const what =
      i.path[0] === 'checks' && i.code === 'invalid_union' ? 'A check is either { ruleId } or { type, column } (with an optional targetTableId).' : i.message;
    return userError('DEFINITION_INVALID', field, `${field}: ${what}`);
  });
}

/**
 * Pipelines of the viewer's workspaces. Every path re-checks here that the pipeline's workspace
 * belongs to the viewer's org and that the viewer holds the permission in it: another org's id,
 * or a workspace the viewer has no grant in, is "not found". Writes validate the whole pipeline
 * (definition, connections of the same workspace, cron, time zone, unique name) and write
 * nothing when anything is wrong. next_run_at is recomputed whenever the schedule, the time zone
 * or `enabled` changes, from "now": slots already past are not fired by an edit.
 */
export class PipelineManager {
  private readonly loader: (viewer: Viewer) => DataLoader<string, Pipeline | null>;

  constructor(
    private readonly ds: DataSource,
    private readonly dao: PipelineDao,
    private readonly workspaces: WorkspaceManager,
    private readonly onCommit: () => void,
    /** What a run's dispatch resolves its load stage with (connections, warehouse, data-plane key) and the quotas admitting it. */
    private readonly dispatch: PipelineDispatchDeps,
    private readonly snapshots: SourceSnapshotRefDao = new SourceSnapshotRefDao(ds),
  ) {
    this.loader = tenantByIdLoader(
      (viewer) => this.orgId(viewer),
      (orgId, ids) => this.dao.findByIds(orgId, ids),
    );
  }

  private orgId(viewer: Viewer): string | null {
    return viewer.kind === 'anonymous' ? null : viewer.orgId;
  }

  private requireOrg(viewer: Viewer): string {
    const orgId = this.orgId(viewer);
    if (!orgId) throw new UnauthenticatedError();
    return orgId;
  }

  /** The pipeline if it is of the viewer's org and the viewer may read its workspace (entity references too). */
  async get(viewer: Viewer, id: string): Promise<Pipeline | null> {
    const p = await this.loader(viewer).load(id);
    return p && p.orgId === this.orgId(viewer) && hasWorkspacePermission(viewer, p.workspaceId, 'pipelines:read') ? p : null;
  }

  async list(viewer: Viewer, workspaceId: string, first: number | null | undefined, after: string | null | undefined, search: string | null | undefined) {
    const orgId = this.requireOrg(viewer);
    const n = pageSize(first);
    const cursor = decodeCursor(after);
    // The shield checked the grant; this checks the workspace is really of the viewer's org.
    const ws = await this.workspaces.get(viewer, workspaceId);
    if (!ws || !hasWorkspacePermission(viewer, ws.id, 'pipelines:read')) return { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    const rows = await this.dao.list(orgId, ws.id, { first: n, after: cursor, search: search?.trim() || undefined });
    const nodes = rows.slice(0, n);
    for (const p of nodes) this.loader(viewer).prime(p.id, p);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > n, endCursor: last ? encodeCursor(last.createdAt, last.id) : null } };
  }

  /** The next `count` (1–100) slots of the schedule after now, in UTC; none when unscheduled or disabled. */
  nextRunTimes(p: Pipeline, count: number | null | undefined): Date[] {
    const n = count ?? 5;
    if (!Number.isInteger(n) || n < 1 || n > 100)
      throw new ValidationError('count must be between 1 and 100.', [{ field: 'count', message: 'between 1 and 100' }]);
    if (!p.schedule || !p.enabled || cronError(p.schedule) || !isTimeZone(p.timeZone)) return [];
    return nextRunTimes(p.schedule, p.timeZone, new Date(), n);
  }

  async create(viewer: Viewer, input: CreatePipelineInput): Promise<PipelinePayload> {
    const orgId = this.requireOrg(viewer);
    const ws = await this.workspaces.get(viewer, input.workspaceId);
    if (!ws || !hasWorkspacePermission(viewer, ws.id, 'pipelines:write')) {
      return { pipeline: null, errors: [userError('WORKSPACE_NOT_FOUND', 'workspaceId', 'No such workspace, or you cannot add pipelines to it.')] };
    }
    const archived = await this.workspaces.writeBlocker(viewer, ws.id);
    if (archived) return { pipeline: null, errors: [archived] };
    const name = input.name.trim();
    const description = (input.description ?? '').trim();
    const schedule = input.schedule?.trim() || null;
    const timeZone = input.timeZone?.trim() || 'UTC';
    const enabled = input.enabled ?? true;
    const errors = [...this.checkFields({ name, description, schedule, timeZone })];
    const parsed = parseDefinition(input.definition);
    errors.push(...parsed.errors);
    if (errors.length || !parsed.definition) return { pipeline: null, errors };
    const definition = parsed.definition;

    const result = await withTenant(this.ds, orgId, async (em): Promise<PipelinePayload> => {
      const refErrors = await this.checkConnections(em, orgId, ws.id, definition);
      if (await this.dao.nameTaken(em, orgId, ws.id, name))
        refErrors.push(userError('NAME_TAKEN', 'name', `A pipeline named "${name}" already exists in this workspace; choose another name.`));
      if (refErrors.length) return { pipeline: null, errors: refErrors };
      const pipeline = await this.dao.insert(em, {
        orgId,
        workspaceId: ws.id,
        name,
        description,
        definition,
        schedule,
        timeZone,
        enabled,
        nextRunAt: this.firstRun(schedule, timeZone, enabled, await this.dao.now(em)),
      });
      return { pipeline, errors: [] };
    });
    if (result.pipeline) this.loader(viewer).prime(result.pipeline.id, result.pipeline);
    return result;
  }

  async update(viewer: Viewer, id: string, input: UpdatePipelineInput): Promise<PipelinePayload> {
    const found = await this.writable(viewer, id, 'pipelines:write');
    if ('errors' in found) return found;
    const orgId = found.orgId;
    const patch: Parameters<PipelineDao['update']>[3] = {};
    if (input.name !== undefined && input.name !== null) patch.name = input.name.trim();
    if (input.description !== undefined) patch.description = (input.description ?? '').trim();
    if (input.schedule !== undefined) patch.schedule = input.schedule?.trim() || null;
    if (input.timeZone !== undefined && input.timeZone !== null) patch.timeZone = input.timeZone.trim();
    const errors = this.checkFields({ name: patch.name, description: patch.description, schedule: patch.schedule ?? undefined, timeZone: patch.timeZone });
    if (input.definition) {
      const parsed = parseDefinition(input.definition);
      if (parsed.definition) patch.definition = parsed.definition;
      else errors.push(...parsed.errors);
    }
    if (errors.length) return { pipeline: null, errors };

    return this.inLockedPipeline(viewer, found.pipeline, async (em, p) => {
      const refErrors = patch.definition ? await this.checkConnections(em, orgId, p.workspaceId, patch.definition) : [];
      if (patch.name !== undefined && patch.name !== p.name && (await this.dao.nameTaken(em, orgId, p.workspaceId, patch.name, p.id))) {
        refErrors.push(userError('NAME_TAKEN', 'name', `A pipeline named "${patch.name}" already exists in this workspace; choose another name.`));
      }
      if (refErrors.length) return { pipeline: null, errors: refErrors };
      const schedule = patch.schedule !== undefined ? patch.schedule : p.schedule;
      const timeZone = patch.timeZone ?? p.timeZone;
      if (schedule !== p.schedule || timeZone !== p.timeZone) patch.nextRunAt = this.firstRun(schedule, timeZone, p.enabled, await this.dao.now(em));
      await this.dao.update(em, orgId, p.id, patch);
      return null;
    });
  }

  async setEnabled(viewer: Viewer, id: string, enabled: boolean): Promise<PipelinePayload> {
    const found = await this.writable(viewer, id, 'pipelines:write');
    if ('errors' in found) return found;
    return this.inLockedPipeline(viewer, found.pipeline, async (em, p) => {
      if (p.enabled === enabled) return null;
      // Re-enabling starts from now: slots missed while disabled are not fired.
      await this.dao.update(em, p.orgId, p.id, { enabled, nextRunAt: this.firstRun(p.schedule, p.timeZone, enabled, await this.dao.now(em)) });
      return null;
    });
  }

  async delete(viewer: Viewer, id: string): Promise<{ deletedId: string | null; errors: UserError[] }> {
    const found = await this.writable(viewer, id, 'pipelines:write');
    if ('errors' in found) return { deletedId: null, errors: found.errors };
    const deleted = await withTenant(this.ds, found.orgId, (em) => this.dao.delete(em, found.orgId, found.pipeline.id));
    this.loader(viewer).clear(id);
    return deleted ? { deletedId: id, errors: [] } : { deletedId: null, errors: [NOT_FOUND()] };
  }

  /**
   * A manual run: the same `pipeline.run` job as a scheduled one, trigger MANUAL (no slot). A
   * pipeline that cannot run as defined right now (a source connection deleted or no longer a
   * SOURCE, the warehouse not READY or external) gets the refusal's user errors, and its
   * transaction rolls back whole: no ledger row, no job, no run.
   */
  async run(viewer: Viewer, id: string): Promise<{ pipeline: Pipeline | null; runId: string | null; errors: UserError[] }> {
    const found = await this.writable(viewer, id, 'pipelines:run');
    if ('errors' in found) return { pipeline: null, runId: null, errors: found.errors };
    let dispatched: { runId: string; jobId: string } | null;
    try {
      dispatched = await withTenant(this.ds, found.orgId, async (em) => {
        const p = await this.dao.lock(em, found.orgId, found.pipeline.id);
        if (!p) return null;
        return dispatchPipelineRun(em, this.dao, p, { trigger: 'MANUAL' }, actorIdOf(viewer), await this.dao.now(em), this.dispatch);
      });
    } catch (err) {
      if (err instanceof PipelineDispatchRefused) return { pipeline: null, runId: null, errors: err.errors };
      throw err;
    }
    if (!dispatched) return { pipeline: null, runId: null, errors: [NOT_FOUND()] };
    this.onCommit();
    return { pipeline: found.pipeline, runId: dispatched.runId, errors: [] };
  }

  /** The pipeline when the viewer may act on it; otherwise the payload error (not yours = not found). */
  private async writable(
    viewer: Viewer,
    id: string,
    permission: WorkspacePermission,
  ): Promise<{ pipeline: Pipeline; orgId: string } | { pipeline: null; errors: UserError[] }> {
    const orgId = this.requireOrg(viewer);
    const p = await this.get(viewer, id);
    if (!p) return { pipeline: null, errors: [NOT_FOUND()] };
    if (!hasWorkspacePermission(viewer, p.workspaceId, permission)) {
      return {
        pipeline: null,
        errors: [userError('FORBIDDEN', null, `You can see this pipeline but not change or run it (needs ${permission}); ask an editor of the workspace.`)],
      };
    }
    // An archived workspace is read-only (and paused): no edits, no runs.
    const archived = await this.workspaces.writeBlocker(viewer, p.workspaceId);
    if (archived) return { pipeline: null, errors: [archived] };
    return { pipeline: p, orgId };
  }

  /** Runs `fn` with the pipeline's row locked (edits serialize with scheduler ticks), then returns the fresh row. */
  private async inLockedPipeline(
    viewer: Viewer,
    p0: Pipeline,
    fn: (em: EntityManager, p: Pipeline) => Promise<PipelinePayload | null>,
  ): Promise<PipelinePayload> {
    const result = await withTenant(this.ds, p0.orgId, async (em): Promise<PipelinePayload> => {
      const p = await this.dao.lock(em, p0.orgId, p0.id);
      if (!p) return { pipeline: null, errors: [NOT_FOUND()] };
      const failed = await fn(em, p);
      if (failed) return failed;
      return { pipeline: await this.dao.lock(em, p0.orgId, p0.id), errors: [] };
    });
    this.loader(viewer).clear(p0.id);
    if (result.pipeline) this.loader(viewer).prime(p0.id, result.pipeline);
    return result;
  }

  private firstRun(schedule: string | null, timeZone: string, enabled: boolean, now: Date): Date | null {
    return enabled && schedule ? nextRunAfter(schedule, timeZone, now) : null;
  }

  /** Checks of plain fields; `undefined` = not being changed. */
  private checkFields(f: { name?: string; description?: string; schedule?: string | null; timeZone?: string }): UserError[] {
    const errors: UserError[] = [];
    if (f.name !== undefined && (f.name.length < 1 || f.name.length > 100))
      errors.push(userError('INVALID_NAME', 'name', 'The name must be 1 to 100 characters.'));
    if (f.description !== undefined && f.description.length > 2000)
      errors.push(userError('INVALID_DESCRIPTION', 'description', 'The description must be at most 2000 characters.'));
    if (f.schedule) {
      const e = cronError(f.schedule);
      if (e) errors.push(userError('CRON_INVALID', 'schedule', e));
    }
    if (f.timeZone !== undefined && !isTimeZone(f.timeZone)) {
      errors.push(
        userError('TIME_ZONE_INVALID', 'timeZone', `"${f.timeZone}" is not an IANA time zone; use a name like Europe/Berlin, America/New_York or UTC.`),
      );
    }
    return errors;
  }

  /**
   * Sources must be connections of this workspace (SOURCE kind), exports DESTINATION connections
   * of it. An incremental table of a FILE or REST_API source must name its primary key: a file or
   * an API collection has none of its own (the worker would fail the run with PRIMARY_KEY_REQUIRED).
   * A source whose connection has been discovered is checked against its latest snapshot
   * (`sourceTableErrors`); one not discovered yet is not (a pipeline may be defined, or promoted
   * into a workspace, before its connections are discovered).
   */
  private async checkConnections(em: EntityManager, orgId: string, workspaceId: string, d: PipelineDefinitionV1): Promise<UserError[]> {
    const ids = [...new Set([...d.sources.map((s) => s.connectionId), ...d.exports.map((x) => x.connectionId)])];
    const kinds = await this.dao.connectionKinds(em, orgId, workspaceId, ids);
    const errors: UserError[] = [];
    const check = (list: Array<{ connectionId: string }>, part: 'sources' | 'exports', want: 'SOURCE' | 'DESTINATION') =>
      list.forEach((s, i) => {
        const field = `definition.${part}.${i}.connectionId`;
        const kind = kinds.get(s.connectionId)?.kind;
        if (!kind)
          errors.push(userError('CONNECTION_NOT_FOUND', field, `No connection ${s.connectionId} in this workspace; pick one of the workspace's connections.`));
        else if (kind !== want)
          errors.push(userError('CONNECTION_KIND_INVALID', field, `Connection ${s.connectionId} is a ${kind} connection; ${part} need a ${want} connection.`));
      });
    d.sources.forEach((s, i) => {
      const type = kinds.get(s.connectionId)?.type;
      if (type !== 'FILE' && type !== 'REST_API') return;
      (s.incremental ?? []).forEach((t, j) => {
        if (t.primaryKey?.length) return;
        const field = `definition.sources.${i}.incremental.${j}.primaryKey`;
        errors.push(
          userError(
            'PRIMARY_KEY_REQUIRED',
            field,
            `${field}: ${t.table} comes from a ${type} source, which has no key of its own; name the column(s) that identify a record, or load the table FULL.`,
          ),
        );
      });
    });
    check(d.sources, 'sources', 'SOURCE');
    check(d.exports, 'exports', 'DESTINATION');
    if (errors.length) return errors;
    const snapshots = await this.snapshots.latestByConnections(em, orgId, [...new Set(d.sources.map((s) => s.connectionId))]);
    d.sources.forEach((s, i) => {
      const snap = snapshots.get(s.connectionId);
      if (snap) errors.push(...sourceTableErrors(s, i, snap));
    });
    return errors;
  }
}
