/**
 * Which tables a discovery scope covers, the same for the worker that discovers (it lists only
 * these) and the schema service that builds the snapshot (it refreshes only these and carries
 * every other table of the previous snapshot over unchanged).
 */

/** A glob (`*`, `?`) as an anchored regular expression; every other character is literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Whether a scope names any table or pattern (an empty one means the whole source). */
export const scopeIsEmpty = (scope: { tables?: string[]; patterns?: string[] } | undefined): boolean => !scope?.tables?.length && !scope?.patterns?.length;

/**
 * Whether a table is in the discovery scope. Names are `schema.table`; an exact name or pattern
 * without a dot is matched against the bare table name. No tables and no patterns = everything.
 */
export function inDiscoveryScope(scope: { tables?: string[]; patterns?: string[] } | undefined, schema: string, table: string): boolean {
  if (scopeIsEmpty(scope)) return true;
  const full = `${schema}.${table}`;
  if ((scope!.tables ?? []).some((t) => t === full || (!t.includes('.') && t === table))) return true;
  return (scope!.patterns ?? []).some((p) => globToRegExp(p).test(p.includes('.') ? full : table));
}
