/** Field-mapping expressions: one value expression over the mapping's source columns. */
import type { Node, ResTarget, SelectStmt } from '@pgsql/types';
import { Analyzer, kindOf, valueOf, type Source } from './analyzer';
import { TOO_DEEP, firstLocation, isTooDeep, loadSqlParser, parseText, precheck, tokenProblems } from './lexical';
import { SourceText } from './positions';
import { ExpressionPrinter } from './printer';
import type { ExpressionResult, ExpressionScope, SqlProblem } from './types';
import { assignable } from './types-system';

export { SQL_LIMITS, loadSqlParser } from './lexical';

const PREFIX = 'SELECT ';

/** Clauses of the wrapping SELECT that show the text is more than an expression. */
const CLAUSES: Record<string, string> = {
  distinctClause: 'DISTINCT',
  intoClause: 'INTO',
  fromClause: 'FROM',
  whereClause: 'WHERE',
  groupClause: 'GROUP BY',
  havingClause: 'HAVING',
  windowClause: 'WINDOW',
  sortClause: 'ORDER BY',
  limitOffset: 'OFFSET',
  limitCount: 'LIMIT',
  lockingClause: 'FOR UPDATE/SHARE',
  withClause: 'WITH',
  valuesLists: 'VALUES',
};

function byPosition(a: SqlProblem, b: SqlProblem): number {
  return (a.position?.offset ?? -1) - (b.position?.offset ?? -1);
}

/** The scope's columns grouped by relation, in the order given. */
function sourcesOf(scope: ExpressionScope): Source[] {
  const byRelation = new Map<string, Source>();
  for (const c of scope.columns) {
    let source = byRelation.get(c.relation);
    if (!source) {
      source = { alias: c.relation, relation: c.relation, columns: [] };
      byRelation.set(c.relation, source);
    }
    source.columns.push({ name: c.name, type: c.type });
  }
  return [...byRelation.values()];
}

/**
 * Parses a user's mapping expression (e.g. `lower(c.email)`, `price * quantity`) with
 * PostgreSQL's parser as `SELECT <text>`, checks every node against the allow-lists and every
 * column against `scope`, infers its type and re-emits it from the tree. Never throws: every
 * failure is a problem positioned in the user's text.
 */
export async function parseExpression(text: string, scope: ExpressionScope): Promise<ExpressionResult> {
  const source = new SourceText(String(text), PREFIX);
  const early = precheck(source, 'expression');
  if (early) return { ok: false, problems: early };
  await loadSqlParser();
  try {
    return analyzeExpression(source, scope);
  } catch (error) {
    if (isTooDeep(error)) return { ok: false, problems: [TOO_DEEP] };
    return {
      ok: false,
      problems: [
        { code: 'NODE_NOT_ALLOWED', message: `The expression could not be checked (${error instanceof Error ? error.message : String(error)}); simplify it.` },
      ],
    };
  }
}

function analyzeExpression(source: SourceText, scope: ExpressionScope): ExpressionResult {
  const problems = tokenProblems(source);
  // The expression's tree is only read (the printer writes new text), so it may come from the cache.
  const parsed = parseText(source, true);
  if ('problem' in parsed) return { ok: false, problems: [...problems, parsed.problem].sort(byPosition) };
  const stmts = parsed.tree.stmts ?? [];
  if (stmts.length > 1) {
    problems.push({
      code: 'MULTIPLE_STATEMENTS',
      message: 'Only one expression is allowed; remove the ";" and everything after it.',
      position: source.fromByte(stmts[1].stmt_location ?? 0),
    });
    return { ok: false, problems: problems.sort(byPosition) };
  }
  const stmt = stmts[0]?.stmt;
  if (!stmt || kindOf(stmt) !== 'SelectStmt') {
    problems.push({ code: 'NOT_AN_EXPRESSION', message: 'Write a single value expression, such as lower(email) or price * quantity.', position: source.at(0) });
    return { ok: false, problems: problems.sort(byPosition) };
  }
  const select = valueOf<SelectStmt>(stmt, 'SelectStmt');
  if (select.op && select.op !== 'SETOP_NONE') {
    problems.push({
      code: 'NOT_AN_EXPRESSION',
      message: 'UNION, INTERSECT and EXCEPT are not expressions; write a single value expression.',
      position: source.at(0),
    });
    return { ok: false, problems: problems.sort(byPosition) };
  }
  for (const [key, clause] of Object.entries(CLAUSES)) {
    const value = (select as Record<string, unknown>)[key];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    problems.push({
      code: 'NOT_AN_EXPRESSION',
      message: `${clause} is not part of an expression; a field expression is computed from the mapping's sources, so write only the value (e.g. lower(email)). Use a CTE for joins, filters and aggregates.`,
      position: source.fromByte(firstLocation(value)) ?? source.at(0),
    });
  }
  const targets = select.targetList ?? [];
  if (targets.length === 0) {
    problems.push({ code: 'EMPTY', message: 'The expression is empty; write one.', position: source.at(0) });
    return { ok: false, problems: problems.sort(byPosition) };
  }
  if (targets.length > 1) {
    problems.push({
      code: 'NOT_AN_EXPRESSION',
      message: "Only one expression is allowed, not a list; combine the values, e.g. concat(a, ' ', b) or a || b.",
      position: source.fromByte(firstLocation(targets[1])),
    });
  }
  const target = valueOf<ResTarget>(targets[0], 'ResTarget');
  if (target.name) {
    problems.push({
      code: 'NOT_AN_EXPRESSION',
      message: `Remove the alias "AS ${target.name}": the target column names the value.`,
      position: source.fromByte(target.location),
    });
  }
  if (problems.length) return { ok: false, problems: problems.sort(byPosition) };
  const analyzer = new Analyzer(source, { mode: 'expression' });
  analyzer.sources = sourcesOf(scope);
  const inferred = analyzer.expr(target.val as Node, { aggregates: false });
  if (analyzer.problems.length) return { ok: false, problems: analyzer.problems.sort(byPosition) };
  const sql = new ExpressionPrinter(analyzer.resolved).print(target.val);
  const columns: Array<{ relation: string; name: string }> = [];
  const seen = new Set<string>();
  for (const r of analyzer.reads) {
    const key = JSON.stringify([r.source.relation, r.name]);
    if (seen.has(key)) continue;
    seen.add(key);
    columns.push({ relation: r.source.relation, name: r.name });
  }
  const type = inferred.isNull ? 'unknown' : inferred.literal ? 'text' : inferred.type;
  return { ok: true, sql, type, columns, functions: analyzer.functions };
}

/**
 * A TYPE_MISMATCH problem when an ok expression result cannot be written into a column of
 * `targetType` (a target-schema data type); undefined when it can or when the result is not ok.
 */
export function checkAssignable(result: ExpressionResult, targetType: string): SqlProblem | undefined {
  if (!result.ok) return undefined;
  const r = assignable(result.type, targetType);
  return r.ok ? undefined : { code: 'TYPE_MISMATCH', message: r.message };
}
