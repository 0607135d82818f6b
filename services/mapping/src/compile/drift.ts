import { normalizeType } from '@datalinx/sql';
import type { TargetSchemaDocument } from '@datalinx/contracts';
import type { CatalogSnapshot } from '../daos/catalog.dao';
import type { Mapping } from '../entities/mapping.entity';
import { analyzeMapping, describeColumn, type SourceColumnRef } from './analyze';

/** The target columns a new snapshot of one connection broke in one mapping, with the reason for each. */
export interface MappingDrift {
  mapping: Mapping;
  fields: Array<{ column: string; reason: string }>;
}

/**
 * What a connection's new snapshot breaks: every mapping is compiled against the catalog as it
 * was (the connection's previous snapshot), and each source column a mapped field reads — directly,
 * in an expression, through a CTE — or a join key of that connection is looked up in the new
 * snapshot: a removed table or column, or a column of another type, breaks the field (a broken
 * join key breaks every mapped field of the mapping).
 */
export async function detectDrift(
  mappings: readonly Mapping[],
  targetOf: (m: Mapping) => TargetSchemaDocument['tables'][number] | null,
  catalogBefore: readonly CatalogSnapshot[],
  previous: CatalogSnapshot,
  current: CatalogSnapshot,
): Promise<MappingDrift[]> {
  const why = (r: SourceColumnRef): string | null => {
    if (r.connectionId !== current.connectionId) return null;
    const was = previous.tables.find((t) => t.schema === r.schema && t.name === r.table);
    const now = current.tables.find((t) => t.schema === r.schema && t.name === r.table);
    if (!was) return null;
    if (!now) return `source table ${r.schema}.${r.table} was removed in snapshot v${current.version}`;
    const before = was.columns.find((c) => c.name === r.column);
    const after = now.columns.find((c) => c.name === r.column);
    if (!before) return null;
    if (!after) return `source column ${describeColumn(r)} was removed in snapshot v${current.version}`;
    if (normalizeType(before.type) !== normalizeType(after.type))
      return `source column ${describeColumn(r)} changed type from ${before.type} to ${after.type} in snapshot v${current.version}`;
    return null;
  };
  const out: MappingDrift[] = [];
  for (const m of mappings) {
    const analysis = await analyzeMapping(m.spec, targetOf(m), catalogBefore);
    const joinBreak = analysis.joinKeys.map(why).find((r): r is string => r !== null);
    const fields: MappingDrift['fields'] = [];
    const cteReads = new Map(analysis.ctes.map((c) => [`cte ${c.name}`, c.reads]));
    for (const f of analysis.fields) {
      if (f.state !== 'MAPPED') continue;
      // What the field reads: its lineage, and every column of the CTEs it passes through (filters and joins inside them too).
      const reads = [...f.sources, ...f.transformations.flatMap((t) => cteReads.get(t) ?? [])];
      const reason = reads.map(why).find((r): r is string => r !== null) ?? joinBreak;
      if (reason) fields.push({ column: f.column, reason });
    }
    if (fields.length) out.push({ mapping: m, fields });
  }
  return out;
}
