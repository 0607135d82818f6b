import type { DataSource, EntityManager } from 'typeorm';
import { inTenant } from '@datalinx/db';
import type { AuditEventV1 } from '@datalinx/contracts';
import { AuditEntry } from '../entities/audit-entry.entity';

export interface AuditPage {
  first: number;
  after?: { createdAt: Date; id: string };
}

/** Already validated by the manager; every field optional, all given ones must match. */
export interface AuditLogFilter {
  actorId?: string;
  action?: string;
  actionPrefix?: string;
  from?: Date;
  to?: Date;
}

const likePrefix = (p: string) => `${p.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The audit log of one org; every method takes the tenant (org) id first and runs inside a
 * `withTenant` transaction for it (its own, or the caller's, see `inTenant`).
 */
export class AuditLogDao {
  constructor(private readonly db: DataSource | EntityManager) {}

  /** Stores the event unless a row with its id exists; returns whether a row was written. */
  async insertIfMissing(orgId: string, e: AuditEventV1): Promise<boolean> {
    const written: unknown[] = await inTenant(this.db, orgId, (em) =>
      em.query(
        `INSERT INTO monitoring.audit_log (id, org_id, occurred_at, actor_type, actor_id, actor_email, action, target_type, target_id, ip, user_agent, outcome, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO NOTHING
         RETURNING id`,
        [
          e.id,
          orgId,
          new Date(e.occurredAt),
          e.actor.type,
          e.actor.id ?? null,
          e.actor.email ?? null,
          e.action,
          e.target?.type ?? null,
          e.target?.id ?? null,
          e.ip ?? null,
          e.userAgent ?? null,
          e.outcome,
          JSON.stringify(e.details),
        ],
      ),
    );
    return written.length > 0;
  }

  /** Keyset page, newest first; fetches one extra row to know whether there is a next page. */
  list(orgId: string, filter: AuditLogFilter, page: AuditPage): Promise<AuditEntry[]> {
    return inTenant(this.db, orgId, (em) => {
      const qb = em
        .getRepository(AuditEntry)
        .createQueryBuilder('a')
        .where('a.orgId = :orgId', { orgId })
        .orderBy('a.occurredAt', 'DESC')
        .addOrderBy('a.id', 'DESC')
        .limit(page.first + 1);
      if (filter.actorId) qb.andWhere('a.actorId = :actorId', { actorId: filter.actorId });
      if (filter.action) qb.andWhere('a.action = :action', { action: filter.action });
      if (filter.actionPrefix) qb.andWhere(`a.action LIKE :prefix ESCAPE '\\'`, { prefix: likePrefix(filter.actionPrefix) });
      if (filter.from) qb.andWhere('a.occurredAt >= :from', { from: filter.from });
      if (filter.to) qb.andWhere('a.occurredAt <= :to', { to: filter.to });
      if (page.after) qb.andWhere('(a.occurredAt, a.id) < (:at, :id)', { at: page.after.createdAt, id: page.after.id });
      return qb.getMany();
    });
  }
}
