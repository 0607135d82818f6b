import { createHash } from 'node:crypto';

/**
 * Names in a workspace's warehouse schema that more than one part of the platform must agree on:
 * the sync writes raw tables under these names, the dbt project generated from mappings reads them.
 */

/** `raw_<schema>__<table>` in the workspace schema; long names keep a prefix and a hash (room for the `__dlx_staging` suffix). */
export function destinationTableName(t: { schema: string; name: string }): string {
  const name = `raw_${t.schema}__${t.name}`;
  if (Buffer.byteLength(name) <= 48) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${Buffer.from(name)
    .subarray(0, 38)
    .toString('utf8')
    .replace(/\uFFFD+$/, '')}_${hash}`;
}

/**
 * The dbt staging model of one loaded source table: `stg_<connection 8 hex>__<schema>__<table>`,
 * lower-cased, every character outside [a-z0-9_] as `_`; long names keep a prefix and a hash, so
 * the result is a valid unquoted identifier of at most 51 bytes (dbt inlines an ephemeral model as
 * the CTE `__dbt__cte__<name>`, which must fit PostgreSQL's 63) and distinct tables never share it.
 */
export function stagingModelName(t: { connectionId: string; schema: string; name: string }): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const name = `stg_${t.connectionId.replace(/-/g, '').slice(0, 8)}__${clean(t.schema)}__${clean(t.name)}`;
  const exact = name === `stg_${t.connectionId.replace(/-/g, '').slice(0, 8)}__${t.schema}__${t.name}`;
  if (exact && name.length <= 51) return name;
  const hash = createHash('sha256').update(`${t.connectionId}\0${t.schema}\0${t.name}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 42)}_${hash}`;
}

/** A workspace's schema and login role in the platform warehouse: `ws_` / `dlx_ws_` + the first 12 hex digits of its id (random in a v4 uuid). */
export function platformWarehouseNames(workspaceId: string): { schema: string; role: string } {
  const hex = workspaceId.replace(/-/g, '').slice(0, 12).toLowerCase();
  return { schema: `ws_${hex}`, role: `dlx_ws_${hex}` };
}
