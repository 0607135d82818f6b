import type { MigrationInterface, QueryRunner } from 'typeorm';
import { tenantIsolationSql } from '@datalinx/db';

/**
 * Why: promotion copies a workspace's mappings into another workspace when the workspace
 * service asks (workspace.promotion.requested.v1). `promotion_applied` makes that exactly-once:
 * the copy, this row and the answer (mapping.promotion.completed.v1, in the outbox) commit
 * together, so a redelivered request finds the row and changes nothing. Tenant table: row-level
 * security like mapping.mapping.
 */
export class Promotions1764600000000 implements MigrationInterface {
  name = 'Promotions1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE mapping.promotion_applied (
      promotion_id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      from_workspace_id uuid NOT NULL,
      to_workspace_id uuid NOT NULL,
      items jsonb NOT NULL,
      applied_at timestamptz(3) NOT NULL DEFAULT now()
    )`);
    for (const sql of tenantIsolationSql('mapping', 'promotion_applied')) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mapping.promotion_applied`);
  }
}
