import type { FieldMapping, MappingSpec } from '../spec';

export type ChangeKind = 'ADDED' | 'REMOVED' | 'CHANGED';

export interface FieldChange {
  column: string;
  change: ChangeKind;
  beforeKind: FieldMapping['kind'] | null;
  afterKind: FieldMapping['kind'] | null;
  /** The definition as JSON (null when there is none on that side). */
  before: string | null;
  after: string | null;
}

export interface PartChange {
  /** The alias of a source or join, or the name of a CTE. */
  key: string;
  change: ChangeKind;
  before: string | null;
  after: string | null;
}

export interface MappingDiff {
  fields: FieldChange[];
  sources: PartChange[];
  joins: PartChange[];
  ctes: PartChange[];
  wildcards: PartChange[];
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

function diffKeyed<T>(a: readonly T[], b: readonly T[], keyOf: (t: T) => string): PartChange[] {
  const before = new Map(a.map((x) => [keyOf(x), x]));
  const after = new Map(b.map((x) => [keyOf(x), x]));
  const out: PartChange[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const x = json(before.get(k));
    const y = json(after.get(k));
    if (x === y) continue;
    out.push({ key: k, change: x === null ? 'ADDED' : y === null ? 'REMOVED' : 'CHANGED', before: x, after: y });
  }
  return out;
}

/**
 * What changed from one version's spec to another's: every field by target column (in the
 * table's column order, then by name), then sources, joins, CTEs and wildcards.
 */
export function diffSpecs(a: MappingSpec, b: MappingSpec, columnOrder: readonly string[] = []): MappingDiff {
  const rank = new Map(columnOrder.map((c, i) => [c, i]));
  const columns = [...new Set([...Object.keys(a.fields), ...Object.keys(b.fields)])].sort(
    (x, y) => (rank.get(x) ?? Infinity) - (rank.get(y) ?? Infinity) || (x < y ? -1 : x > y ? 1 : 0),
  );
  const fields: FieldChange[] = [];
  for (const column of columns) {
    const x = a.fields[column];
    const y = b.fields[column];
    if (json(x) === json(y)) continue;
    fields.push({
      column,
      change: !x ? 'ADDED' : !y ? 'REMOVED' : 'CHANGED',
      beforeKind: x?.kind ?? null,
      afterKind: y?.kind ?? null,
      before: json(x),
      after: json(y),
    });
  }
  return {
    fields,
    sources: diffKeyed(a.sources, b.sources, (s) => s.alias),
    joins: diffKeyed(a.joins, b.joins, (j) => j.alias),
    ctes: diffKeyed(a.ctes, b.ctes, (c) => c.name),
    wildcards: diffKeyed(a.wildcards, b.wildcards, (w) => w),
  };
}
