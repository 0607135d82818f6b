import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import type { PromotionItem, PromotionPart } from '@datalinx/contracts';

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
    const rows: PromotionRow[] = await inTenant(em ?? this.ds, orgId, (tx) => tx.query(`SELECT ${COLS} FROM workspace.promotion WHERE org_id = $1 AND id = $2`, [orgId, id]));
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
