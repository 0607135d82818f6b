import DataLoader from 'dataloader';

/**
 * Per-request batching for entity references and list lookups: a request costs O(1) queries per
 * subgraph whatever the list sizes. `fetch` gets all keys at once and returns rows in any order.
 */
export function byIdLoader<K extends string, V extends { id: string }>(fetch: (ids: readonly K[]) => Promise<V[]>): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(async (ids) => {
    const rows = await fetch(ids);
    const map = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => map.get(id) ?? null);
  });
}

export function groupLoader<K extends string, V>(fetch: (keys: readonly K[]) => Promise<V[]>, keyOf: (v: V) => K): DataLoader<K, V[]> {
  return new DataLoader<K, V[]>(async (keys) => {
    const rows = await fetch(keys);
    const groups = new Map<K, V[]>();
    for (const r of rows) {
      const k = keyOf(r);
      const g = groups.get(k);
      if (g) g.push(r);
      else groups.set(k, [r]);
    }
    return keys.map((k) => groups.get(k) ?? []);
  });
}
