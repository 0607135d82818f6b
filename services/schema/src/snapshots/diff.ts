/** A table as a snapshot holds it, for diffing: its qualified name and its columns' shapes. */
export interface TableShape {
  name: string;
  columns: Array<{ name: string; type: string; nullable: boolean }>;
}

export interface ColumnChange {
  name: string;
  /** `type` or `type NOT NULL`, before and after. */
  from: string;
  to: string;
}

export interface SnapshotDiff {
  /** The version this diff is against; null for a connection's first snapshot (every table is added). */
  previousVersion: number | null;
  addedTables: string[];
  removedTables: string[];
  changedTables: Array<{ name: string; addedColumns: string[]; removedColumns: string[]; changedColumns: ColumnChange[] }>;
}

const shape = (c: { type: string; nullable: boolean }) => (c.nullable ? c.type : `${c.type} NOT NULL`);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What changed from `before` (version `previousVersion`) to `after`: tables and columns by name, types and nullability. */
export function diffSnapshots(previousVersion: number | null, before: readonly TableShape[], after: readonly TableShape[]): SnapshotDiff {
  const old = new Map(before.map((t) => [t.name, t]));
  const next = new Map(after.map((t) => [t.name, t]));
  const diff: SnapshotDiff = {
    previousVersion,
    addedTables: [...next.keys()].filter((n) => !old.has(n)).sort(byName),
    removedTables: [...old.keys()].filter((n) => !next.has(n)).sort(byName),
    changedTables: [],
  };
  for (const name of [...next.keys()].filter((n) => old.has(n)).sort(byName)) {
    const a = new Map(old.get(name)!.columns.map((c) => [c.name, c]));
    const b = new Map(next.get(name)!.columns.map((c) => [c.name, c]));
    const addedColumns = [...b.keys()].filter((c) => !a.has(c));
    const removedColumns = [...a.keys()].filter((c) => !b.has(c));
    const changedColumns = [...b.keys()]
      .filter((c) => a.has(c) && shape(a.get(c)!) !== shape(b.get(c)!))
      .map((c) => ({ name: c, from: shape(a.get(c)!), to: shape(b.get(c)!) }));
    if (addedColumns.length || removedColumns.length || changedColumns.length) diff.changedTables.push({ name, addedColumns, removedColumns, changedColumns });
  }
  return diff;
}
