import type { EntityManager } from 'typeorm';
import type { Sealed } from '@datalinx/common';
import { returningRows } from './returning';

export interface PendingEmail {
  id: string;
  orgId: string;
  toAddress: string;
  template: string;
  subject: string;
  body: Sealed;
  attempts: number;
}

/**
 * Outgoing e-mail (auth.email_outbox). `enqueue` runs in the caller's tenant transaction (the
 * invitation / reset and its e-mail commit together); the other methods belong to the MailRelay,
 * which claims rows across orgs with FOR UPDATE SKIP LOCKED.
 */
export class EmailOutboxDao {
  /** Writes the row; the body is sealed by `sealBody(id)` with the row id as additional data, so the id comes first. */
  async enqueue(em: EntityManager, orgId: string, m: { id: string; toAddress: string; template: string; subject: string; body: Sealed }): Promise<void> {
    await em.query(`INSERT INTO auth.email_outbox (id, org_id, to_address, template, subject, body) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`, [
      m.id,
      orgId,
      m.toAddress,
      m.template,
      m.subject,
      JSON.stringify(m.body),
    ]);
  }

  /** E-mails of one template queued to one address in the last hour (a rate limit on e-mails anyone can trigger). */
  async countRecentTo(em: EntityManager, orgId: string, toAddress: string, template: string): Promise<number> {
    const rows: Array<{ n: number }> = await em.query(
      `SELECT count(*)::int AS n FROM auth.email_outbox WHERE org_id = $1 AND to_address = $2 AND template = $3 AND created_at > now() - interval '1 hour'`,
      [orgId, toAddress, template],
    );
    return rows[0]!.n;
  }

  claimDue(em: EntityManager, limit: number, maxAttempts: number): Promise<PendingEmail[]> {
    return em.query(
      `SELECT id, org_id AS "orgId", to_address AS "toAddress", template, subject, body, attempts FROM auth.email_outbox
       WHERE sent_at IS NULL AND body IS NOT NULL AND attempts < $2 AND next_attempt_at <= now()
       ORDER BY next_attempt_at, created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit, maxAttempts],
    );
  }

  /** Sent: the sealed body (its single-use link) is no longer kept. */
  async markSent(em: EntityManager, id: string): Promise<void> {
    await em.query(`UPDATE auth.email_outbox SET sent_at = now(), body = NULL, last_error = NULL WHERE id = $1`, [id]);
  }

  /** A failed attempt: retried after `delayMs`; on the last allowed attempt the body is dropped (given up). */
  async markFailed(em: EntityManager, id: string, error: string, delayMs: number, giveUp: boolean): Promise<void> {
    await em.query(
      `UPDATE auth.email_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3::float8 / 1000),
         body = CASE WHEN $4::boolean THEN NULL ELSE body END WHERE id = $1`,
      [id, error.slice(0, 500), delayMs, giveUp],
    );
  }

  /** Rows still to send (for readiness / tests). */
  async pendingCount(em: EntityManager): Promise<number> {
    const rows = returningRows<{ n: number }>(await em.query(`SELECT count(*)::int AS n FROM auth.email_outbox WHERE sent_at IS NULL AND body IS NOT NULL`));
    return rows[0]!.n;
  }
}
