import DataLoader from 'dataloader';
import { isUuid } from '@datalinx/common';
import type { Viewer } from './viewer';

/**
 * Per-request batching for entity references and list lookups: a request costs O(1) queries per
 * subgraph whatever the list sizes. `fetch` gets all keys at once and returns rows in any order.
 *
 * Keys are UUIDs. They reach here from `__resolveReference` (`_entities` representations, which
 * the argument guard does not see) as well as from arguments, so a key that is not a UUID is
 * answered as nothing (null / no rows) without reaching `fetch` — PostgreSQL's uuid cast would
 * fail the whole batch — and keys are matched case-insensitively (PostgreSQL returns lower case).
 */
export function byIdLoader<K extends string, V extends { id: string }>(fetch: (ids: readonly K[]) => Promise<V[]>): DataLoader<K, V | null> {
  return new DataLoader<K, V | null>(async (ids) => {
    const valid = uuidKeys(ids);
    const rows = valid.length ? await fetch(valid) : [];
    const map = new Map(rows.map((r) => [r.id.toLowerCase(), r]));
    return ids.map((id) => (isUuid(id) ? (map.get(id.toLowerCase()) ?? null) : null));
  });
}

export function groupLoader<K extends string, V>(fetch: (keys: readonly K[]) => Promise<V[]>, keyOf: (v: V) => K): DataLoader<K, V[]> {
  return new DataLoader<K, V[]>(async (keys) => {
    const valid = uuidKeys(keys);
    const rows = valid.length ? await fetch(valid) : [];
    const groups = new Map<string, V[]>();
    for (const r of rows) {
      const k = keyOf(r).toLowerCase();
      const g = groups.get(k);
      if (g) g.push(r);
      else groups.set(k, [r]);
    }
    return keys.map((k) => (isUuid(k) ? (groups.get(k.toLowerCase()) ?? []) : []));
  });
}

/** The distinct well-formed keys, in lower case. */
const uuidKeys = <K extends string>(keys: readonly K[]): K[] => [...new Set(keys.filter((k) => isUuid(k)).map((k) => k.toLowerCase() as K))];

/**
 * Request-scoped state (loaders) for a manager built once per process, whose methods take the
 * viewer first: one value per viewer object — each request verifies its own — created on first
 * use and dropped with the request. The shared anonymous viewer gets a fresh value every call,
 * so nothing is cached across anonymous requests.
 */
export function perViewer<T>(make: (viewer: Viewer) => T): (viewer: Viewer) => T {
  const byViewer = new WeakMap<Viewer, T>();
  return (viewer) => {
    if (viewer.kind === 'anonymous') return make(viewer);
    let value = byViewer.get(viewer);
    if (value === undefined) {
      value = make(viewer);
      byViewer.set(viewer, value);
    }
    return value;
  };
}

/**
 * A request's by-id loader of a tenant's rows: `orgOf` says which organization the viewer may
 * read (null: none, so every id answers null), `fetch` reads those rows of that organization.
 * One loader per viewer (request), as `perViewer`.
 */
export function tenantByIdLoader<V extends { id: string }>(
  orgOf: (viewer: Viewer) => string | null,
  fetch: (orgId: string, ids: readonly string[]) => Promise<V[]>,
): (viewer: Viewer) => DataLoader<string, V | null> {
  return perViewer((viewer) =>
    byIdLoader<string, V>(async (ids) => {
      const orgId = orgOf(viewer);
      return orgId ? fetch(orgId, ids) : [];
    }),
  );
}
