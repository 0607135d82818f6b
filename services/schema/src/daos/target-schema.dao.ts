import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';
import { enqueueOutbox } from '@datalinx/messaging';
import { TARGET_SCHEMA_CHANGED_V1, type TargetSchemaChangedV1, type TargetSchemaDocument } from '@datalinx/contracts';
import { EMPTY_DOCUMENT, normalizeDocument } from '../target/document';

export interface TargetTableRow {
  id: string;
  orgId: string;
  workspaceId: string;
  name: string;
  description: string;
  position: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface TargetColumnRow {
  tableId: string;
  /** 1-based column order. */
  position: number;
  name: string;
  dataType: string;
  nullable: boolean;
  description: string;
  canonicalType: string | null;
  primaryKey: boolean;
}

export interface TargetRelationshipRow {
  id: string;
  orgId: string;
  workspaceId: string;
  name: string;
  position: number;
  fromTableId: string;
  fromColumns: string[];
  toTableId: string;
  toColumns: string[];
}

export interface TargetSchemaVersionRow {
  id: string;
  orgId: string;
  workspaceId: string;
  version: number;
  document: TargetSchemaDocument;
  tableIds: Record<string, string>;
  summary: string;
  actorKind: 'user' | 'service-account' | 'system';
  actorId: string | null;
  createdAt: Date;
}

/** A version as lists show it (without its document). */
export type TargetSchemaVersionListRow = Omit<TargetSchemaVersionRow, 'document' | 'tableIds'> & { tableCount: number };

/** A workspace's target schema as it is now (read under the workspace's lock by `change`). */
export interface CurrentTargetSchema {
  version: number;
  document: TargetSchemaDocument;
  tables: TargetTableRow[];
  relationships: TargetRelationshipRow[];
}

export type Actor = TargetSchemaChangedV1['actor'];

const TABLE_COLS = `id, org_id AS "orgId", workspace_id AS "workspaceId", name, description, position, version, created_at AS "createdAt", updated_at AS "updatedAt"`;
const COLUMN_COLS = `table_id AS "tableId", position, name, data_type AS "dataType", nullable, description, canonical_type AS "canonicalType", primary_key AS "primaryKey"`;
const REL_COLS = `id, org_id AS "orgId", workspace_id AS "workspaceId", name, position, from_table_id AS "fromTableId", from_columns AS "fromColumns", to_table_id AS "toTableId", to_columns AS "toColumns"`;
const VERSION_COLS = `id, org_id AS "orgId", workspace_id AS "workspaceId", version, document, table_ids AS "tableIds", summary, actor_kind AS "actorKind", actor_id AS "actorId", created_at AS "createdAt"`;

/**
 * Target tables, their columns and relationships, the versions of each workspace's target schema
 * and the schema service's replica of workspace ownership. Org-first methods; everything runs in a
 * tenant transaction (row-level security is the second wall).
 */
export class TargetSchemaDao {
  constructor(private readonly ds: DataSource) {}

  /** Records that `workspaceId` belongs to `orgId` (workspace.workspace.created.v1); idempotent. */
  recordWorkspace(orgId: string, workspaceId: string): Promise<boolean> {
    return withTenant(this.ds, orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO schema.workspace_ref (workspace_id, org_id) VALUES ($1, $2) ON CONFLICT (workspace_id) DO NOTHING RETURNING workspace_id`,
        [workspaceId, orgId],
      );
      return rows.length > 0;
    });
  }

  async workspaceKnown(orgId: string, workspaceId: string, em?: EntityManager): Promise<boolean> {
    return inTenant(em ?? this.ds, orgId, async (tx) => {
      const rows: unknown[] = await tx.query(`SELECT 1 FROM schema.workspace_ref WHERE org_id = $1 AND workspace_id = $2`, [orgId, workspaceId]);
      return rows.length > 0;
    });
  }

  tablesOfWorkspace(orgId: string, workspaceId: string): Promise<TargetTableRow[]> {
    return withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${TABLE_COLS} FROM schema.target_table WHERE org_id = $1 AND workspace_id = $2 ORDER BY position, id`, [orgId, workspaceId]),
    );
  }

  tablesByIds(orgId: string, ids: readonly string[]): Promise<TargetTableRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${TABLE_COLS} FROM schema.target_table WHERE org_id = $1 AND id = ANY($2::uuid[])`, [orgId, ids]),
    );
  }

  columnsOfTables(orgId: string, tableIds: readonly string[]): Promise<TargetColumnRow[]> {
    if (!tableIds.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(`SELECT ${COLUMN_COLS} FROM schema.target_column WHERE org_id = $1 AND table_id = ANY($2::uuid[]) ORDER BY table_id, position`, [
        orgId,
        tableIds,
      ]),
    );
  }

  /** Relationships from or to any of the tables. */
  relationshipsOfTables(orgId: string, tableIds: readonly string[]): Promise<TargetRelationshipRow[]> {
    if (!tableIds.length) return Promise.resolve([]);
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT ${REL_COLS} FROM schema.target_relationship WHERE org_id = $1 AND (from_table_id = ANY($2::uuid[]) OR to_table_id = ANY($2::uuid[])) ORDER BY position, id`,
        [orgId, tableIds],
      ),
    );
  }

  relationshipById(orgId: string, id: string): Promise<TargetRelationshipRow | null> {
    return withTenant(this.ds, orgId, async (em) => {
      const [row] = await em.query(`SELECT ${REL_COLS} FROM schema.target_relationship WHERE org_id = $1 AND id = $2`, [orgId, id]);
      return (row as TargetRelationshipRow | undefined) ?? null;
    });
  }

  /** Newest first; `after` is the version the previous page ended at. */
  versions(orgId: string, workspaceId: string, first: number, after: number | null): Promise<TargetSchemaVersionListRow[]> {
    return withTenant(this.ds, orgId, (em) =>
      em.query(
        `SELECT id, org_id AS "orgId", workspace_id AS "workspaceId", version, summary, actor_kind AS "actorKind", actor_id AS "actorId", created_at AS "createdAt",
                jsonb_array_length(document->'tables') AS "tableCount"
           FROM schema.target_schema_version WHERE org_id = $1 AND workspace_id = $2 AND ($3::int IS NULL OR version < $3) ORDER BY version DESC LIMIT $4`,
        [orgId, workspaceId, after, first + 1],
      ),
    );
  }

  /** One version; the latest when `version` is null. Null when there is none. */
  version(orgId: string, workspaceId: string, version: number | null, em?: EntityManager): Promise<TargetSchemaVersionRow | null> {
    return inTenant(em ?? this.ds, orgId, async (tx) => {
      const [row] = await tx.query(
        `SELECT ${VERSION_COLS} FROM schema.target_schema_version WHERE org_id = $1 AND workspace_id = $2 AND ($3::int IS NULL OR version = $3) ORDER BY version DESC LIMIT 1`,
        [orgId, workspaceId, version],
      );
      return (row as TargetSchemaVersionRow | undefined) ?? null;
    });
  }

  /**
   * Runs `fn` in one tenant transaction holding the workspace's target-schema lock, with the
   * schema as it is now: changes are serialized per workspace and versions are consecutive.
   */
  change<T>(orgId: string, workspaceId: string, fn: (em: EntityManager, current: CurrentTargetSchema) => Promise<T>): Promise<T> {
    return withTenant(this.ds, orgId, (em) => this.changeIn(em, orgId, workspaceId, fn));
  }

  /** `change` on a caller's tenant transaction (opened with `withTenant` for the same org). */
  async changeIn<T>(em: EntityManager, orgId: string, workspaceId: string, fn: (em: EntityManager, current: CurrentTargetSchema) => Promise<T>): Promise<T> {
    await em.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`target_schema:${workspaceId}`]);
    return fn(em, await this.current(em, orgId, workspaceId));
  }

  private async current(em: EntityManager, orgId: string, workspaceId: string): Promise<CurrentTargetSchema> {
    const latest = await this.version(orgId, workspaceId, null, em);
    const tables: TargetTableRow[] = await em.query(
      `SELECT ${TABLE_COLS} FROM schema.target_table WHERE org_id = $1 AND workspace_id = $2 ORDER BY position, id`,
      [orgId, workspaceId],
    );
    const relationships: TargetRelationshipRow[] = await em.query(
      `SELECT ${REL_COLS} FROM schema.target_relationship WHERE org_id = $1 AND workspace_id = $2 ORDER BY position, id`,
      [orgId, workspaceId],
    );
    return { version: latest?.version ?? 0, document: latest?.document ?? EMPTY_DOCUMENT, tables, relationships };
  }

  /**
   * Makes the workspace's tables, columns and relationships those of `doc` (a valid document),
   * then writes version N+1 with the document and its `schema.target_schema.changed.v1` event to
   * the outbox, all in the caller's `change` transaction. `keepIds` maps a table name of `doc`
   * to the id of the existing table it continues (renamed or not); other tables are new, and
   * existing tables not kept are deleted (with their relationships). A table's own `version`
   * goes up when its name, description or columns changed.
   */
  async save(
    em: EntityManager,
    current: CurrentTargetSchema,
    o: { orgId: string; workspaceId: string; doc: TargetSchemaDocument; keepIds: Record<string, string>; actor: Actor; summary: string },
  ): Promise<{ version: number; tableIds: Record<string, string> }> {
    const doc = normalizeDocument(o.doc);
    const existing = new Map(current.tables.map((t) => [t.id, t]));
    const before = new Map<string, string>();
    for (const t of normalizeDocument(current.document).tables) {
      const row = current.tables.find((r) => r.name === t.name);
      if (row) before.set(row.id, JSON.stringify(t));
    }
    // Only ids kept by a table of the new document: an existing table whose name is not in it goes.
    const kept = new Set(doc.tables.map((t) => o.keepIds[t.name]).filter((id): id is string => !!id && existing.has(id)));
    const removed = current.tables.filter((t) => !kept.has(t.id)).map((t) => t.id);
    if (removed.length) await em.query(`DELETE FROM schema.target_table WHERE org_id = $1 AND id = ANY($2::uuid[])`, [o.orgId, removed]);
    // Kept tables move out of the way first: a rename onto another kept table's old name must not collide mid-way.
    if (kept.size)
      await em.query(`UPDATE schema.target_table SET name = '_' || replace(id::text, '-', '_') WHERE org_id = $1 AND id = ANY($2::uuid[])`, [
        o.orgId,
        [...kept],
      ]);
    const tableIds: Record<string, string> = {};
    for (const [i, t] of doc.tables.entries()) {
      const id = o.keepIds[t.name] && kept.has(o.keepIds[t.name]!) ? o.keepIds[t.name]! : null;
      let tableId: string;
      if (id) {
        const changed = before.get(id) !== JSON.stringify(t);
        await em.query(
          `UPDATE schema.target_table SET name = $3, description = $4, position = $5,
                  version = version + CASE WHEN $6 THEN 1 ELSE 0 END, updated_at = CASE WHEN $6 THEN now() ELSE updated_at END
            WHERE org_id = $1 AND id = $2`,
          [o.orgId, id, t.name, t.description, i + 1, changed],
        );
        tableId = id;
        if (!changed) {
          tableIds[t.name] = tableId;
          continue;
        }
        await em.query(`DELETE FROM schema.target_column WHERE org_id = $1 AND table_id = $2`, [o.orgId, id]);
      } else {
        const [row] = await em.query(
          `INSERT INTO schema.target_table (org_id, workspace_id, name, description, position) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [o.orgId, o.workspaceId, t.name, t.description, i + 1],
        );
        tableId = (row as { id: string }).id;
      }
      tableIds[t.name] = tableId;
      await em.query(
        `INSERT INTO schema.target_column (org_id, table_id, position, name, data_type, nullable, description, canonical_type, primary_key)
         SELECT $1, $2, c.ord, c.v->>'name', c.v->>'dataType', (c.v->>'nullable')::boolean, c.v->>'description', c.v->>'canonicalType', (c.v->>'primaryKey')::boolean
           FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS c(v, ord)`,
        [o.orgId, tableId, JSON.stringify(t.columns)],
      );
    }
    const names = doc.relationships.map((r) => r.name.toLowerCase());
    await em.query(`DELETE FROM schema.target_relationship WHERE org_id = $1 AND workspace_id = $2 AND NOT (lower(name) = ANY($3::text[]))`, [
      o.orgId,
      o.workspaceId,
      names,
    ]);
    for (const [i, r] of doc.relationships.entries()) {
      await em.query(
        `INSERT INTO schema.target_relationship (org_id, workspace_id, name, position, from_table_id, from_columns, to_table_id, to_columns)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (org_id, workspace_id, lower(name)) DO UPDATE SET name = EXCLUDED.name, position = EXCLUDED.position,
           from_table_id = EXCLUDED.from_table_id, from_columns = EXCLUDED.from_columns, to_table_id = EXCLUDED.to_table_id, to_columns = EXCLUDED.to_columns`,
        [o.orgId, o.workspaceId, r.name, i + 1, tableIds[r.fromTable], r.fromColumns, tableIds[r.toTable], r.toColumns],
      );
    }
    const version = current.version + 1;
    await em.query(
      `INSERT INTO schema.target_schema_version (org_id, workspace_id, version, document, table_ids, summary, actor_kind, actor_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [o.orgId, o.workspaceId, version, JSON.stringify(doc), JSON.stringify(tableIds), o.summary, o.actor.kind, o.actor.id],
    );
    const event: TargetSchemaChangedV1 = { orgId: o.orgId, workspaceId: o.workspaceId, version, document: doc, tableIds, actor: o.actor };
    await enqueueOutbox(em, TARGET_SCHEMA_CHANGED_V1, event);
    return { version, tableIds };
  }

  /** Marks a promotion as answered; false when it already was (a redelivered request). */
  async claimPromotion(em: EntityManager, p: { promotionId: string; orgId: string; fromWorkspaceId: string; toWorkspaceId: string }): Promise<boolean> {
    const rows: unknown[] = await em.query(
      `INSERT INTO schema.promotion_applied (promotion_id, org_id, from_workspace_id, to_workspace_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (promotion_id) DO NOTHING RETURNING promotion_id`,
      [p.promotionId, p.orgId, p.fromWorkspaceId, p.toWorkspaceId],
    );
    return rows.length > 0;
  }

  async recordPromotionItems(em: EntityManager, promotionId: string, items: unknown[]): Promise<void> {
    await em.query(`UPDATE schema.promotion_applied SET items = $2 WHERE promotion_id = $1`, [promotionId, JSON.stringify(items)]);
  }
}
