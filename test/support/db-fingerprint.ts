import type { DataSource } from 'typeorm';

const SERVICE_SCHEMAS = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'] as const;

/**
 * A fingerprint of every table of the five service schemas, taken as the admin (which sees
 * every org's rows): `schema.table → md5 of all its rows`. Two equal fingerprints mean nothing
 * was inserted, updated or deleted anywhere — in the tenant's rows or anyone else's. Outbox
 * tables are counted, not hashed: the relay stamps `sent_at` on its own schedule.
 */
export async function fingerprintDatabase(admin: DataSource): Promise<Record<string, string>> {
  const tables: Array<{ s: string; t: string }> = await admin.query(
    `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
      WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE' ORDER BY 1, 2`,
    [SERVICE_SCHEMAS],
  );
  const out: Record<string, string> = {};
  for (const { s, t } of tables) {
    const name = `"${s}"."${t}"`;
    const [row] =
      t === 'outbox'
        ? await admin.query(`SELECT 'rows:' || count(*) AS f FROM ${name}`)
        : await admin.query(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS f FROM ${name} x`);
    out[`${s}.${t}`] = (row as { f: string }).f;
  }
  return out;
}

/** Tables whose fingerprint differs between two snapshots (empty = nothing changed). */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}
