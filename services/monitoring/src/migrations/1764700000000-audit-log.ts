import type { MigrationInterface, QueryRunner } from 'typeorm';

const TENANT = `nullif(current_setting('app.current_org_id', true), '')::uuid`;

/**
 * Why: monitoring stores the audit trail (ARCHITECTURE.md §5): auth (and any other
 * service) publishes `auditEventV1` on EVENTS `audit.<orgId>` through their outboxes; the
 * audit consumer writes one row per event id, and org admins page through it newest first.
 * - `id` is the event id: a republished event (or one whose `consumed_event` ledger row was
 *   pruned) can never add a second row.
 * - `occurred_at` is kept to the millisecond, what keyset cursors carry.
 * - Indexes serve the admin's queries, all scoped to one org and newest first: everything,
 *   by actor, by action (exact or prefix: `text_pattern_ops` lets `LIKE 'auth.session.%'` use it
 *   whatever the database collation).
 * - Row-level security as on every tenant table (ENABLE + FORCE, policy on
 *   `app.current_org_id`). Only SELECT and INSERT have policies: an audit log is append-only,
 *   so UPDATE and DELETE by the runtime role match no row at all, its own org's included.
 */
export class AuditLog1764700000000 implements MigrationInterface {
  name = 'AuditLog1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE monitoring.audit_log (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL,
      occurred_at timestamptz(3) NOT NULL,
      actor_type text NOT NULL CHECK (actor_type IN ('user','service-account','system','anonymous')),
      actor_id text CHECK (length(actor_id) BETWEEN 1 AND 200),
      actor_email text CHECK (length(actor_email) <= 320),
      action text NOT NULL CHECK (length(action) BETWEEN 3 AND 100),
      target_type text CHECK (length(target_type) BETWEEN 1 AND 100),
      target_id text CHECK (length(target_id) BETWEEN 1 AND 200),
      ip text CHECK (length(ip) <= 45),
      user_agent text CHECK (length(user_agent) <= 1000),
      outcome text NOT NULL CHECK (outcome IN ('success','failure')),
      details jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
      recorded_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((target_type IS NULL) = (target_id IS NULL))
    )`);
    await q.query(`CREATE INDEX audit_log_org_occurred_idx ON monitoring.audit_log (org_id, occurred_at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_org_actor_idx ON monitoring.audit_log (org_id, actor_id, occurred_at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_log_org_action_idx ON monitoring.audit_log (org_id, action text_pattern_ops, occurred_at DESC, id DESC)`);
    await q.query(`ALTER TABLE monitoring.audit_log ENABLE ROW LEVEL SECURITY`);
    await q.query(`ALTER TABLE monitoring.audit_log FORCE ROW LEVEL SECURITY`);
    await q.query(`CREATE POLICY audit_log_tenant_read ON monitoring.audit_log FOR SELECT USING (org_id = ${TENANT})`);
    await q.query(`CREATE POLICY audit_log_tenant_append ON monitoring.audit_log FOR INSERT WITH CHECK (org_id = ${TENANT})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE monitoring.audit_log`);
  }
}
