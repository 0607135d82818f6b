import { Client } from 'pg';
import type { DiscoveredForeignKey } from '@datalinx/contracts';
import { connectPostgres, explainPgError, type PostgresTarget } from '../connectors/postgres';
import type { CatalogColumn, CatalogOpener, SourceCatalog, TableRef } from './catalog';
import { countFailed, countPlanOf, countTimedOut, exactCount, planPostgresEstimate, type RowEstimate } from './row-estimate';
import { qi } from '../sync/sql';

/**
 * PostgreSQL catalog reader for discovery: pg_catalog queries (types as format_type prints them),
 * sampling with LIMIT. Row estimates: `reltuples`; a relation never analyzed and at most
 * `exactCountMaxBytes` on disk (pg_relation_size, summed over a partitioned table's partitions:
 * a stat of its files, no scan) is counted exactly (`countRows`), bounded by a statement_timeout.
 */
export function postgresCatalog(t: PostgresTarget, timeoutMs: number, exactCountMaxBytes = 0): CatalogOpener {
  return async () => {
    let client: Client;
    try {
      client = (await connectPostgres(t, { applicationName: 'datalinx-discovery', connectTimeoutMs: timeoutMs, queryTimeoutMs: timeoutMs })).client;
      // Read-only session: discovery never writes to a source.
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    } catch (err) {
      return { error: explainPgError(err as Error, t) };
    }
    const [who] = (await client.query(`SELECT current_user AS u, current_setting('server_version') AS v`)).rows;
    const catalog: SourceCatalog = {
      describe: () => `signed in as ${who.u} (PostgreSQL ${who.v})`,
      tables: async () => {
        const { rows } = await client.query(
          `SELECT c.oid::text AS ref, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.reltuples::float8 AS est,
                  CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(pg_relation_size(p.relid)), 0) FROM pg_partition_tree(c.oid) p)
                       WHEN c.relkind IN ('r','m') THEN pg_relation_size(c.oid) END::float8 AS bytes
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
              AND ($1::text IS NULL OR n.nspname = $1)
              AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
            ORDER BY n.nspname, c.relname`,
          [t.schema ?? null],
        );
        return rows.map((r): TableRef => ({
          ref: r.ref,
          schema: r.schema,
          name: r.name,
          kind: r.kind === 'v' || r.kind === 'm' ? 'VIEW' : 'TABLE',
          // reltuples -1: never analyzed (PostgreSQL 14+); counted when small enough.
          estimate: planPostgresEstimate({ relkind: r.kind, reltuples: Number(r.est), bytes: r.bytes === null ? null : Number(r.bytes) }, exactCountMaxBytes),
        }));
      },
      countRows: async (x, countTimeoutMs): Promise<RowEstimate> => {
        const plan = countPlanOf(x);
        // The server stops the count (statement_timeout), before the client's own query timeout.
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(countTimeoutMs))}`);
          const { rows } = await client.query(`SELECT count(*)::float8 AS n FROM ${qi(x.schema)}.${qi(x.name)}`);
          return exactCount(Number(rows[0].n), plan);
        } catch (err) {
          if ((err as { code?: string }).code === '57014') return countTimedOut(countTimeoutMs, plan);
          return countFailed(plan, err as Error);
        } finally {
          await client.query('ROLLBACK').catch(() => undefined);
        }
      },
      structure: async (tables) => {
        const oids = tables.map((x) => x.ref);
        const out = new Map<string, { columns: CatalogColumn[]; primaryKey: string[]; foreignKeys: DiscoveredForeignKey[] }>();
        for (const x of tables) out.set(x.ref, { columns: [], primaryKey: [], foreignKeys: [] });
        if (!oids.length) return out;
        const cols = await client.query(
          `SELECT a.attrelid::text AS ref, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
             FROM pg_attribute a
            WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attrelid, a.attnum`,
          [oids],
        );
        for (const r of cols.rows) out.get(r.ref)?.columns.push({ name: r.name, type: r.type, nullable: r.nullable });
        const cons = await client.query(
          `SELECT con.conrelid::text AS ref, con.contype AS type, con.conname AS name,
                  ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
                  rn.nspname AS ref_schema, rc.relname AS ref_table,
                  ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_cols
             FROM pg_constraint con
             LEFT JOIN pg_class rc ON rc.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            WHERE con.contype IN ('p','f') AND con.conrelid = ANY($1::oid[])
            ORDER BY con.conrelid, con.conname`,
          [oids],
        );
        for (const r of cons.rows) {
          const entry = out.get(r.ref);
          if (!entry) continue;
          if (r.type === 'p') entry.primaryKey = r.cols;
          else entry.foreignKeys.push({ name: r.name, columns: r.cols, referencedTable: `${r.ref_schema}.${r.ref_table}`, referencedColumns: r.ref_cols });
        }
        return out;
      },
      sample: async (x, columns, limit, clip, onRow) => {
        if (!columns.length || limit <= 0) return;
        // Each value clipped in SQL: memory stays bounded by limit × columns × clip.
        const select = columns.map((c) => `left(${qi(c)}::text, ${clip})`).join(', ');
        const res = await client.query({ text: `SELECT ${select} FROM ${qi(x.schema)}.${qi(x.name)} LIMIT $1`, values: [limit], rowMode: 'array' });
        for (const row of res.rows as Array<Array<string | null>>) onRow(row);
      },
      close: async () => {
        await client.end().catch(() => undefined);
      },
    };
    return { catalog };
  };
}
