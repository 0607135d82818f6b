import { In, QueryFailedError, type DataSource } from 'typeorm';
import { withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { Mapping } from '../entities/mapping.entity';
import { workspaceKnown } from './workspace-ref.dao';
import type { EventBodyOf, MAPPING_CREATED_V1 } from '@datalinx/contracts';

export interface Page {
  first: number;
  after?: { createdAt: Date; id: string };
}

export interface NewMapping {
  workspaceId: string;
  name: string;
  targetTable: string;
}

export interface OutboxMessage {
  id: string;
  subject: typeof MAPPING_CREATED_V1;
  payload: EventBodyOf<typeof MAPPING_CREATED_V1>;
}

export type InsertResult = { ok: true; mapping: Mapping } | { ok: false; conflict: 'name' | 'workspace' };

const NAME_UNIQUE_INDEX = 'mapping_ws_name_uq';

/**
 * Mapping rows; every method takes the tenant (org) id first and runs inside `withTenant`, so
 * the row-level security policy sees the same org the WHERE clause names.
 */
export class MappingDao {
  constructor(private readonly ds: DataSource) {}

  findByIds(orgId: string, ids: readonly string[]): Promise<Mapping[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) => em.getRepository(Mapping).findBy({ orgId, id: In([...ids]) }));
  }

  async existsByName(orgId: string, workspaceId: string, name: string): Promise<boolean> {
    return withTenant(this.ds, orgId, (em) =>
      em
        .getRepository(Mapping)
        .createQueryBuilder('m')
        .where('m.orgId = :orgId AND m.workspaceId = :workspaceId AND lower(m.name) = lower(:name)', { orgId, workspaceId, name })
        .getExists(),
    );
  }

  /** Keyset page, newest first; fetches one extra row to know whether there is a next page. */
  listByWorkspace(orgId: string, workspaceId: string, page: Page): Promise<Mapping[]> {
    return withTenant(this.ds, orgId, (em) => {
      const qb = em
        .getRepository(Mapping)
        .createQueryBuilder('m')
        .where('m.orgId = :orgId AND m.workspaceId = :workspaceId', { orgId, workspaceId })
        .orderBy('m.createdAt', 'DESC')
        .addOrderBy('m.id', 'DESC')
        .limit(page.first + 1);
      if (page.after) qb.andWhere('(m.createdAt, m.id) < (:at, :id)', { at: page.after.createdAt, id: page.after.id });
      return qb.getMany();
    });
  }

  /**
   * Inserts the mapping and the outbox message built from it in one transaction: both or
   * neither. A name already taken in the workspace (the unique index decides, also under races)
   * comes back as a conflict, with nothing written; so does a workspace the org does not own
   * (no mapping.workspace_ref row of this org: another org's, unknown, or not replicated yet).
   */
  async insertWithEvent(orgId: string, values: NewMapping, event: (m: Mapping) => OutboxMessage): Promise<InsertResult> {
    try {
      return await withTenant(this.ds, orgId, async (em) => {
        if (!(await workspaceKnown(em, orgId, values.workspaceId))) return { ok: false as const, conflict: 'workspace' as const };
        const repo = em.getRepository(Mapping);
        const mapping = await repo.save(repo.create({ ...values, orgId, version: 1 }));
        const msg = event(mapping);
        await enqueueOutbox(em, msg.subject, msg.payload, msg.id);
        return { ok: true as const, mapping };
      });
    } catch (err) {
      if (isUniqueViolation(err, NAME_UNIQUE_INDEX)) return { ok: false, conflict: 'name' };
      throw err;
    }
  }
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const d = err.driverError as { code?: string; constraint?: string };
  return d?.code === '23505' && d.constraint === constraint;
}
