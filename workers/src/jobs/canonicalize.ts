import { Client } from 'pg';
import {
  applySql,
  canonicalTypeByName,
  customCanonicalType,
  maskSql,
  isExternalDestination,
  type CanonicalizeColumnJobV1,
  type CanonicalTypeDef,
  type ConnectionSecrets,
} from '@datalinx/contracts';
import { PermanentJobError } from '@datalinx/messaging';
import type { RunReporter } from '../run-reporter';
import { SyncFailure } from '../sync/outcome';
import { qi } from '../sync/sql';
import { checkDestination, connectWarehouse } from '../sync/warehouse-connection';

export type CanonicalizeResult = {
  ok: boolean;
  summary: string;
  error?: { code: string; message: string };
  checked?: number;
  normalized?: number;
  quarantined?: number;
};

/** Names are spliced into statements (identifiers cannot be bound): checked again here, then quoted. */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
function ident(name: string, kind: 'schema' | 'role' | 'table' | 'column'): string {
  if (!PLAIN.test(name)) throw new PermanentJobError(`refusing an unexpected ${kind} name`, 'INVALID_NAME');
  return qi(name);
}

/** The type the job names: a built-in, or a custom type over a built-in parent with a narrower pattern. */
export function resolveType(job: CanonicalizeColumnJobV1): CanonicalTypeDef {
  const base = canonicalTypeByName(job.payload.type);
  if (!base) throw new PermanentJobError(`unknown canonical type "${job.payload.type}"`, 'UNKNOWN_CANONICAL_TYPE');
  const c = job.payload.custom;
  if (!c) return base;
  try {
    new RegExp(c.pattern);
  } catch {
    throw new PermanentJobError(`the custom type's pattern is not a valid regular expression`, 'INVALID_PATTERN');
  }
  return customCanonicalType(base, { name: c.name, label: c.name, pattern: c.pattern });
}

/**
 * `column.canonicalize`: as the workspace role (SET ROLE; an EXTERNAL warehouse: as the destination
 * connection's own user, TLS as its sslMode says), with a statement timeout, in ONE transaction:
 * creates `<schema>._dlx_quarantine` if missing, copies every non-null value the type's SQL
 * normalizer rejects into it (with the type's rule; sensitive types masked), and rewrites every
 * other value to its normalized form. Idempotent: quarantine rows are keyed by (run, table,
 * column, row key), and normalizing a normalized value yields itself, so a redelivered job
 * changes nothing more. Steps on RUNS: rows checked, quarantined, normalized.
 */
export async function canonicalizeColumn(
  job: CanonicalizeColumnJobV1,
  adminUrl: string | undefined,
  report: RunReporter,
  destinationSecrets?: ConnectionSecrets,
): Promise<CanonicalizeResult> {
  const p = job.payload;
  const d = p.destination;
  // The platform's generated schema and role, or an external destination's plain schema (checked as the syncs do), then quoted.
  checkDestination(p);
  const [sch, tbl, col] = [ident(d.schema, 'schema'), ident(p.table, 'table'), ident(p.column, 'column')];
  const rol = isExternalDestination(d) ? null : ident(d.role, 'role');
  const type = resolveType(job);
  let c: Client;
  try {
    c = (await connectWarehouse(d, { warehouseAdminUrl: adminUrl, destinationSecrets }, 'datalinx-worker-canonicalize')).wh;
  } catch (err) {
    if (!(err instanceof SyncFailure)) throw err;
    await report.step('warehouse', 'FAILURE', err.message, 0);
    return { ok: false, summary: 'the external warehouse refused the connection', error: { code: err.code, message: err.message } };
  }
  try {
    await c.query('BEGIN');
    // Everything below runs with the workspace role's rights only (EXTERNAL: the destination connection's user, the customer's role).
    if (rol) await c.query(`SET LOCAL ROLE ${rol}`);
    await c.query(`SET LOCAL statement_timeout = ${Math.floor(p.statementTimeoutMs)}`);
    const { rows: cols } = await c.query<{ type: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace
        WHERE n.nspname = $1 AND r.relname = $2 AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p')`,
      [p.destination.schema, p.table, p.column],
    );
    if (!cols.length) {
      await c.query('ROLLBACK');
      return {
        ok: false,
        summary: 'column not found',
        error: { code: 'COLUMN_NOT_FOUND', message: `${p.destination.schema}.${p.table} has no column ${p.column}` },
      };
    }
    const colType = cols[0]!.type;
    const { rows: pk } = await c.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [p.destination.schema, p.table],
    );
    // A stable key for each row: the primary key as text, else the ctid (rejected rows are never updated, so theirs does not move).
    const rowKey =
      pk.length === 0
        ? `t.ctid::text`
        : pk.length === 1
          ? `t.${ident(pk[0]!.name, 'column')}::text`
          : `json_build_array(${pk.map((k) => `t.${ident(k.name, 'column')}`).join(', ')})::text`;
    const value = `t.${col}::text`;
    const normalized = applySql(type.sqlNormalizer, value);

    const checked = await report.timed('rows checked', async () => {
      const { rows } = await c.query<{ total: string; nonnull: string }>(`SELECT count(*) AS total, count(${col}) AS nonnull FROM ${sch}.${tbl} AS t`);
      const [total, nonnull] = [Number(rows[0]!.total), Number(rows[0]!.nonnull)];
      return { message: `${total} row(s), ${nonnull} non-null value(s) of ${p.column} checked as ${type.name}`, value: nonnull };
    });

    const quarantined = await report.timed('quarantined', async () => {
      await c.query(`CREATE TABLE IF NOT EXISTS ${sch}._dlx_quarantine (
        run_id uuid NOT NULL,
        table_name text NOT NULL,
        column_name text NOT NULL,
        row_key text NOT NULL,
        value text,
        rule text NOT NULL,
        quarantined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, table_name, column_name, row_key)
      )`);
      const stored = type.sensitive ? maskSql(value) : value;
      // A custom type names which check failed: the parent's (not an e-mail at all) or its own pattern.
      const base = canonicalTypeByName(p.type)!;
      const rule = type === base ? '$4::text' : `CASE WHEN (${applySql(base.sqlNormalizer, value)}) IS NULL THEN $5::text ELSE $4::text END`;
      const ins = await c.query(
        `INSERT INTO ${sch}._dlx_quarantine (run_id, table_name, column_name, row_key, value, rule)
         SELECT $1, $2, $3, ${rowKey}, ${stored}, ${rule} FROM ${sch}.${tbl} AS t WHERE t.${col} IS NOT NULL AND (${normalized}) IS NULL
         ON CONFLICT (run_id, table_name, column_name, row_key) DO NOTHING`,
        type === base ? [job.runId, p.table, p.column, type.rule] : [job.runId, p.table, p.column, type.rule, base.rule],
      );
      const { rows } = await c.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${sch}._dlx_quarantine WHERE run_id = $1 AND table_name = $2 AND column_name = $3`,
        [job.runId, p.table, p.column],
      );
      const n = Number(rows[0]!.n);
      return {
        message: `${n} value(s) rejected by ${type.rule} (${ins.rowCount ?? 0} newly quarantined in ${p.destination.schema}._dlx_quarantine)`,
        value: n,
      };
    });

    const changed = await report.timed('normalized', async () => {
      const cast = /^(text|character varying(\(\d+\))?)$/.test(colType) ? 's.n' : `CAST(s.n AS ${colType})`;
      const upd = await c.query(
        `UPDATE ${sch}.${tbl} AS u SET ${col} = ${cast}
           FROM (SELECT t.ctid AS c, ${normalized} AS n FROM ${sch}.${tbl} AS t WHERE t.${col} IS NOT NULL) AS s
          WHERE u.ctid = s.c AND s.n IS NOT NULL AND s.n IS DISTINCT FROM u.${col}::text`,
      );
      const n = upd.rowCount ?? 0;
      return { message: `${n} value(s) rewritten to the ${type.name} form; ${checked - quarantined - n} already normal`, value: n };
    });

    await c.query('COMMIT');
    return {
      ok: true,
      summary: `${p.table}.${p.column} as ${type.name}: ${checked} checked, ${changed} normalized, ${quarantined} quarantined`,
      checked,
      normalized: changed,
      quarantined,
    };
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    if (err instanceof PermanentJobError) throw err;
    const e = err as Error & { code?: string };
    if (!e.code || /^(08|57P0|53)/.test(e.code)) throw err;
    return { ok: false, summary: 'canonicalize failed', error: { code: `PG_${e.code}`, message: e.message } };
  } finally {
    await c.end().catch(() => undefined);
  }
}
