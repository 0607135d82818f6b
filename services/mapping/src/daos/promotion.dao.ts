import type { DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { promotionCompletedSubject, type PromotionItem, type PromotionPartCompletedV1, type PromotionRequestedV1 } from '@datalinx/contracts';
import { workspaceKnown } from './workspace-ref.dao';

/**
 * The mapping service's part of a promotion: copies the source workspace's mappings (name, target
 * table, the current spec as the copy's version 1) into the target workspace, records the promotion as applied and writes the answer to the outbox — one
 * tenant transaction, so a redelivered request changes nothing (returns null).
 */
export class PromotionDao {
  constructor(private readonly ds: DataSource) {}

  apply(req: PromotionRequestedV1): Promise<PromotionPartCompletedV1 | null> {
    return withTenant(this.ds, req.orgId, async (em) => {
      const inserted: unknown[] = await em.query(
        `INSERT INTO mapping.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id, items) VALUES ($1, $2, $3, $4, '[]')
         ON CONFLICT (promotion_id) DO NOTHING RETURNING promotion_id`,
        [req.promotionId, req.orgId, req.fromWorkspaceId, req.toWorkspaceId],
      );
      if (!inserted.length) return null;
      let items: PromotionItem[] = [];
      let error: string | null = null;
      // Both workspaces must be the org's (mapping.workspace_ref); another org's id looks unknown.
      if (!(await workspaceKnown(em, req.orgId, req.fromWorkspaceId)) || !(await workspaceKnown(em, req.orgId, req.toWorkspaceId))) {
        error = 'WORKSPACE_NOT_FOUND: the mapping service does not know one of the workspaces (yet); promote again in a moment.';
      } else {
        const sources: Array<{ id: string; name: string; target_table: string; spec: unknown }> = await em.query(
          `SELECT id, name, target_table, spec FROM mapping.mapping WHERE org_id = $1 AND workspace_id = $2 ORDER BY created_at, id`,
          [req.orgId, req.fromWorkspaceId],
        );
        // The target workspace's own table ids, by name (its target schema replica), when it has one.
        const [targetSchema]: Array<{ table_ids: Record<string, string> }> = await em.query(
          `SELECT table_ids FROM mapping.target_schema_ref WHERE org_id = $1 AND workspace_id = $2`,
          [req.orgId, req.toWorkspaceId],
        );
        for (const m of sources) {
          // The unique indexes decide: a name (or a target table) already mapped in the target is left alone.
          const copied: Array<{ id: string }> = await em.query(
            `INSERT INTO mapping.mapping (org_id, workspace_id, name, target_table, target_table_id, spec, version) VALUES ($1, $2, $3, $4, $5, $6, 1)
             ON CONFLICT DO NOTHING RETURNING id`,
            [req.orgId, req.toWorkspaceId, m.name, m.target_table, targetSchema?.table_ids[m.target_table] ?? null, JSON.stringify(m.spec)],
          );
          if (copied[0])
            await em.query(
              `INSERT INTO mapping.mapping_version (mapping_id, version, org_id, spec, author_kind, summary) VALUES ($1, 1, $2, $3, 'system', $4)`,
              [copied[0].id, req.orgId, JSON.stringify(m.spec), `Promoted from mapping ${m.id}`],
            );
          items.push(
            copied[0]
              ? {
                  kind: 'MAPPING',
                  name: m.name,
                  sourceId: m.id,
                  targetId: copied[0].id,
                  outcome: 'NEEDS_ATTENTION',
                  note: 'Copied. Check its field mappings against the target workspace’s sources before running it.',
                }
              : {
                  kind: 'MAPPING',
                  name: m.name,
                  sourceId: m.id,
                  targetId: null,
                  outcome: 'SKIPPED',
                  note: 'The target workspace already has a mapping with this name or for this table; it was left as it is.',
                },
          );
        }
        items = items.sort((a, b) => a.name.localeCompare(b.name));
      }
      const answer: PromotionPartCompletedV1 = { v: 1, promotionId: req.promotionId, orgId: req.orgId, part: 'MAPPINGS', items, error };
      await em.query(`UPDATE mapping.promotion_applied SET items = $2 WHERE promotion_id = $1`, [req.promotionId, JSON.stringify(items)]);
      await enqueueOutbox(em, promotionCompletedSubject('mapping'), answer);
      return answer;
    });
  }
}
