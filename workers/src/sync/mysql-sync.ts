import { createConnection } from 'mysql2';
import type { Connection as PromiseConnection } from 'mysql2/promise';
import type { SourceSyncJobV1, SyncTableV1 } from '@datalinx/contracts';
import { explainMysqlError, mysqlConnectionOptions } from '../connectors/mysql';
import { encodeCopyField } from './copy-meter';
import { connectFailure, SyncFailure, type SyncOptions, type SyncOutcome, type SyncReporter } from './outcome';
import { runTableSourceSync, type LoadColumn, type TableSource } from './source-load';

const qm = (s: string) => `\`${s.replace(/`/g, '``')}\``;

interface MysqlColumn extends LoadColumn {
  /** The SELECT expression (a conversion where the value's text is not PostgreSQL's). */
  expr: string;
}

interface CatalogRow {
  name: string;
  dataType: string;
  columnType: string;
  precision: number | string | null;
  scale: number | string | null;
  length: number | string | null;
  dtPrecision: number | string | null;
}

/** A MySQL/MariaDB column as a PostgreSQL type and the SELECT expression giving its value's PostgreSQL text. */
export function mysqlColumn(c: CatalogRow): MysqlColumn {
  const col = qm(c.name);
  const unsigned = /unsigned/i.test(c.columnType);
  const frac = c.dtPrecision !== null && Number(c.dtPrecision) > 0 ? `(${Number(c.dtPrecision)})` : '';
  const as = (type: string, expr = col) => ({ name: c.name, type, expr });
  switch (c.dataType.toLowerCase()) {
    case 'tinyint':
      return as('smallint');
    case 'smallint':
      return as(unsigned ? 'integer' : 'smallint');
    case 'mediumint':
      return as('integer');
    case 'int':
    case 'integer':
      return as(unsigned ? 'bigint' : 'integer');
    case 'bigint':
      return as(unsigned ? 'numeric(20,0)' : 'bigint');
    case 'decimal':
    case 'numeric':
      return as(c.precision !== null ? `numeric(${Number(c.precision)},${Number(c.scale ?? 0)})` : 'numeric');
    case 'float':
      return as('real');
    case 'double':
    case 'real':
      return as('double precision');
    case 'bit':
      return as('bigint', `CAST(${col} AS UNSIGNED)`);
    case 'year':
      return as('smallint');
    case 'char':
    case 'varchar':
      return as(c.length !== null ? `varchar(${Number(c.length)})` : 'text');
    case 'date':
      return as('date');
    case 'datetime':
      return as(`timestamp${frac}`);
    // Stored in UTC; the session's time zone is UTC, so the offset is known.
    case 'timestamp':
      return as(`timestamptz${frac}`, `CONCAT(${col}, '+00:00')`);
    case 'time':
      return as('interval');
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return as('bytea');
    case 'json':
      return as('jsonb');
    case 'uuid':
      return as('uuid');
    case 'inet4':
    case 'inet6':
      return as('inet');
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      return as('text', `ST_AsText(${col})`);
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'enum':
    case 'set':
      return as('text');
    default:
      return as('text', `CAST(${col} AS CHAR)`);
  }
}

/** A value as mysql2 returns it (dates and big numbers as strings) as the text of the PostgreSQL value. */
function valueText(v: unknown, type: string): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return type === 'bytea' ? `\\x${v.toString('hex')}` : v.toString('utf8');
  if (type === 'jsonb') return typeof v === 'string' ? v : JSON.stringify(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v as string | number | boolean);
}

/** A checkpoint value (the PostgreSQL text of the column's value) as a MySQL parameter for the keyset comparison. */
function keyParam(c: MysqlColumn, text: string | null): { sql: string; value: unknown } {
  if (text === null) return { sql: '?', value: null };
  if (c.type === 'bytea') return { sql: 'UNHEX(?)', value: text.replace(/^\\x/, '') };
  if (c.type.startsWith('timestamptz')) return { sql: '?', value: text.replace(/\+00:00$/, '') };
  return { sql: '?', value: text };
}

const TRANSIENT = /^(ECONN|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|PROTOCOL_CONNECTION_LOST)/;
const FLUSH_BYTES = 256 * 1024;

/**
 * `source.sync` of a MYSQL (MySQL, MariaDB) connection (the job's `schema` is the MySQL database),
 * columns mapped to PostgreSQL types (`mysqlColumn`), rows streamed (mysql2's query stream) into
 * the warehouse's COPY FROM STDIN. FULL: one consistent-snapshot read-only transaction for the
 * count and the rows, through the same staging-table swap as the PostgreSQL sync. INCREMENTAL: the
 * PostgreSQL sync's keyset batches (`incrementalLoad`: cursor then primary key — the job's or the
 * table's PRIMARY KEY —, upsert by key, checkpoint in the batch's transaction), each batch one
 * `SELECT … WHERE (cursor, key) > (checkpoint) ORDER BY cursor, key LIMIT batchRows`.
 */
export function runMysqlSync(job: SourceSyncJobV1, o: SyncOptions, report: SyncReporter): Promise<SyncOutcome> {
  const c = job.payload.config;
  if (c.type !== 'MYSQL') throw new Error('runMysqlSync needs a MYSQL connection');
  return runTableSourceSync(job, o, report, async () => {
    let core: ReturnType<typeof createConnection>;
    let conn: PromiseConnection;
    try {
      core = createConnection({
        ...mysqlConnectionOptions({ ...c, password: o.secrets.password }, { connectTimeoutMs: 15_000, textValues: true }),
        timezone: 'Z',
      });
      core.on('error', () => undefined);
      conn = core.promise();
      await conn.connect();
      await conn.query(`SET time_zone = '+00:00'`);
    } catch (err) {
      // connection.test's code and message; a failure a retry may fix (nothing listening, a dropped connection) is retried.
      const e = err as Error & { code?: string };
      if (e.code === 'PROTOCOL_CONNECTION_LOST' || e.code === 'EPIPE') throw err;
      throw connectFailure(explainMysqlError(e, c));
    }
    const cols = new Map<string, MysqlColumn[]>();
    const from = (t: SyncTableV1) => `${qm(t.schema)}.${qm(t.name)}`;
    /** The columns to load (the drift policy may leave new ones out) with their SELECT expressions. */
    const selectedOf = (t: SyncTableV1, columns: LoadColumn[]) => {
      const byName = new Map(cols.get(`${t.schema}.${t.name}`)!.map((l) => [l.name, l]));
      return columns.map((c) => byName.get(c.name)!);
    };
    /** A query's rows (mysql2's stream, with backpressure) as COPY text lines. */
    async function* copyLines(sql: string, values: unknown[], list: MysqlColumn[]): AsyncGenerator<Buffer> {
      const stream = core.query({ sql, values, rowsAsArray: true }).stream({ highWaterMark: 1000 });
      try {
        let text = '';
        for await (const row of stream as AsyncIterable<unknown[]>) {
          text += `${row.map((v, i) => encodeCopyField(valueText(v, list[i].type))).join('\t')}\n`;
          if (text.length >= FLUSH_BYTES) {
            yield Buffer.from(text, 'utf8');
            text = '';
          }
        }
        if (text) yield Buffer.from(text, 'utf8');
      } finally {
        stream.destroy();
      }
    }
    const source: TableSource = {
      description: `MySQL ${c.host}:${c.port}`,
      columns: async (t) => {
        const [rows] = await conn.query({
          sql: `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, NUMERIC_PRECISION AS \`precision\`, NUMERIC_SCALE AS scale,
                       CHARACTER_MAXIMUM_LENGTH AS length, DATETIME_PRECISION AS dtPrecision
                  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
          values: [t.schema, t.name],
        });
        const list = (rows as CatalogRow[]).map(mysqlColumn);
        if (!list.length)
          throw new SyncFailure('TABLE_NOT_FOUND', `Source table ${t.schema}.${t.name} does not exist or has no columns the connection's user can see.`);
        cols.set(`${t.schema}.${t.name}`, list);
        return list;
      },
      total: async (t) => {
        // One snapshot for the count and the rows (committed when the rows are read).
        await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${from(t)}`);
        return Number((rows as { n: number | string }[])[0].n);
      },
      lines: async function* (t, columns) {
        try {
          yield* copyLines(
            `SELECT ${selectedOf(t, columns)
              .map((l) => l.expr)
              .join(', ')} FROM ${from(t)}`,
            [],
            selectedOf(t, columns),
          );
        } finally {
          await conn.query('COMMIT').catch(() => undefined);
        }
      },
      primaryKey: async (t) => {
        const [rows] = await conn.query({
          sql: `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
          values: [t.schema, t.name],
        });
        return (rows as { name: string }[]).map((r) => r.name);
      },
      keyset: (t, columns) => {
        const list = selectedOf(t, columns);
        const all = new Map(cols.get(`${t.schema}.${t.name}`)!.map((l) => [l.name, l]));
        // Keyset on the MySQL values (its collations order and compare alike); the checkpoint holds their PostgreSQL text.
        const where = (keys: string[], position: (string | null)[] | null): [string, unknown[]] => {
          const notNull = `${qm(keys[0])} IS NOT NULL`;
          if (!position) return [notNull, []];
          const params = keys.map((k, i) => keyParam(all.get(k)!, position[i]));
          return [`${notNull} AND (${keys.map(qm).join(', ')}) > (${params.map((x) => x.sql).join(', ')})`, params.map((x) => x.value)];
        };
        return {
          count: async (keys, position) => {
            const [sql, values] = where(keys, position);
            const [rows] = await conn.query({ sql: `SELECT COUNT(*) AS n FROM ${from(t)} WHERE ${sql}`, values });
            return Number((rows as { n: number | string }[])[0].n);
          },
          batch: (keys, position, limit) => {
            const [sql, values] = where(keys, position);
            return copyLines(
              `SELECT ${list.map((l) => l.expr).join(', ')} FROM ${from(t)} WHERE ${sql} ORDER BY ${keys.map(qm).join(', ')} LIMIT ${Math.floor(limit)}`,
              values,
              list,
            );
          },
        };
      },
      failure: (err) => {
        const e = err as Error & { code?: string; errno?: number; sqlMessage?: string };
        if (e.sqlMessage === undefined || TRANSIENT.test(e.code ?? '')) return null;
        return { code: `MYSQL_${e.code ?? e.errno}`, message: e.message };
      },
      close: () => conn.end(),
    };
    return source;
  });
}
