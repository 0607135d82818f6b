import { Pool, type PoolClient, type QueryResult } from 'pg';
import { parse } from 'libpg-query';
import type { PreviewFieldError, PreviewReplyV1, PreviewRequestV1 } from '@datalinx/contracts';
import { qi } from '../sync/sql';

/** Text output for every type: a preview shows values as PostgreSQL prints them. */
const asText = { getTypeParser: () => (v: string) => v };

type Failure = Extract<PreviewReplyV1, { ok: false }>;
const fail = (code: string, message: string): Failure => ({ ok: false, error: { code, message } });

/** What a PostgreSQL error of a preview means for the user, with what to do. */
function explain(err: Error & { code?: string }, req: PreviewRequestV1): Failure {
  switch (err.code) {
    case '57014':
      return fail(
        'PREVIEW_TIMEOUT',
        `The preview did not finish within ${req.statementTimeoutMs} ms and was cancelled. Preview fewer rows, or simplify the joins and CTEs (a join on a column without an index reads whole tables).`,
      );
    case '42501':
      return fail('PERMISSION_DENIED', `The workspace's warehouse role may not read what the mapping reads: ${err.message}.`);
    case '42P01':
      return fail(
        'SOURCE_NOT_LOADED',
        `A source table of the mapping has not been loaded into the warehouse yet (${err.message}). Sync the source, then preview again.`,
      );
    case '3F000':
    case '42704':
    case '22023':
      return fail(
        'WAREHOUSE_NOT_READY',
        `The workspace's warehouse is not provisioned (${err.message}). Wait for the warehouse to be READY, then preview again.`,
      );
    default:
      return fail('PREVIEW_FAILED', `The warehouse refused the preview: ${err.message}${err.code ? ` (SQLSTATE ${err.code})` : ''}.`);
  }
}

/** Data exceptions (class 22) and failed casts are a field's fault: they are reported per field, not for the whole preview. */
const isFieldError = (code: string | undefined) => !!code && code.startsWith('22');

interface RangeVarNode {
  schemaname?: string;
  relname?: string;
}

/** Every RangeVar (table reference) in a parse tree, and the CTE names it defines. */
function walk(node: unknown, out: { tables: RangeVarNode[]; ctes: Set<string>; bad: string[] }): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'RangeVar') out.tables.push(value as RangeVarNode);
    else if (key === 'CommonTableExpr') out.ctes.add(String((value as { ctename?: string }).ctename));
    else if (['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt', 'IntoClause', 'LockingClause', 'RangeFunction', 'RangeTableFunc'].includes(key))
      out.bad.push(key);
    walk(value, out);
  }
}

/**
 * Runs mapping previews in the platform warehouse. Each preview borrows an admin session, opens
 * a READ ONLY transaction, switches to the workspace role (SET LOCAL ROLE: its rights only),
 * sets the statement timeout and the search path, and rolls back at the end.
 */
export class PreviewEngine {
  private readonly pool: Pool;
  private readonly typeNames = new Map<number, string>();
  private readonly checks = new Map<string, string | null>();

  constructor(warehouseAdminUrl: string, poolSize = 4) {
    this.pool = new Pool({ connectionString: warehouseAdminUrl, max: poolSize, idleTimeoutMillis: 60_000, application_name: 'datalinx-worker-preview' });
    // An idle session that dies (server restart) must not crash the worker; the next preview opens a new one.
    this.pool.on('error', () => undefined);
  }

  /** The assembled statement: `WITH … SELECT <fields> FROM … LIMIT n`. */
  static statement(req: PreviewRequestV1, fields: Array<{ column: string; sql: string | null; type?: string }>, limit = req.limit): string {
    const list = fields.map((f) => `${f.sql ?? (f.type ? `NULL::${f.type}` : 'NULL')} AS ${qi(f.column)}`).join(', ');
    return `${req.with ? `WITH ${req.with} ` : ''}SELECT ${list} FROM ${req.from} LIMIT ${Math.floor(limit)}`;
  }

  /**
   * Checks, from PostgreSQL's own parse tree, that the statement is one plain SELECT that reads
   * only the workspace's schema and its own CTEs (the compiler produced it from parse trees; this
   * is the second lock on the door).
   */
  static async check(sql: string, schema: string): Promise<string | null> {
    let tree: { stmts?: Array<{ stmt?: Record<string, unknown> }> };
    try {
      tree = await parse(sql);
    } catch (err) {
      return `the assembled preview statement does not parse: ${(err as Error).message}`;
    }
    if (tree.stmts?.length !== 1 || !tree.stmts[0]?.stmt?.SelectStmt) return 'the preview statement is not exactly one SELECT';
    const found = { tables: [] as RangeVarNode[], ctes: new Set<string>(), bad: [] as string[] };
    walk(tree.stmts[0].stmt, found);
    if (found.bad.length) return `the preview statement contains ${found.bad.join(', ')}`;
    for (const t of found.tables) {
      if (t.schemaname ? t.schemaname !== schema : !found.ctes.has(String(t.relname))) {
        return `the preview statement reads ${t.schemaname ? `${t.schemaname}.` : ''}${t.relname}, which is neither in the workspace's schema nor one of its CTEs`;
      }
    }
    return null;
  }

  /** `check`, remembered for the last statements seen (a user previews the same mapping again and again). */
  private async checked(sql: string, schema: string): Promise<string | null> {
    const key = `${schema}\0${sql}`;
    const hit = this.checks.get(key);
    if (hit !== undefined) return hit;
    const verdict = await PreviewEngine.check(sql, schema);
    if (this.checks.size >= 500) this.checks.delete(this.checks.keys().next().value!);
    this.checks.set(key, verdict);
    return verdict;
  }

  async run(req: PreviewRequestV1): Promise<PreviewReplyV1> {
    const started = performance.now();
    const sql = PreviewEngine.statement(req, req.fields);
    const refused = await this.checked(sql, req.destination.schema);
    if (refused) return fail('INVALID_REQUEST', refused);
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      return fail('WAREHOUSE_UNREACHABLE', `The worker could not reach the platform warehouse: ${(err as Error).message}. Check that PostgreSQL is running.`);
    }
    try {
      // One round trip (simple query protocol, several statements): the transaction, the role,
      // the timeout, the search path, a savepoint to come back to, then the SELECT.
      const setup =
        `BEGIN READ ONLY; SET LOCAL ROLE ${qi(req.destination.role)}; SET LOCAL statement_timeout = ${Math.floor(req.statementTimeoutMs)}; ` +
        `SET LOCAL search_path = ${qi(req.destination.schema)}; SAVEPOINT preview; `;
      let result: QueryResult<string[]>;
      const fieldErrors: PreviewFieldError[] = [];
      try {
        const results = (await c.query<string[]>({ text: setup + sql, rowMode: 'array', types: asText })) as unknown as Array<QueryResult<string[]>>;
        result = results[results.length - 1]!;
      } catch (err) {
        const e = err as Error & { code?: string };
        if (!isFieldError(e.code)) throw err;
        // No savepoint: the set-up failed (e.g. the workspace role does not exist), not a field.
        await c.query('ROLLBACK TO SAVEPOINT preview').catch(() => {
          throw err;
        });
        // Find the fields that fail, and for each the first row it fails on; the others still show.
        const failing = await this.failingFields(c, req, fieldErrors);
        const fields = req.fields.map((f) => ({ ...f, sql: failing.has(f.column) ? null : f.sql }));
        result = await c.query<string[]>({ text: PreviewEngine.statement(req, fields), rowMode: 'array', types: asText });
      }
      const columns = await this.columnTypes(c, result);
      return { ok: true, columns, rows: result.rows.map((r) => r.map((v) => (v === null ? null : String(v)))), fieldErrors, ms: performance.now() - started };
    } catch (err) {
      return explain(err as Error & { code?: string }, req);
    } finally {
      // The reply does not wait for the rollback; the session goes back to the pool after it.
      void c
        .query('ROLLBACK')
        .catch(() => undefined)
        .finally(() => c.release());
    }
  }

  /** Each field alone over the same rows; a failing one is bisected to the first row that breaks it. */
  private async failingFields(c: PoolClient, req: PreviewRequestV1, out: PreviewFieldError[]): Promise<Set<string>> {
    const failing = new Set<string>();
    const attempt = async (field: { column: string; sql: string }, limit: number): Promise<(Error & { code?: string }) | null> => {
      await c.query('SAVEPOINT field');
      try {
        await c.query({ text: PreviewEngine.statement(req, [field], limit), rowMode: 'array', types: asText });
        await c.query('RELEASE SAVEPOINT field');
        return null;
      } catch (err) {
        await c.query('ROLLBACK TO SAVEPOINT field');
        const e = err as Error & { code?: string };
        if (!isFieldError(e.code)) throw err;
        return e;
      }
    };
    for (const field of req.fields) {
      const err = await attempt(field, req.limit);
      if (!err) continue;
      failing.add(field.column);
      // The smallest n such that the first n rows fail: row n-1 is the first bad one.
      let [lo, hi] = [1, req.limit];
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (await attempt(field, mid)) hi = mid;
        else lo = mid + 1;
      }
      out.push({ column: field.column, code: err.code ?? 'unknown', message: err.message, row: lo - 1 });
    }
    return failing;
  }

  private async columnTypes(c: PoolClient, result: QueryResult): Promise<Array<{ name: string; type: string }>> {
    const unknown = [...new Set(result.fields.map((f) => f.dataTypeID).filter((oid) => !this.typeNames.has(oid)))];
    if (unknown.length) {
      const { rows } = await c.query<{ oid: number; name: string }>('SELECT oid::int AS oid, format_type(oid, NULL) AS name FROM pg_type WHERE oid = ANY($1)', [
        unknown,
      ]);
      for (const r of rows) this.typeNames.set(r.oid, r.name);
    }
    return result.fields.map((f) => ({ name: f.name, type: this.typeNames.get(f.dataTypeID) ?? 'unknown' }));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
