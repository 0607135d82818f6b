import { randomUUID } from 'node:crypto';
import type DataLoader from 'dataloader';
import { ForbiddenError, UnauthenticatedError, type Logger, isUuid } from '@datalinx/common';
import { byIdLoader, hasWorkspacePermission, type AuthenticatedViewer, type Viewer, perViewer } from '@datalinx/graphql-kit';
import type { MappingDao } from '../daos/mapping.dao';
import type { Mapping } from '../entities/mapping.entity';
import { MAPPING_CREATED_V1, mappingEvent } from '../events';
import { decodeCursor, encodeCursor, pageSize } from '@datalinx/common';

export const NAME_MAX_LENGTH = 100;
const TARGET_TABLE = /^[a-z_][a-z0-9_]{0,62}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** An expected failure of a mutation, returned in its payload (never thrown). */
export type { MappingUserError as UserError } from '../errors';
import type { MappingUserError as UserError } from '../errors';

export interface CreateMappingInput {
  workspaceId: string;
  name: string;
  targetTable: string;
}

export interface MappingManagerOptions {
  log: Logger;
  /** Called after a commit that wrote outbox rows (lets the relay publish at once). */
  afterCommit?: () => void;
}

/**
 * Mappings as the viewer may see them. Shield checked the permission named by the arguments;
 * this class re-checks everything against the object itself, because `mapping(id)` and
 * `__resolveReference` carry no workspace argument: a mapping is visible only when it belongs
 * to the viewer's org AND the viewer has mappings:read in its workspace — otherwise it is null
 * (not found = not yours). Writes validate the whole input, then insert the row and its
 * `mapping.mapping.created.v1` event in one transaction, which first requires the workspace to be
 * the viewer's org's (mapping.workspace_ref, replicated from the workspace service's events;
 * otherwise WORKSPACE_NOT_FOUND, nothing written). Lookups by id are batched per request.
 */
export class MappingManager {
  private readonly byId: (viewer: Viewer) => DataLoader<string, Mapping | null>;

  constructor(
    private readonly mappings: MappingDao,
    private readonly opts: MappingManagerOptions,
  ) {
    this.byId = perViewer((viewer) =>
      byIdLoader((ids) => {
        const orgId = this.orgIdOrNull(viewer);
        const valid = ids.filter((id) => isUuid(id));
        return orgId && valid.length ? this.mappings.findByIds(orgId, valid) : Promise.resolve([]);
      }),
    );
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

  /** The mapping when the viewer may read it; null otherwise (not found = not yours). */
  async mapping(viewer: Viewer, id: string): Promise<Mapping | null> {
    if (!this.orgIdOrNull(viewer)) return null;
    const m = await this.byId(viewer).load(id);
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

  async create(viewer: Viewer, input: CreateMappingInput): Promise<{ mapping: Mapping | null; errors: UserError[] }> {
    this.requireViewer(viewer);
    if (!hasWorkspacePermission(viewer, input.workspaceId, 'mappings:write')) throw new ForbiddenError();
    const name = input.name.trim();
    const targetTable = input.targetTable.trim();
    const errors = validate(input.workspaceId, name, targetTable);
    if (!errors.length && (await this.mappings.existsByName(viewer.orgId, input.workspaceId, name))) errors.push(nameTaken(name));
    if (errors.length) return { mapping: null, errors };

    const eventId = randomUUID();
    const result = await this.mappings.insertWithEvent(viewer.orgId, { workspaceId: input.workspaceId, name, targetTable }, (m) => ({
      id: eventId,
      subject: MAPPING_CREATED_V1,
      payload: mappingEvent(eventId, MAPPING_CREATED_V1, viewer.orgId, m.createdAt, {
        mappingId: m.id,
        workspaceId: m.workspaceId,
        name: m.name,
        targetTable: m.targetTable,
        version: m.version,
        actor: viewer.kind === 'user' ? { kind: 'user', id: viewer.userId } : { kind: 'service-account', id: viewer.serviceAccountId },
      }),
    }));
    if (!result.ok) return { mapping: null, errors: [result.conflict === 'workspace' ? workspaceNotFound : nameTaken(name)] };
    this.opts.log.info({ mappingId: result.mapping.id, workspaceId: result.mapping.workspaceId, eventId }, 'mapping created');
    this.opts.afterCommit?.();
    this.byId(viewer).prime(result.mapping.id, result.mapping);
    return { mapping: result.mapping, errors: [] };
  }
}

function validate(workspaceId: string, name: string, targetTable: string): UserError[] {
  const errors: UserError[] = [];
  // A malformed id names no workspace: the same answer as an unknown one (the argument guard
  // already makes it the nil UUID; this covers callers that bypass GraphQL).
  if (!isUuid(workspaceId)) errors.push(workspaceNotFound);
  const length = [...name].length;
  if (length === 0) errors.push({ code: 'NAME_REQUIRED', field: 'name', message: 'Give the mapping a name.' });
  else if (length > NAME_MAX_LENGTH) errors.push({ code: 'NAME_TOO_LONG', field: 'name', message: `Use at most ${NAME_MAX_LENGTH} characters.` });
  else if (CONTROL_CHARS.test(name)) errors.push({ code: 'NAME_INVALID', field: 'name', message: 'The name cannot contain control characters.' });
  if (!TARGET_TABLE.test(targetTable)) {
    errors.push({
      code: 'TARGET_TABLE_INVALID',
      field: 'targetTable',
      message: 'Use a lower-case SQL identifier: a letter or _, then letters, digits or _, at most 63 characters.',
    });
  }
  return errors;
}

/** The workspace is not in mapping.workspace_ref for the viewer's org: another org's, unknown, or its created event not consumed yet. */
const workspaceNotFound: UserError = {
  code: 'WORKSPACE_NOT_FOUND',
  field: 'workspaceId',
  message: 'There is no such workspace in your organization. If it was created a moment ago, try again.',
};

const nameTaken = (name: string): UserError => ({ code: 'NAME_TAKEN', field: 'name', message: `A mapping named "${name}" already exists in this workspace.` });
