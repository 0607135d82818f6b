import type { DataSource, EntityManager } from 'typeorm';
import { inTenant, withTenant } from '@datalinx/db';
import type { CanonicalTypeCreatedV1 } from '@datalinx/contracts';

/** An org's custom canonical type as the workspace service knows it (the replica's row). */
export interface CanonicalTypeRef {
  orgId: string;
  name: string;
  typeId: string;
  /** The built-in whose validator and SQL normalizer the type uses. */
  baseType: string;
  /** Every pattern of the type's chain, root first (empty: it only renames its built-in). */
  patterns: string[];
}

/**
 * `workspace.canonical_type_ref`: the replica of the organizations' custom canonical types, fed by
 * `schema.canonical_type.created.v1`. Row-level security on the table: every method runs inside a
 * tenant transaction (`withTenant`/`inTenant`) for the org it names.
 */
export class CanonicalTypeRefDao {
  constructor(private readonly ds: DataSource) {}

  /**
   * Records the type; idempotent. A redelivered event (same creation time) changes nothing; only
   * a type created later under the same name replaces the row. Returns whether a row changed.
   */
  upsert(ev: CanonicalTypeCreatedV1): Promise<boolean> {
    return withTenant(this.ds, ev.orgId, async (em) => {
      const rows: unknown[] = await em.query(
        `INSERT INTO workspace.canonical_type_ref (org_id, name, type_id, label, parent, base_type, pattern, patterns, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (org_id, name) DO UPDATE SET type_id = EXCLUDED.type_id, label = EXCLUDED.label, parent = EXCLUDED.parent,
           base_type = EXCLUDED.base_type, pattern = EXCLUDED.pattern, patterns = EXCLUDED.patterns, created_at = EXCLUDED.created_at, recorded_at = now()
         WHERE canonical_type_ref.created_at < EXCLUDED.created_at
         RETURNING name`,
        [ev.orgId, ev.name, ev.typeId, ev.label, ev.parent, ev.baseType, ev.pattern, ev.patterns, ev.createdAt],
      );
      return rows.length > 0;
    });
  }

  /** The org's type of that name, or null. On a caller's transaction (`em`) it must be the same org's tenant transaction. */
  async find(db: DataSource | EntityManager, orgId: string, name: string): Promise<CanonicalTypeRef | null> {
    const rows: Array<{ org_id: string; name: string; type_id: string; base_type: string; patterns: string[] }> = await inTenant(db, orgId, (em) =>
      em.query(`SELECT org_id, name, type_id, base_type, patterns FROM workspace.canonical_type_ref WHERE org_id = $1 AND name = $2`, [orgId, name]),
    );
    const r = rows[0];
    return r ? { orgId: r.org_id, name: r.name, typeId: r.type_id, baseType: r.base_type, patterns: r.patterns } : null;
  }
}
