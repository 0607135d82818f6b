import { canonicalTypeByName, platformWarehouseNames, type TargetTable } from '@datalinx/contracts';
import type { CanonicalResolver } from './canonical';
import type { CatalogSnapshot, TargetSchemaRef } from '../daos/catalog.dao';
import type { DriftNoticeRow } from '../daos/mapping.dao';
import type { Mapping } from '../entities/mapping.entity';
import { generateDbtProject, type DbtModelInput, type DbtSourceTableInput } from '../dbt';
import { analyzeMapping, type MappingAnalysis } from './analyze';

/** The target table a mapping fills, from the workspace's replicated target schema (by id, else by name). */
export function targetTableFor(m: Pick<Mapping, 'targetTableId' | 'targetTable'>, target: TargetSchemaRef | null): TargetTable | null {
  if (!target) return null;
  const name = m.targetTableId ? Object.entries(target.tableIds).find(([, id]) => id === m.targetTableId)?.[0] : m.targetTable;
  return target.document.tables.find((t) => t.name === name) ?? null;
}

/**
 * The reasons of the drift notices written after the mapping last changed (newest first: the
 * latest reason for a column wins); changing the mapping is the user's answer to a notice.
 */
export function activeDrift(notices: readonly DriftNoticeRow[], m: Pick<Mapping, 'updatedAt'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of notices) if (n.createdAt > m.updatedAt) for (const f of n.fields) if (!out.has(`field:${f.column}`)) out.set(`field:${f.column}`, f.reason);
  return out;
}

export interface WorkspaceProject {
  files: Array<{ path: string; content: string }>;
  digest: string;
  /** The target tables that became models (mappings whose SELECT compiles), in name order. */
  models: string[];
}

/**
 * A workspace's dbt project: every mapping whose SELECT compiles becomes a model (fields in ERROR
 * or AMBIGUOUS keep a mapping out), every source table of the latest snapshots a staging model,
 * relationships between models' tables become tests. `analysis` gives a mapping's analysis when
 * the caller has it already (the API caches them per request).
 */
export async function buildWorkspaceProject(o: {
  workspaceId: string;
  mappings: readonly Mapping[];
  target: TargetSchemaRef | null;
  catalog: readonly CatalogSnapshot[];
  notices: readonly DriftNoticeRow[];
  /** The org's canonical types (CANONICALIZE, format tests); built-ins only by default. */
  canonical?: CanonicalResolver;
  analysis?: (m: Mapping) => Promise<MappingAnalysis>;
}): Promise<WorkspaceProject> {
  const canonical = o.canonical ?? canonicalTypeByName;
  const models: DbtModelInput[] = [];
  for (const m of o.mappings) {
    const table = targetTableFor(m, o.target);
    if (!table) continue;
    const analysis = o.analysis
      ? await o.analysis(m)
      : await analyzeMapping(
          m.spec,
          table,
          o.catalog,
          activeDrift(
            o.notices.filter((n) => n.mappingId === m.id),
            m,
          ),
          canonical,
        );
    // A column whose canonical type is not known here builds without its format test.
    const known = { ...table, columns: table.columns.map((c) => (c.canonicalType && !canonical(c.canonicalType) ? { ...c, canonicalType: null } : c)) };
    if (analysis.sql) models.push({ table: known, sql: analysis.sql, mappingId: m.id, mappingVersion: m.version });
  }
  const sources: DbtSourceTableInput[] = o.catalog.flatMap((c) =>
    c.tables.map((t) => ({
      connectionId: c.connectionId,
      connectionName: c.connectionId,
      schema: t.schema,
      name: t.name,
      columns: t.columns.map((col) => ({ name: col.name, type: col.type })),
    })),
  );
  const { schema } = platformWarehouseNames(o.workspaceId);
  // The format tests of the org's own types check their own (narrowest) pattern.
  const canonicalPatterns: Record<string, string> = {};
  for (const m of models)
    for (const c of m.table.columns) {
      const def = c.canonicalType ? canonical(c.canonicalType) : undefined;
      if (def && c.canonicalType && !canonicalTypeByName(c.canonicalType)) canonicalPatterns[c.canonicalType] = def.pattern;
    }
  const project = generateDbtProject({
    canonicalPatterns,
    workspaceId: o.workspaceId,
    projectName: `dlx_${schema.slice(3)}`,
    version: o.mappings.reduce((n, m) => n + m.version, 0),
    targetSchema: schema,
    sources,
    models,
    relationships: (o.target?.document.relationships ?? []).filter(
      (r) => models.some((m) => m.table.name === r.fromTable) && models.some((m) => m.table.name === r.toTable),
    ),
  });
  return { files: project.files, digest: project.digest, models: models.map((m) => m.table.name).sort() };
}
