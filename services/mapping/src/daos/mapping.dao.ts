import { In, QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { Mapping } from '../entities/mapping.entity';
import { workspaceKnown } from './workspace-ref.dao';
import { MAPPING_DRIFT_DETECTED_V1, type EventBodyOf, type MAPPING_CREATED_V1 } from '@datalinx/contracts';
import type { MappingSpec } from '../spec';

export interface Page {
  first: number;
  after?: { createdAt: Date; id: string };
}

export interface NewMapping {
  workspaceId: string;
  name: string;
  targetTable: string;
  targetTableId: string | null;
  spec: MappingSpec;
}

/** Who made a version. */
export interface Author {
  kind: 'user' | 'service-account' | 'system';
  id: string | null;
}

/** One version of a mapping's definition. */
export interface MappingVersionRow {
  mappingId: string;
  version: number;
  spec: MappingSpec;
  authorKind: Author['kind'];
  authorId: string | null;
  summary: string;
  createdAt: Date;
}

/** The reasons a snapshot gave for fields it broke (mapping.drift_notice). */
export interface DriftNoticeRow {
  mappingId: string;
  snapshotId: string;
  fields: Array<{ column: string; reason: string }>;
  createdAt: Date;
}

export type UpdateResult = { ok: true; mapping: Mapping } | { ok: false; conflict: 'version' | 'missing'; current?: number };

type VersionRow = {
  mapping_id: string;
  version: number;
  spec: MappingSpec;
  author_kind: Author['kind'];
  author_id: string | null;
  summary: string;
  created_at: Date;
};
const toVersion = (r: VersionRow): MappingVersionRow => ({
  mappingId: r.mapping_id,
  version: r.version,
  spec: r.spec,
  authorKind: r.author_kind,
  authorId: r.author_id,
  summary: r.summary,
  createdAt: r.created_at,
});

export interface OutboxMessageOf<S extends typeof MAPPING_CREATED_V1 | typeof MAPPING_DRIFT_DETECTED_V1> {
  id: string;
  subject: S;
  payload: EventBodyOf<S>;
}
export type OutboxMessage = OutboxMessageOf<typeof MAPPING_CREATED_V1>;

export type InsertResult = { ok: true; mapping: Mapping } | { ok: false; conflict: 'name' | 'workspace' | 'target' };

const NAME_UNIQUE_INDEX = 'mapping_ws_name_uq';
const TARGET_UNIQUE_INDEX = 'mapping_ws_target_uq';

/**
 * Mapping rows; every method takes the tenant (org) id first and runs inside `withTenant`, so
 * the row-level security policy sees the same org the WHERE clause names.
 */
export class MappingDao {
  constructor(private readonly ds: DataSource) {}

  /** The data source (for reads that join a caller's tenant transaction or open their own). */
  get dataSource(): DataSource {
    return this.ds;
  }

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
  async insertWithEvent(orgId: string, values: NewMapping, author: Author, event: (m: Mapping) => OutboxMessage): Promise<InsertResult> {
    try {
      return await withTenant(this.ds, orgId, async (em) => {
        if (!(await workspaceKnown(em, orgId, values.workspaceId))) return { ok: false as const, conflict: 'workspace' as const };
        const repo = em.getRepository(Mapping);
        const mapping = await repo.save(repo.create({ ...values, orgId, version: 1 }));
        await insertVersion(em, orgId, mapping.id, 1, values.spec, author, 'Created');
        const msg = event(mapping);
        await enqueueOutbox(em, msg.subject, msg.payload, msg.id);
        return { ok: true as const, mapping };
      });
    } catch (err) {
      if (isUniqueViolation(err, NAME_UNIQUE_INDEX)) return { ok: false, conflict: 'name' };
      if (isUniqueViolation(err, TARGET_UNIQUE_INDEX)) return { ok: false, conflict: 'target' };
      throw err;
    }
  }

  /**
   * Replaces the spec when the mapping is still at `expectedVersion` (the row is locked, so two
   * writers cannot both pass the check) and records the new version; a stale version is a conflict
   * with the current one, and nothing is written.
   */
  updateSpec(orgId: string, id: string, expectedVersion: number, spec: MappingSpec, author: Author, summary: string): Promise<UpdateResult> {
    return withTenant(this.ds, orgId, async (em) => {
      const repo = em.getRepository(Mapping);
      const current = await repo.createQueryBuilder('m').setLock('pessimistic_write').where('m.orgId = :orgId AND m.id = :id', { orgId, id }).getOne();
      if (!current) return { ok: false as const, conflict: 'missing' as const };
      if (current.version !== expectedVersion) return { ok: false as const, conflict: 'version' as const, current: current.version };
      const version = current.version + 1;
      await repo.update({ orgId, id }, { spec, version });
      await insertVersion(em, orgId, id, version, spec, author, summary);
      return { ok: true as const, mapping: (await repo.findOneBy({ orgId, id }))! };
    });
  }

  /** Deletes the mapping with its versions and drift notices; false when it was not there. */
  async delete(orgId: string, id: string): Promise<boolean> {
    return withTenant(this.ds, orgId, async (em) => {
      const rows: unknown[] = await em.query(`DELETE FROM mapping.mapping WHERE org_id = $1 AND id = $2 RETURNING id`, [orgId, id]);
      return rows.length > 0;
    });
  }

  /** Every mapping of the workspace, oldest first. */
  listAllByWorkspace(db: DataSource | EntityManager, orgId: string, workspaceId: string): Promise<Mapping[]> {
    return inTenant(db, orgId, (em) => em.getRepository(Mapping).find({ where: { orgId, workspaceId }, order: { createdAt: 'ASC', id: 'ASC' } }));
  }

  /** The mappings of these target tables (batched). */
  findByTargetTableIds(orgId: string, ids: readonly string[]): Promise<Mapping[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) => em.getRepository(Mapping).findBy({ orgId, targetTableId: In([...ids]) }));
  }

  /** The versions of these mappings, newest first (batched). */
  async versionsOf(orgId: string, mappingIds: readonly string[]): Promise<MappingVersionRow[]> {
    if (!mappingIds.length) return [];
    const rows: VersionRow[] = await withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT mapping_id, version, spec, author_kind, author_id, summary, created_at FROM mapping.mapping_version
          WHERE org_id = $1 AND mapping_id = ANY($2::uuid[]) ORDER BY mapping_id, version DESC`,
        [orgId, [...mappingIds]],
      ),
    );
    return rows.map(toVersion);
  }

  /** One version of a mapping, or null. */
  async version(orgId: string, mappingId: string, version: number): Promise<MappingVersionRow | null> {
    const rows: VersionRow[] = await withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT mapping_id, version, spec, author_kind, author_id, summary, created_at FROM mapping.mapping_version
          WHERE org_id = $1 AND mapping_id = $2 AND version = $3`,
        [orgId, mappingId, version],
      ),
    );
    return rows[0] ? toVersion(rows[0]) : null;
  }

  /** The drift notices of these mappings, newest first (batched). */
  async driftNoticesOf(db: DataSource | EntityManager, orgId: string, mappingIds: readonly string[]): Promise<DriftNoticeRow[]> {
    if (!mappingIds.length) return [];
    const rows: Array<{ mapping_id: string; snapshot_id: string; fields: DriftNoticeRow['fields']; created_at: Date }> = await inTenant(db, orgId, (em) =>
      em.query(
        `SELECT mapping_id, snapshot_id, fields, created_at FROM mapping.drift_notice WHERE org_id = $1 AND mapping_id = ANY($2::uuid[]) ORDER BY created_at DESC`,
        [orgId, [...mappingIds]],
      ),
    );
    return rows.map((r) => ({ mappingId: r.mapping_id, snapshotId: r.snapshot_id, fields: r.fields, createdAt: r.created_at }));
  }

  /**
   * Records that a snapshot broke a mapping's fields and writes its event, once per (mapping,
   * snapshot): a redelivered snapshot finds the notice and writes nothing (false).
   */
  async recordDrift(
    em: EntityManager,
    orgId: string,
    mappingId: string,
    snapshotId: string,
    fields: DriftNoticeRow['fields'],
    event: OutboxMessageOf<typeof MAPPING_DRIFT_DETECTED_V1>,
  ): Promise<boolean> {
    const rows: unknown[] = await em.query(
      `INSERT INTO mapping.drift_notice (mapping_id, snapshot_id, org_id, fields) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING mapping_id`,
      [mappingId, snapshotId, orgId, JSON.stringify(fields)],
    );
    if (!rows.length) return false;
    await enqueueOutbox(em, MAPPING_DRIFT_DETECTED_V1, event.payload, event.id);
    return true;
  }
}

async function insertVersion(em: EntityManager, orgId: string, mappingId: string, version: number, spec: MappingSpec, author: Author, summary: string) {
  await em.query(
    `INSERT INTO mapping.mapping_version (mapping_id, version, org_id, spec, author_kind, author_id, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [mappingId, version, orgId, JSON.stringify(spec), author.kind, author.id, summary],
  );
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  if (!(err instanceof QueryFailedError)) return false;
  const d = err.driverError as { code?: string; constraint?: string };
  return d?.code === '23505' && d.constraint === constraint;
}
