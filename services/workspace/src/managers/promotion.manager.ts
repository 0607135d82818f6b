import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { UnauthenticatedError, isUuid } from '@datalinx/common';
import { hasWorkspacePermission, type Viewer, type WorkspacePermission } from '@datalinx/graphql-kit';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import {
  PROMOTION_REQUESTED_V1,
  type ConnectionConfig,
  type PipelineDefinitionV1,
  type PromotionItem,
  type PromotionPart,
  type PromotionRequestedV1,
} from '@datalinx/contracts';
import { promotionCopyDao, type PromotionDao, type PromotionRow } from '../daos/promotion.dao';
import type { WorkspaceManager } from './workspace.manager';
import { userError, type UserError } from './user-error';

/** What each part needs: read in the source workspace, write in the target. */
const NEEDS: Record<PromotionPart, { read: WorkspacePermission; write: WorkspacePermission }> = {
  CONNECTIONS: { read: 'connections:read', write: 'connections:write' },
  PIPELINES: { read: 'pipelines:read', write: 'pipelines:write' },
  MAPPINGS: { read: 'mappings:read', write: 'mappings:write' },
  TARGET_SCHEMAS: { read: 'schemas:read', write: 'schemas:write' },
};
/** Parts other services copy (they answer on EVENTS); the rest is copied here, at once. */
const REMOTE_PARTS: readonly PromotionPart[] = ['MAPPINGS', 'TARGET_SCHEMAS'];
const SUPPORTED: readonly PromotionPart[] = ['CONNECTIONS', 'PIPELINES', 'MAPPINGS', 'TARGET_SCHEMAS'];

type SourceConnection = { id: string; name: string; kind: string; type: ConnectionConfig['type']; config: ConnectionConfig };

/** Whether a connection of this configuration cannot work without a secret. */
function needsSecret(c: ConnectionConfig): string | null {
  if (c.type === 'POSTGRES' || c.type === 'MYSQL') return 'password';
  if (c.type === 'REST_API') return c.auth === 'BEARER' ? 'token' : c.auth === 'API_KEY' ? 'API key' : c.auth === 'BASIC' ? 'password' : null;
  return null;
}

/**
 * Promotes a workspace's configuration into another workspace of the same org: connections (never
 * their secrets), pipelines (paused, pointed at the target's connections) and — through the
 * mapping service, which answers on EVENTS — mappings. Everything this service owns is copied in
 * one transaction together with the promotion row and the request to the other services, so the
 * report is never half-written; the mapping part is merged when it arrives. Every line of the
 * report says what happened and what the user must still do.
 */
export class PromotionManager {
  constructor(
    private readonly ds: DataSource,
    private readonly dao: PromotionDao,
    private readonly workspaces: WorkspaceManager,
    private readonly onCommit: () => void,
  ) {}

  private orgId(viewer: Viewer): string {
    if (viewer.kind === 'anonymous') throw new UnauthenticatedError();
    return viewer.orgId;
  }

  /** A promotion the viewer may see: one into a workspace they can read. */
  async get(viewer: Viewer, id: string): Promise<PromotionRow | null> {
    if (viewer.kind === 'anonymous' || !isUuid(id)) return null;
    const p = await this.dao.findById(viewer.orgId, id);
    return p && (await this.workspaces.get(viewer, p.toWorkspaceId)) ? p : null;
  }

  async promote(
    viewer: Viewer,
    input: { fromWorkspaceId: string; toWorkspaceId: string; include: PromotionPart[] },
  ): Promise<{ promotion: PromotionRow | null; errors: UserError[] }> {
    const orgId = this.orgId(viewer);
    const include = [...new Set(input.include)];
    const fail = (e: UserError) => ({ promotion: null, errors: [e] });
    if (!include.length) return fail(userError('INCLUDE_EMPTY', 'include', 'Say what to promote: CONNECTIONS, PIPELINES, MAPPINGS and/or TARGET_SCHEMAS.'));
    const unsupported = include.filter((p) => !SUPPORTED.includes(p));
    if (unsupported.length) return fail(userError('PART_NOT_SUPPORTED', 'include', `${unsupported.join(', ')} cannot be promoted.`));
    if (input.fromWorkspaceId === input.toWorkspaceId) return fail(userError('SAME_WORKSPACE', 'toWorkspaceId', 'Pick a different target workspace.'));
    const from = await this.workspaces.get(viewer, input.fromWorkspaceId);
    if (!from || include.some((p) => !hasWorkspacePermission(viewer, from.id, NEEDS[p].read))) {
      return fail(userError('WORKSPACE_NOT_FOUND', 'fromWorkspaceId', 'No such workspace, or you cannot read what you asked to promote from it.'));
    }
    const to = await this.workspaces.get(viewer, input.toWorkspaceId);
    if (!to) return fail(userError('WORKSPACE_NOT_FOUND', 'toWorkspaceId', 'No such workspace.'));
    const missing = include.filter((p) => !hasWorkspacePermission(viewer, to.id, NEEDS[p].write)).map((p) => NEEDS[p].write);
    if (missing.length)
      return fail(userError('FORBIDDEN', 'toWorkspaceId', `You cannot write to the target workspace (needs ${missing.join(', ')}); ask an editor of it.`));
    const archived = await this.workspaces.writeBlocker(viewer, to.id);
    if (archived) return fail({ ...archived, field: 'toWorkspaceId' });

    const id = randomUUID();
    const promotion = await withTenant(this.ds, orgId, async (em) => {
      const items: PromotionItem[] = [];
      const targetConnectionOf = await this.copyConnections(em, orgId, from.id, to.id, include.includes('CONNECTIONS'), items);
      if (include.includes('PIPELINES')) await this.copyPipelines(em, orgId, from.id, to.id, targetConnectionOf, items);
      const expectedParts = include.filter((p) => REMOTE_PARTS.includes(p));
      const row = {
        id,
        orgId,
        fromWorkspaceId: from.id,
        toWorkspaceId: to.id,
        include,
        expectedParts,
        status: expectedParts.length ? ('RUNNING' as const) : ('DONE' as const),
        items,
        requestedBy: this.actor(viewer),
      };
      await this.dao.insert(em, row);
      if (expectedParts.length) {
        const request: PromotionRequestedV1 = {
          v: 1,
          promotionId: id,
          orgId,
          fromWorkspaceId: from.id,
          toWorkspaceId: to.id,
          include,
          requestedBy: row.requestedBy,
        };
        await enqueueOutbox(em, PROMOTION_REQUESTED_V1, request);
      }
      return this.dao.findById(orgId, id, em);
    });
    this.onCommit();
    return { promotion, errors: [] };
  }

  private actor(viewer: Viewer): string {
    return viewer.kind === 'user' ? `user:${viewer.userId}` : viewer.kind === 'service-account' ? `service-account:${viewer.serviceAccountId}` : 'anonymous';
  }

  /**
   * Copies the source's connections (when asked) and returns, for every source connection id,
   * the target connection that stands for it: the copy, or a connection of the same name the
   * target already has (pipelines are pointed at it).
   */
  private async copyConnections(
    em: EntityManager,
    orgId: string,
    from: string,
    to: string,
    copy: boolean,
    items: PromotionItem[],
  ): Promise<Map<string, string>> {
    const sources: SourceConnection[] = await promotionCopyDao.connectionsOf(em, orgId, from);
    const existing = await promotionCopyDao.connectionsOf(em, orgId, to);
    const byName = new Map(existing.map((c) => [c.name.toLowerCase(), c.id]));
    const target = new Map<string, string>();
    for (const c of sources) {
      const same = byName.get(c.name.toLowerCase());
      if (same) {
        target.set(c.id, same);
        if (copy)
          items.push({
            kind: 'CONNECTION',
            name: c.name,
            sourceId: c.id,
            targetId: same,
            outcome: 'SKIPPED',
            note: 'The target workspace already has a connection with this name; it was left as it is and promoted pipelines use it.',
          });
        continue;
      }
      if (!copy) continue;
      if (c.type === 'FILE') {
        items.push({
          kind: 'CONNECTION',
          name: c.name,
          sourceId: c.id,
          targetId: null,
          outcome: 'SKIPPED',
          note: 'An uploaded file belongs to its workspace: upload it to the target workspace and create the connection there.',
        });
        continue;
      }
      const copyId = randomUUID();
      await promotionCopyDao.insertConnectionCopy(em, orgId, { id: copyId, workspaceId: to, name: c.name, kind: c.kind, type: c.type, config: c.config });
      await enqueueOutbox(em, 'workspace.connection.created.v1', { orgId, workspaceId: to, connectionId: copyId, type: c.type });
      target.set(c.id, copyId);
      const secret = needsSecret(c.config);
      items.push(
        secret
          ? {
              kind: 'CONNECTION',
              name: c.name,
              sourceId: c.id,
              targetId: copyId,
              outcome: 'NEEDS_ATTENTION',
              note: `Copied without its ${secret} (secrets are never promoted): set it with rotateConnectionSecret, then test the connection.`,
            }
          : {
              kind: 'CONNECTION',
              name: c.name,
              sourceId: c.id,
              targetId: copyId,
              outcome: 'COPIED',
              note: 'Copied; test it in the target workspace before use.',
            },
      );
    }
    return target;
  }

  /** Copies the source's pipelines, paused, with their connections replaced by the target's. */
  private async copyPipelines(
    em: EntityManager,
    orgId: string,
    from: string,
    to: string,
    targetConnectionOf: Map<string, string>,
    items: PromotionItem[],
  ): Promise<void> {
    const sources = await promotionCopyDao.pipelinesOf(em, orgId, from);
    const names = await promotionCopyDao.connectionsOf(em, orgId, from);
    const nameOf = new Map(names.map((c) => [c.id, c.name]));
    for (const p of sources) {
      if (await promotionCopyDao.pipelineNameTaken(em, orgId, to, p.name)) {
        items.push({
          kind: 'PIPELINE',
          name: p.name,
          sourceId: p.id,
          targetId: null,
          outcome: 'SKIPPED',
          note: 'The target workspace already has a pipeline with this name; it was left as it is.',
        });
        continue;
      }
      const used = [...p.definition.sources.map((s) => s.connectionId), ...p.definition.exports.map((e) => e.connectionId)];
      const unmapped = [...new Set(used.filter((c) => !targetConnectionOf.has(c)))];
      if (unmapped.length) {
        const list = unmapped.map((c) => `"${nameOf.get(c) ?? c}"`).join(', ');
        items.push({
          kind: 'PIPELINE',
          name: p.name,
          sourceId: p.id,
          targetId: null,
          outcome: 'SKIPPED',
          note: `It uses connection ${list}, which the target workspace does not have: promote the connections too (or create them there), then promote again.`,
        });
        continue;
      }
      const map = (c: string) => targetConnectionOf.get(c)!;
      const definition: PipelineDefinitionV1 = {
        ...p.definition,
        sources: p.definition.sources.map((s) => ({ ...s, connectionId: map(s.connectionId) })),
        exports: p.definition.exports.map((e) => ({ ...e, connectionId: map(e.connectionId) })),
      };
      const copyId = randomUUID();
      // Paused (enabled = false, no next run): a promoted schedule starts only when someone enables it.
      await promotionCopyDao.insertPausedPipelineCopy(em, orgId, {
        id: copyId,
        workspaceId: to,
        name: p.name,
        description: p.description,
        definition,
        schedule: p.schedule,
        timeZone: p.time_zone,
      });
      const targetsNote = definition.targets.length ? ' Its target tables still name the source workspace’s target schema.' : '';
      items.push({
        kind: 'PIPELINE',
        name: p.name,
        sourceId: p.id,
        targetId: copyId,
        outcome: 'NEEDS_ATTENTION',
        note: `Copied paused: review it and enable it (setPipelineEnabled).${targetsNote}`,
      });
    }
  }
}
