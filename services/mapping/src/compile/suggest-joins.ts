import type { CatalogSnapshot, CatalogTable } from '../daos/catalog.dao';
import type { MappingSpec } from '../spec';

/** A join key the source catalog suggests between two of a mapping's table sources. */
export interface SuggestedJoin {
  leftAlias: string;
  leftColumn: string;
  alias: string;
  rightColumn: string;
  /** PRIMARY_KEY: the right column is the right table's primary key (or the left's); SAME_NAME_ID: a `*_id` column both tables have. */
  reason: 'PRIMARY_KEY' | 'SAME_NAME_ID';
}

/**
 * Join keys between each source and the sources before it, from the latest snapshots: a column of
 * one table named like the other table's single-column primary key (`customers.id` ↔
 * `orders.customer_id`, or the same name on both sides), then same-named `*_id` columns. Joins
 * already in the spec are not suggested again.
 */
export function suggestJoins(spec: MappingSpec, catalog: readonly CatalogSnapshot[]): SuggestedJoin[] {
  const tables = new Map<string, CatalogTable>();
  for (const s of spec.sources) {
    if (!('connectionId' in s)) continue;
    const t = catalog.find((c) => c.connectionId === s.connectionId)?.tables.find((x) => x.schema === s.schema && x.name === s.table);
    if (t) tables.set(s.alias, t);
  }
  const existing = new Set(spec.joins.flatMap((j) => j.on.map((p) => `${p.leftAlias}.${p.leftColumn}=${j.alias}.${p.rightColumn}`)));
  const out: SuggestedJoin[] = [];
  const add = (j: SuggestedJoin) => {
    const k = `${j.leftAlias}.${j.leftColumn}=${j.alias}.${j.rightColumn}`;
    if (!existing.has(k)) {
      existing.add(k);
      out.push(j);
    }
  };
  const singular = (name: string) => name.replace(/ies$/, 'y').replace(/s$/, '');
  spec.sources.forEach((right, i) => {
    const rt = tables.get(right.alias);
    if (!rt || i === 0) return;
    for (const left of spec.sources.slice(0, i)) {
      const lt = tables.get(left.alias);
      if (!lt) continue;
      const lcols = new Set(lt.columns.map((c) => c.name));
      const rcols = new Set(rt.columns.map((c) => c.name));
      for (const [pkTable, pkAlias, other, otherAlias, otherCols, pkIsRight] of [
        [rt, right.alias, lt, left.alias, lcols, true],
        [lt, left.alias, rt, right.alias, rcols, false],
      ] as const) {
        if (pkTable.primaryKey.length !== 1) continue;
        const pk = pkTable.primaryKey[0]!;
        const candidates = [`${singular(pkTable.name)}_${pk}`, pk === 'id' ? `${singular(pkTable.name)}_id` : pk, pk].filter((c) => otherCols.has(c));
        const col = candidates[0];
        if (!col || (col === pk && pk === 'id' && other.primaryKey.includes('id'))) continue;
        if (pkIsRight) add({ leftAlias: otherAlias, leftColumn: col, alias: pkAlias, rightColumn: pk, reason: 'PRIMARY_KEY' });
        else add({ leftAlias: pkAlias, leftColumn: pk, alias: otherAlias, rightColumn: col, reason: 'PRIMARY_KEY' });
      }
      for (const c of lt.columns)
        if (c.name.endsWith('_id') && rcols.has(c.name))
          add({ leftAlias: left.alias, leftColumn: c.name, alias: right.alias, rightColumn: c.name, reason: 'SAME_NAME_ID' });
    }
  });
  return out;
}
