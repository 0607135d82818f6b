import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import type { ConnectionConfig, PipelineDefinitionV1, PromotionItem, PromotionPart } from '@datalinx/contracts';

export interface PromotionRow {
  id: string;
  orgId: string;
  fromWorkspaceId: string;
  toWorkspaceId: string;
  include: PromotionPart[];
  expectedParts: PromotionPart[];
  completedParts: PromotionPart[];
  status: 'RUNNING' | 'DONE';
  items: PromotionItem[];
  partErrors: Array<{ part: PromotionPart; error: string }>;
  requestedBy: string;
  createdAt: Date;
  completedAt: Date | null;
}

const COLS = `id, org_id AS "orgId", from_workspace_id AS "fromWorkspaceId", to_workspace_id AS "toWorkspaceId", include, expected_parts AS "expectedParts",
  completed_parts AS "completedParts", status, items, part_errors AS "partErrors", requested_by AS "requestedBy", created_at AS "createdAt", completed_at AS "completedAt"`;

/** Promotions (tenant id first; inside the caller's tenant transaction where one is given). */
export class PromotionDao {
  constructor(private readonly ds: DataSource) {}

  async insert(em: EntityManager, p: Omit<PromotionRow, 'createdAt' | 'completedAt' | 'completedParts' | 'partErrors'>): Promise<void> {
    await em.query(
      `INSERT INTO workspace.promotion (id, org_id, from_workspace_id, to_workspace_id, include, expected_parts, status, items, requested_by, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $7 = 'DONE' THEN now() END)`,
      [p.id, p.orgId, p.fromWorkspaceId, p.toWorkspaceId, p.include, p.expectedParts, p.status, JSON.stringify(p.items), p.requestedBy],
    );
  }

  async findById(orgId: string, id: string, em?: EntityManager): Promise<PromotionRow | null> {
    const rows: PromotionRow[] = await inTenant(em ?? this.ds, orgId, (tx) =>
      tx.query(`SELECT ${COLS} FROM workspace.promotion WHERE org_id = $1 AND id = $2`, [orgId, id]),
    );
    return rows[0] ?? null;
  }

  async lock(em: EntityManager, orgId: string, id: string): Promise<PromotionRow | null> {
    const rows: PromotionRow[] = await em.query(`SELECT ${COLS} FROM workspace.promotion WHERE org_id = $1 AND id = $2 FOR UPDATE`, [orgId, id]);
    return rows[0] ?? null;
  }

  /** Merges one service's part of the report; DONE once every expected part is in. */
  async completePart(em: EntityManager, p: PromotionRow, part: PromotionPart, items: PromotionItem[], error: string | null): Promise<void> {
    const completed = [...p.completedParts, part];
    const done = p.expectedParts.every((x) => completed.includes(x));
    await em.query(
      `UPDATE workspace.promotion SET completed_parts = $3, items = items || $4::jsonb, part_errors = part_errors || $5::jsonb,
         status = $6, completed_at = CASE WHEN $6 = 'DONE' THEN now() ELSE completed_at END
       WHERE org_id = $1 AND id = $2`,
      [p.orgId, p.id, completed, JSON.stringify(items), JSON.stringify(error ? [{ part, error }] : []), done ? 'DONE' : 'RUNNING'],
    );
  }
}

/** A connection of a promotion's source workspace, as copied. */
export type PromotableConnection = { id: string; name: string; kind: string; type: ConnectionConfig['type']; config: ConnectionConfig };
/** A pipeline of a promotion's source workspace, as copied. */
export type PromotablePipeline = {
  id: string;
  name: string;
  description: string;
  definition: PipelineDefinitionV1;
  schedule: string | null;
  time_zone: string;
};

/**
 * The SQL of promotion's copying (PromotionManager decides what is copied). Names match the way
 * `UNIQUE (workspace_id, lower(name))` does: case-insensitively.
 */
export const promotionCopyDao = {
  /** The connections of a workspace, by name. */
  async connectionsOf(em: EntityManager, orgId: string, workspaceId: string): Promise<PromotableConnection[]> {
    return em.query(`SELECT id, name, kind, type, config FROM workspace.connection WHERE org_id = $1 AND workspace_id = $2 ORDER BY lower(name), id`, [
      orgId,
      workspaceId,
    ]);
  },

  async insertConnectionCopy(
    em: EntityManager,
    orgId: string,
    v: { id: string; workspaceId: string; name: string; kind: string; type: string; config: ConnectionConfig },
  ): Promise<void> {
    await em.query(
      `INSERT INTO workspace.connection (id, org_id, workspace_id, name, kind, type, config, secret_sealed, secret_updated_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, 'UNTESTED')`,
      [v.id, orgId, v.workspaceId, v.name, v.kind, v.type, JSON.stringify(v.config)],
    );
  },

  /** The pipelines of a workspace, by name. */
  async pipelinesOf(em: EntityManager, orgId: string, workspaceId: string): Promise<PromotablePipeline[]> {
    return em.query(
      `SELECT id, name, description, definition, schedule, time_zone FROM workspace.pipeline WHERE org_id = $1 AND workspace_id = $2 ORDER BY lower(name), id`,
      [orgId, workspaceId],
    );
  },

  async pipelineNameTaken(em: EntityManager, orgId: string, workspaceId: string, name: string): Promise<boolean> {
    const rows: unknown[] = await em.query(`SELECT 1 FROM workspace.pipeline WHERE org_id = $1 AND workspace_id = $2 AND lower(name) = lower($3)`, [
      orgId,
      workspaceId,
      name,
    ]);
    return rows.length > 0;
  },

  /** Inserts a paused copy (enabled = false, no next run). */
  async insertPausedPipelineCopy(
    em: EntityManager,
    orgId: string,
    v: { id: string; workspaceId: string; name: string; description: string; definition: PipelineDefinitionV1; schedule: string | null; timeZone: string },
  ): Promise<void> {
    await em.query(
      `INSERT INTO workspace.pipeline (id, org_id, workspace_id, name, description, definition, schedule, time_zone, enabled, next_run_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false, NULL)`,
      [v.id, orgId, v.workspaceId, v.name, v.description, JSON.stringify(v.definition), v.schedule, v.timeZone],
    );
  },
};
