import mysql from 'mysql2/promise';
import type { DiscoveredForeignKey } from '@datalinx/contracts';
import { explainMysqlError, mysqlConnectionOptions, type MysqlTarget } from '../connectors/mysql';
import type { CatalogColumn, CatalogOpener, SourceCatalog, TableRef } from './catalog';
import { countFailed, countPlanOf, exactCount, planMysqlEstimate, type RowEstimate } from './row-estimate';

const quoteIdent = (s: string) => `\`${s.replace(/`/g, '``')}\``;

/**
 * MySQL/MariaDB catalog reader for discovery: information_schema of the connection's database,
 * sampling with LIMIT. Row estimates: a table whose data (DATA_LENGTH) is at most
 * `exactCountMaxBytes` is counted exactly (InnoDB's TABLE_ROWS is a sampled, cached estimate that
 * can say 0 for a table just filled); a bigger one keeps TABLE_ROWS.
 */
export function mysqlCatalog(t: MysqlTarget, timeoutMs: number, exactCountMaxBytes = 0): CatalogOpener {
  return async () => {
    let conn: mysql.Connection;
    try {
      // Values as text, like PostgreSQL's ::text (dates included).
      conn = await mysql.createConnection(mysqlConnectionOptions(t, { connectTimeoutMs: timeoutMs, textValues: true }));
      conn.on('error', () => undefined);
    } catch (err) {
      return { error: explainMysqlError(err as Error, t) };
    }
    const q = async <R>(sql: string, values: unknown[] = []) => (await conn.query({ sql, values, timeout: timeoutMs }))[0] as R[];
    const [who] = await q<{ u: string; v: string }>('SELECT CURRENT_USER() AS u, VERSION() AS v');
    const mariadb = /mariadb/i.test(who!.v);
    const catalog: SourceCatalog = {
      describe: () => `signed in as ${who!.u} (${mariadb ? 'MariaDB' : 'MySQL'} ${who!.v.replace(/-MariaDB.*$/i, '')})`,
      tables: async () => {
        const rows = await q<{ s: string; n: string; k: string; est: string | number | null; bytes: string | number | null }>(
          `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS n, TABLE_TYPE AS k, TABLE_ROWS AS est, DATA_LENGTH AS bytes FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE IN ('BASE TABLE','VIEW','SYSTEM VERSIONED') ORDER BY TABLE_NAME`,
        );
        return rows.map((r): TableRef => ({
          ref: r.n,
          schema: r.s,
          name: r.n,
          kind: r.k === 'VIEW' ? 'VIEW' : 'TABLE',
          estimate: planMysqlEstimate(
            { view: r.k === 'VIEW', tableRows: r.est === null ? null : Number(r.est), dataBytes: r.bytes === null ? null : Number(r.bytes) },
            exactCountMaxBytes,
          ),
        }));
      },
      countRows: async (x, countTimeoutMs): Promise<RowEstimate> => {
        const plan = countPlanOf(x);
        const ms = Math.max(1, Math.floor(countTimeoutMs));
        // The server stops the count (MariaDB: max_statement_time; MySQL: MAX_EXECUTION_TIME), before the client gives up on the connection.
        const sql = mariadb
          ? `SET STATEMENT max_statement_time = ${ms / 1000} FOR SELECT COUNT(*) AS n FROM ${quoteIdent(x.schema)}.${quoteIdent(x.name)}`
          : `SELECT /*+ MAX_EXECUTION_TIME(${ms}) */ COUNT(*) AS n FROM ${quoteIdent(x.schema)}.${quoteIdent(x.name)}`;
        try {
          const [rows] = await conn.query({ sql, timeout: ms + 5000 });
          return exactCount(Number((rows as Array<{ n: string | number }>)[0]!.n), plan);
        } catch (err) {
          return countFailed(plan, err as Error);
        }
      },
      structure: async (tables) => {
        const out = new Map<string, { columns: CatalogColumn[]; primaryKey: string[]; foreignKeys: DiscoveredForeignKey[] }>();
        for (const x of tables) out.set(x.ref, { columns: [], primaryKey: [], foreignKeys: [] });
        if (!tables.length) return out;
        const cols = await q<{ t: string; c: string; ty: string; nul: string }>(
          `SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty, IS_NULLABLE AS nul FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
        );
        for (const r of cols) out.get(r.t)?.columns.push({ name: r.c, type: String(r.ty), nullable: r.nul === 'YES' });
        const keys = await q<{ cn: string; t: string; c: string; rs: string | null; rt: string | null; rc: string | null }>(
          `SELECT CONSTRAINT_NAME AS cn, TABLE_NAME AS t, COLUMN_NAME AS c, REFERENCED_TABLE_SCHEMA AS rs, REFERENCED_TABLE_NAME AS rt, REFERENCED_COLUMN_NAME AS rc
             FROM information_schema.KEY_COLUMN_USAGE
            WHERE TABLE_SCHEMA = DATABASE() AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL)
            ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
        );
        for (const r of keys) {
          const entry = out.get(r.t);
          if (!entry) continue;
          if (r.cn === 'PRIMARY' && !r.rt) {
            entry.primaryKey.push(r.c);
            continue;
          }
          let fk = entry.foreignKeys.find((f) => f.name === r.cn);
          if (!fk) {
            fk = { name: r.cn, columns: [], referencedTable: `${r.rs}.${r.rt}`, referencedColumns: [] };
            entry.foreignKeys.push(fk);
          }
          fk.columns.push(r.c);
          fk.referencedColumns.push(r.rc ?? '');
        }
        return out;
      },
      sample: async (x, columns, limit, clip, onRow) => {
        if (!columns.length || limit <= 0) return;
        const select = columns.map((c) => `LEFT(CAST(${quoteIdent(c)} AS CHAR), ${clip})`).join(', ');
        const [rows] = await conn.query({
          sql: `SELECT ${select} FROM ${quoteIdent(x.schema)}.${quoteIdent(x.name)} LIMIT ?`,
          values: [limit],
          rowsAsArray: true,
          timeout: timeoutMs,
        });
        for (const row of rows as unknown as Array<Array<string | Buffer | null>>)
          onRow(row.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v))));
      },
      close: async () => {
        await conn.end().catch(() => undefined);
      },
    };
    return { catalog };
  };
}
