/**
 * The walk over a value expression of the parse tree shared by field expressions and CTEs:
 * every node kind is checked against the allow-lists, column references are resolved against the
 * visible sources, and types are inferred. Anything not handled here is refused.
 */
import type {
  A_Const,
  A_Expr,
  A_Indirection,
  BooleanTest,
  BoolExpr,
  CaseExpr,
  CoalesceExpr,
  ColumnRef,
  FuncCall,
  MinMaxExpr,
  Node,
  NullTest,
  SortBy,
  TypeCast,
  TypeName,
  WindowDef,
} from '@pgsql/types';
import {
  AGGREGATES,
  ALLOWED_CAST_TYPES,
  CAST_TYPES,
  FUNCTIONS,
  OPERATORS,
  REFUSED_FUNCTIONS,
  WINDOW_FUNCTIONS,
  fitsKind,
  type FunctionSpec,
  type Inferred,
} from './catalog';
import { firstLocation, suggest } from './lexical';
import { decimalLiteral } from './quote';
import type { SourceText } from './positions';
import type { SqlProblem, SqlProblemCode } from './types';
import { isNumeric, normalizeType, widerNumeric } from './types-system';

/** A relation visible to column references: its alias in the SQL and the name reported for lineage. */
export interface Source {
  alias: string;
  relation: string;
  columns: Array<{ name: string; type: string }>;
}

export interface ResolvedColumn {
  source: Source;
  name: string;
  type: string;
}

export interface AnalyzerOptions {
  mode: 'expression' | 'cte';
}

/** Where an expression stands, which decides what it may contain. */
export interface ExprContext {
  /** Aggregates and window functions may appear (CTE select list, HAVING, ORDER BY). */
  aggregates: boolean;
  /** Output column names a bare name may refer to (CTE ORDER BY and GROUP BY), with their types. */
  outputs?: Map<string, string>;
  /** Whether an output name wins over a source column of the same name (ORDER BY) or loses (GROUP BY). */
  outputsFirst?: boolean;
}

/** The kind of a node: its single key. */
export function kindOf(node: Node | undefined): string {
  if (!node) return 'nothing';
  for (const key in node) return key;
  return 'nothing';
}

/** The value of a node of a known kind. */
export function valueOf<T>(node: Node, kind: string): T {
  return (node as unknown as Record<string, T>)[kind];
}

/** The strings of a list of String nodes (names), undefined when one is not a String. */
export function names(list: Node[] | undefined): string[] | undefined {
  const out: string[] = [];
  for (const n of list ?? []) {
    if (kindOf(n) !== 'String') return undefined;
    out.push(valueOf<{ sval?: string }>(n, 'String').sval ?? '');
  }
  return out;
}

const UNKNOWN: Inferred = { type: 'unknown' };

/** A readable name for a node kind in messages. */
const CONSTRUCT_NAMES: Record<string, string> = {
  ParamRef: 'parameters ($1)',
  RowExpr: 'row constructors',
  A_ArrayExpr: 'ARRAY[…] constructors',
  CollateClause: 'COLLATE clauses',
  SQLValueFunction: 'current_date, current_user and other SQL value functions (they differ from run to run)',
  GroupingFunc: 'GROUPING()',
  XmlExpr: 'XML functions',
  XmlSerialize: 'XML functions',
  JsonObjectConstructor: 'SQL/JSON constructors',
  JsonArrayConstructor: 'SQL/JSON constructors',
  JsonFuncExpr: 'SQL/JSON query functions',
  JsonIsPredicate: 'IS JSON',
  JsonParseExpr: 'JSON()',
  MergeSupportFunc: 'MERGE functions',
  SetToDefault: 'DEFAULT',
  NamedArgExpr: 'named arguments (name => value)',
  A_Indirection: 'field selections and array slices',
  RangeTableSample: 'TABLESAMPLE',
  CurrentOfExpr: 'CURRENT OF',
};

const BOOLEAN_TESTS: Record<string, string> = {
  IS_TRUE: 'IS TRUE',
  IS_NOT_TRUE: 'IS NOT TRUE',
  IS_FALSE: 'IS FALSE',
  IS_NOT_FALSE: 'IS NOT FALSE',
  IS_UNKNOWN: 'IS UNKNOWN',
  IS_NOT_UNKNOWN: 'IS NOT UNKNOWN',
};
export { BOOLEAN_TESTS };

/** Broad type categories: operators need both sides in compatible ones. */
function category(t: string): string {
  if (t.endsWith('[]')) return 'array';
  if (t === 'text') return 'string';
  if (isNumeric(t)) return 'number';
  if (['date', 'timestamp', 'timestamptz'].includes(t)) return 'datetime';
  if (t === 'time' || t === 'timetz') return 'time';
  if (t === 'json' || t === 'jsonb') return 'json';
  return t;
}

const COMPARISONS = new Set(['=', '<>', '!=', '<', '>', '<=', '>=']);
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', '^']);
const REGEX = new Set(['~', '~*', '!~', '!~*']);

export class Analyzer {
  readonly problems: SqlProblem[] = [];
  /** Functions in evaluation order (arguments before their call). */
  readonly functions: string[] = [];
  /** Every resolved column reference, in the order met. */
  readonly reads: ResolvedColumn[] = [];
  /** Resolution of each ColumnRef (absent for references to output names). */
  readonly resolved = new Map<ColumnRef, ResolvedColumn>();
  /** Bare column references resolved through a JOIN … USING column. */
  readonly viaUsing = new Set<ColumnRef>();
  /** The relations visible to column references. */
  sources: Source[] = [];
  /** Some relation could not be resolved (already reported): unknown columns and relations are not reported again. */
  quiet = false;
  /** Bare names that a JOIN … USING merged: not ambiguous. */
  merged = new Map<string, Source>();

  constructor(
    private readonly text: SourceText,
    private readonly options: AnalyzerOptions,
  ) {}

  problem(code: SqlProblemCode, message: string, location: number | undefined): void {
    if (this.quiet && (code === 'UNKNOWN_COLUMN' || code === 'UNKNOWN_RELATION' || code === 'AMBIGUOUS_COLUMN')) return;
    this.problems.push({ code, message, position: this.text.fromByte(location) });
  }

  /** Checks an expression and infers its type; problems are collected, never thrown. */
  expr(node: Node | undefined, ctx: ExprContext): Inferred {
    if (!node) return UNKNOWN;
    const kind = kindOf(node);
    switch (kind) {
      case 'ColumnRef':
        return this.columnRef(valueOf<ColumnRef>(node, kind), ctx);
      case 'A_Const':
        return this.constant(valueOf<A_Const>(node, kind));
      case 'TypeCast': {
        const cast = valueOf<TypeCast>(node, kind);
        this.expr(cast.arg, ctx);
        return { type: this.typeName(cast.typeName, cast.location) };
      }
      case 'A_Expr':
        return this.aExpr(valueOf<A_Expr>(node, kind), ctx);
      case 'BoolExpr': {
        const b = valueOf<BoolExpr>(node, kind);
        for (const arg of b.args ?? []) this.expectBoolean(arg, this.expr(arg, ctx), b.boolop === 'NOT_EXPR' ? 'NOT' : b.boolop === 'AND_EXPR' ? 'AND' : 'OR');
        return { type: 'boolean' };
      }
      case 'NullTest':
        this.expr(valueOf<NullTest>(node, kind).arg, ctx);
        return { type: 'boolean' };
      case 'BooleanTest': {
        const t = valueOf<BooleanTest>(node, kind);
        this.expectBoolean(t.arg, this.expr(t.arg, ctx), BOOLEAN_TESTS[t.booltesttype ?? ''] ?? 'IS TRUE');
        return { type: 'boolean' };
      }
      case 'CaseExpr':
        return this.caseExpr(valueOf<CaseExpr>(node, kind), ctx);
      case 'CoalesceExpr': {
        const c = valueOf<CoalesceExpr>(node, kind);
        const args = (c.args ?? []).map((a) => this.expr(a, ctx));
        this.functions.push('coalesce');
        return this.common(args, 'COALESCE', c.location);
      }
      case 'MinMaxExpr': {
        const m = valueOf<MinMaxExpr>(node, kind);
        const args = (m.args ?? []).map((a) => this.expr(a, ctx));
        const name = m.op === 'IS_LEAST' ? 'least' : 'greatest';
        this.functions.push(name);
        return this.common(args, name.toUpperCase(), m.location);
      }
      case 'FuncCall':
        return this.funcCall(valueOf<FuncCall>(node, kind), ctx);
      case 'A_Indirection':
        return this.indirection(valueOf<A_Indirection>(node, kind), ctx);
      case 'SubLink':
        this.problem(
          'SUBQUERY_NOT_ALLOWED',
          this.options.mode === 'expression'
            ? "Subqueries are not allowed in a field expression; read other tables through the mapping's sources or a CTE."
            : 'Subqueries are not allowed; define the inner SELECT as another CTE of the mapping and join it.',
          firstLocation(node),
        );
        return UNKNOWN;
      default: {
        const what = CONSTRUCT_NAMES[kind] ?? kind;
        this.problem(
          'NODE_NOT_ALLOWED',
          `${what} ${what.endsWith('s') || what.includes(' ') ? 'are' : 'is'} not allowed here; rewrite the expression without it.`,
          firstLocation(node),
        );
        return UNKNOWN;
      }
    }
  }

  private expectBoolean(node: Node | undefined, t: Inferred, where: string): void {
    if (t.literal || t.type === 'unknown' || t.type === 'boolean') return;
    this.problem('TYPE_MISMATCH', `${where} needs a boolean, but this is ${t.type}; compare it (for example x = 1 or x IS NOT NULL).`, firstLocation(node));
  }

  private columnRef(ref: ColumnRef, ctx: ExprContext): Inferred {
    const fields = ref.fields ?? [];
    if (fields.some((f) => kindOf(f) === 'A_Star')) {
      this.problem(
        'NODE_NOT_ALLOWED',
        this.options.mode === 'expression'
          ? '"*" is not an expression; name the column, as relation.column or column.'
          : '"*" is only allowed as a whole select-list item; name the columns here.',
        ref.location,
      );
      return UNKNOWN;
    }
    const parts = names(fields);
    if (!parts) {
      this.problem('NODE_NOT_ALLOWED', 'This column reference is not allowed; write column or relation.column.', ref.location);
      return UNKNOWN;
    }
    if (parts.length > 2) {
      this.problem(
        'SCHEMA_NOT_ALLOWED',
        `"${parts.join('.')}" names a schema; write relation.column, with the relation as the mapping names it.`,
        ref.location,
      );
      return UNKNOWN;
    }
    const [relation, column] = parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
    if (relation === undefined && ctx.outputs) {
      const fromOutput = () => {
        const type = ctx.outputs?.get(column);
        return type === undefined ? undefined : { type };
      };
      if (ctx.outputsFirst) {
        const out = fromOutput();
        if (out) return out;
      } else if (!this.sources.some((s) => s.columns.some((c) => c.name === column))) {
        const out = fromOutput();
        if (out) return out;
      }
    }
    const found = this.resolve(relation, column, ref.location);
    if (!found) return UNKNOWN;
    this.resolved.set(ref, found);
    if (relation === undefined && this.merged.has(column)) this.viaUsing.add(ref);
    this.reads.push(found);
    return { type: found.type };
  }

  private resolve(relation: string | undefined, column: string, location: number | undefined): ResolvedColumn | undefined {
    const columnOf = (source: Source): ResolvedColumn | undefined | 'ambiguous' => {
      const exact = source.columns.find((c) => c.name === column);
      if (exact) return { source, name: exact.name, type: normalizeType(exact.type) };
      const loose = source.columns.filter((c) => c.name.toLowerCase() === column.toLowerCase());
      if (loose.length > 1) return 'ambiguous';
      return loose[0] ? { source, name: loose[0].name, type: normalizeType(loose[0].type) } : undefined;
    };
    const allNames = () => this.sources.flatMap((s) => s.columns.map((c) => `${s.alias}.${c.name}`));
    if (relation !== undefined) {
      const source = this.sources.find((s) => s.alias === relation) ?? this.sources.find((s) => s.alias.toLowerCase() === relation.toLowerCase());
      if (!source) {
        const hint = suggest(
          relation,
          this.sources.map((s) => s.alias),
        );
        this.problem(
          'UNKNOWN_RELATION',
          `There is no relation "${relation}" here${hint ? `; did you mean "${hint}"?` : `; use one of: ${this.sources.map((s) => s.alias).join(', ') || '(none)'}.`}`,
          location,
        );
        return undefined;
      }
      const found = columnOf(source);
      if (found === 'ambiguous') {
        this.problem(
          'AMBIGUOUS_COLUMN',
          `"${relation}" has several columns named "${column}" in different letter cases; write the exact name in double quotes.`,
          location,
        );
        return undefined;
      }
      if (!found) {
        const hint = suggest(
          column,
          source.columns.map((c) => c.name),
        );
        this.problem(
          'UNKNOWN_COLUMN',
          `"${relation}" has no column "${column}"${hint ? `; did you mean "${relation}.${hint}"?` : '; pick one of its columns.'}`,
          location,
        );
        return undefined;
      }
      return found;
    }
    const merged = this.merged.get(column);
    if (merged) {
      const found = columnOf(merged);
      if (found && found !== 'ambiguous') return found;
    }
    const exact = this.sources.filter((s) => s.columns.some((c) => c.name === column));
    const candidates = exact.length ? exact : this.sources.filter((s) => s.columns.some((c) => c.name.toLowerCase() === column.toLowerCase()));
    if (candidates.length > 1) {
      this.problem(
        'AMBIGUOUS_COLUMN',
        `"${column}" is a column of ${[...new Set(candidates.map((s) => `"${s.alias}"`))].join(' and ')}; qualify it, e.g. ${candidates[0].alias}.${column}.`,
        location,
      );
      return undefined;
    }
    if (candidates.length === 1) {
      const found = columnOf(candidates[0]);
      if (found === 'ambiguous') {
        this.problem(
          'AMBIGUOUS_COLUMN',
          `"${candidates[0].alias}" has several columns named "${column}" in different letter cases; write the exact name in double quotes.`,
          location,
        );
        return undefined;
      }
      if (found) return found;
    }
    const hint = suggest(column, [...this.sources.flatMap((s) => s.columns.map((c) => c.name)), ...allNames()]);
    this.problem(
      'UNKNOWN_COLUMN',
      `There is no column "${column}"${hint ? `; did you mean "${hint}"?` : " in the mapping's sources; pick one of their columns."}`,
      location,
    );
    return undefined;
  }

  private constant(c: A_Const): Inferred {
    if (c.isnull) return { type: 'unknown', isNull: true };
    if (c.sval) return { type: 'text', literal: true };
    if (c.ival) return { type: 'integer' };
    if (c.boolval) return { type: 'boolean' };
    if (c.fval) {
      const v = decimalLiteral(c.fval.fval ?? '');
      if (/^-?\d+$/.test(v)) return { type: BigInt(v) <= 9223372036854775807n && BigInt(v) >= -9223372036854775808n ? 'bigint' : 'numeric' };
      return { type: 'numeric' };
    }
    this.problem('NODE_NOT_ALLOWED', "Bit-string constants (B'…', X'…') are not allowed; write a number or a string.", c.location);
    return UNKNOWN;
  }

  /** The normalized type of a cast target, refusing types outside the allow-list. */
  typeName(t: TypeName | undefined, location: number | undefined): string {
    const parts = names(t?.names);
    const name = parts && (parts.length === 1 || (parts.length === 2 && parts[0] === 'pg_catalog')) ? parts[parts.length - 1] : undefined;
    const spec = name !== undefined ? CAST_TYPES[name] : undefined;
    if (!t || !spec || t.setof || t.pct_type) {
      this.problem(
        'TYPE_NOT_ALLOWED',
        `Casting to ${parts ? parts.join('.') : 'this type'} is not allowed; cast to one of: ${ALLOWED_CAST_TYPES.join(', ')}.`,
        t?.location ?? location,
      );
      return 'unknown';
    }
    const mods = t.typmods ?? [];
    if (mods.length > spec.modifiers || mods.some((m) => kindOf(m) !== 'A_Const' || !valueOf<A_Const>(m, 'A_Const').ival)) {
      this.problem(
        'TYPE_NOT_ALLOWED',
        `${spec.sql} takes ${spec.modifiers === 0 ? 'no modifiers' : `at most ${spec.modifiers} integer modifier(s)`}; write e.g. ${spec.modifiers ? `${spec.sql}(10)` : spec.sql}.`,
        t.location ?? location,
      );
      return 'unknown';
    }
    const bounds = t.arrayBounds ?? [];
    if (bounds.length > 1) {
      this.problem('TYPE_NOT_ALLOWED', 'Only one-dimensional arrays are allowed; write e.g. text[].', t.location ?? location);
      return 'unknown';
    }
    return bounds.length ? `${spec.type}[]` : spec.type;
  }

  private aExpr(e: A_Expr, ctx: ExprContext): Inferred {
    const ops = names(e.name);
    const op = ops && ops.length === 1 ? ops[0] : undefined;
    if (ops && ops.length > 1) {
      this.problem('SCHEMA_NOT_ALLOWED', `OPERATOR(${ops.join('.')}) is not allowed; write the operator alone, e.g. a + b.`, e.location);
      return UNKNOWN;
    }
    switch (e.kind) {
      case 'AEXPR_OP': {
        if (!op || !OPERATORS.has(op)) {
          this.problem(
            'NODE_NOT_ALLOWED',
            `The operator ${op ?? '?'} is not allowed; use arithmetic, comparison, ||, LIKE, ~, or the JSON operators -> ->> #> #>>.`,
            e.location,
          );
          this.expr(e.lexpr, ctx);
          this.expr(e.rexpr, ctx);
          return UNKNOWN;
        }
        const left = e.lexpr ? this.expr(e.lexpr, ctx) : undefined;
        const right = this.expr(e.rexpr, ctx);
        return this.operator(op, left, right, e.location);
      }
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE': {
        if (kindOf(e.rexpr) === 'FuncCall' && (names(valueOf<FuncCall>(e.rexpr as Node, 'FuncCall').funcname) ?? []).includes('like_escape')) {
          this.problem('NODE_NOT_ALLOWED', 'LIKE … ESCAPE is not allowed; escape % and _ with a backslash instead.', e.location);
          return { type: 'boolean' };
        }
        const left = this.expr(e.lexpr, ctx);
        this.expr(e.rexpr, ctx);
        this.expectText(e.lexpr, left, e.kind === 'AEXPR_LIKE' ? 'LIKE' : 'ILIKE');
        return { type: 'boolean' };
      }
      case 'AEXPR_IN': {
        const left = this.expr(e.lexpr, ctx);
        const items = kindOf(e.rexpr) === 'List' ? (valueOf<{ items?: Node[] }>(e.rexpr as Node, 'List').items ?? []) : [];
        for (const item of items) this.compare('IN', left, this.expr(item, ctx), firstLocation(item));
        return { type: 'boolean' };
      }
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        const left = this.expr(e.lexpr, ctx);
        const items = kindOf(e.rexpr) === 'List' ? (valueOf<{ items?: Node[] }>(e.rexpr as Node, 'List').items ?? []) : [];
        for (const item of items) this.compare('BETWEEN', left, this.expr(item, ctx), firstLocation(item));
        return { type: 'boolean' };
      }
      case 'AEXPR_DISTINCT':
      case 'AEXPR_NOT_DISTINCT': {
        const left = this.expr(e.lexpr, ctx);
        this.compare('IS DISTINCT FROM', left, this.expr(e.rexpr, ctx), e.location);
        return { type: 'boolean' };
      }
      case 'AEXPR_NULLIF': {
        const left = this.expr(e.lexpr, ctx);
        this.compare('NULLIF', left, this.expr(e.rexpr, ctx), e.location);
        this.functions.push('nullif');
        return left.literal ? { type: 'text' } : { type: left.type };
      }
      default: {
        const what =
          e.kind === 'AEXPR_SIMILAR'
            ? 'SIMILAR TO (use ~ with a regular expression)'
            : e.kind === 'AEXPR_OP_ANY' || e.kind === 'AEXPR_OP_ALL'
              ? 'ANY/ALL (use IN (…))'
              : (e.kind ?? 'this operator');
        this.problem('NODE_NOT_ALLOWED', `${what} is not allowed; rewrite the condition.`, e.location);
        return UNKNOWN;
      }
    }
  }

  private expectText(node: Node | undefined, t: Inferred, op: string): void {
    if (t.literal || t.type === 'unknown' || t.type === 'text') return;
    this.problem('TYPE_MISMATCH', `${op} needs text, but this is ${t.type}; cast it with CAST(… AS text).`, firstLocation(node));
  }

  private compare(op: string, a: Inferred, b: Inferred, location: number | undefined): void {
    if (a.literal || b.literal || a.type === 'unknown' || b.type === 'unknown') return;
    if (category(a.type) !== category(b.type)) {
      this.problem('TYPE_MISMATCH', `${op} compares ${a.type} with ${b.type}; cast one side so both have the same type.`, location);
    }
  }

  private operator(op: string, left: Inferred | undefined, right: Inferred, location: number | undefined): Inferred {
    if (!left) {
      // Prefix operators: only unary minus and plus are meaningful.
      if (op !== '-' && op !== '+') {
        this.problem('NODE_NOT_ALLOWED', `The prefix operator ${op} is not allowed; use - or a function.`, location);
        return UNKNOWN;
      }
      if (!right.literal && right.type !== 'unknown' && !isNumeric(right.type) && right.type !== 'interval') {
        this.problem('TYPE_MISMATCH', `${op} needs a number, but this is ${right.type}.`, location);
      }
      return right.literal ? UNKNOWN : { type: right.type };
    }
    const l = left.literal ? 'unknown' : left.type;
    const r = right.literal ? 'unknown' : right.type;
    if (COMPARISONS.has(op)) {
      this.compare(op, left, right, location);
      return { type: 'boolean' };
    }
    if (REGEX.has(op)) {
      if (l !== 'unknown' && l !== 'text')
        this.problem('TYPE_MISMATCH', `${op} needs text on its left, but this is ${l}; cast it with CAST(… AS text).`, location);
      return { type: 'boolean' };
    }
    if (op === '||') {
      if (l === 'jsonb' && r === 'jsonb') return { type: 'jsonb' };
      if (l.endsWith('[]')) return { type: l };
      if (r.endsWith('[]')) return { type: r };
      if (l !== 'text' && r !== 'text' && l !== 'unknown' && r !== 'unknown') {
        this.problem('TYPE_MISMATCH', `|| joins text, but both sides are ${l} and ${r}; cast one with CAST(… AS text) or use concat().`, location);
      }
      return { type: 'text' };
    }
    if (op === '->' || op === '#>') {
      if (l !== 'unknown' && l !== 'json' && l !== 'jsonb')
        this.problem('TYPE_MISMATCH', `${op} needs json or jsonb on its left, but this is ${l}; cast it with CAST(… AS jsonb).`, location);
      return { type: l === 'json' ? 'json' : l === 'unknown' ? 'unknown' : 'jsonb' };
    }
    if (op === '->>' || op === '#>>') {
      if (l !== 'unknown' && l !== 'json' && l !== 'jsonb')
        this.problem('TYPE_MISMATCH', `${op} needs json or jsonb on its left, but this is ${l}; cast it with CAST(… AS jsonb).`, location);
      return { type: 'text' };
    }
    if (['@>', '<@', '?', '?|', '?&'].includes(op)) return { type: 'boolean' };
    if (ARITHMETIC.has(op)) return this.arithmetic(op, l, r, location);
    return UNKNOWN;
  }

  private arithmetic(op: string, l: string, r: string, location: number | undefined): Inferred {
    if (op === '^') return { type: l === 'numeric' || r === 'numeric' ? 'numeric' : 'double precision' };
    if (l === 'unknown' && r === 'unknown') return UNKNOWN;
    if (isNumeric(l) && isNumeric(r)) return { type: widerNumeric(l, r) };
    if (l === 'unknown') return { type: isNumeric(r) ? r : 'unknown' };
    if (r === 'unknown') {
      if (l === 'date' && (op === '+' || op === '-')) return UNKNOWN; // date ± integer is a date, date - date an integer
      return { type: isNumeric(l) ? l : l === 'interval' || l === 'timestamp' || l === 'timestamptz' ? l : 'unknown' };
    }
    const dt = ['date', 'timestamp', 'timestamptz'];
    if (op === '+' || op === '-') {
      if (l === 'date' && isNumeric(r) && r !== 'numeric' && r !== 'real' && r !== 'double precision') return { type: 'date' };
      if (op === '+' && r === 'date' && ['smallint', 'integer', 'bigint'].includes(l)) return { type: 'date' };
      if (op === '-' && l === 'date' && r === 'date') return { type: 'integer' };
      if (op === '-' && dt.includes(l) && dt.includes(r)) return { type: 'interval' };
      if (dt.includes(l) && r === 'interval') return { type: l === 'timestamptz' ? 'timestamptz' : 'timestamp' };
      if (op === '+' && l === 'interval' && dt.includes(r)) return { type: r === 'timestamptz' ? 'timestamptz' : 'timestamp' };
      if (l === 'interval' && r === 'interval') return { type: 'interval' };
      if ((l === 'time' || l === 'timetz') && r === 'interval') return { type: l };
    }
    if ((op === '*' || op === '/') && l === 'interval' && isNumeric(r)) return { type: 'interval' };
    if (op === '*' && r === 'interval' && isNumeric(l)) return { type: 'interval' };
    this.problem('TYPE_MISMATCH', `${op} cannot combine ${l} and ${r}; cast the operands to matching types (for example CAST(… AS numeric)).`, location);
    return UNKNOWN;
  }

  private caseExpr(c: CaseExpr, ctx: ExprContext): Inferred {
    const subject = c.arg ? this.expr(c.arg, ctx) : undefined;
    const results: Inferred[] = [];
    for (const w of c.args ?? []) {
      const when = valueOf<{ expr?: Node; result?: Node; location?: number }>(w, 'CaseWhen');
      const cond = this.expr(when.expr, ctx);
      if (subject) this.compare('CASE … WHEN', subject, cond, firstLocation(when.expr));
      else this.expectBoolean(when.expr, cond, 'CASE WHEN');
      results.push(this.expr(when.result, ctx));
    }
    if (c.defresult) results.push(this.expr(c.defresult, ctx));
    return this.common(results, 'CASE', c.location);
  }

  /** The common type of alternatives (CASE, COALESCE, GREATEST), as PostgreSQL resolves it. */
  private common(args: Inferred[], what: string, location: number | undefined): Inferred {
    const typed = args.filter((a) => !a.literal && !a.isNull && a.type !== 'unknown').map((a) => a.type);
    if (!typed.length) return args.some((a) => a.literal) ? { type: 'text' } : UNKNOWN;
    if (typed.every((t) => t === typed[0])) return { type: typed[0] };
    if (typed.every(isNumeric)) return { type: typed.reduce(widerNumeric) };
    const dt = ['date', 'timestamp', 'timestamptz'];
    if (typed.every((t) => dt.includes(t))) return { type: typed.includes('timestamptz') ? 'timestamptz' : 'timestamp' };
    if (typed.every((t) => t === 'json' || t === 'jsonb')) return UNKNOWN;
    this.problem('TYPE_MISMATCH', `${what} mixes ${[...new Set(typed)].join(' and ')}; cast the alternatives to one type.`, location);
    return UNKNOWN;
  }

  private funcCall(fc: FuncCall, ctx: ExprContext): Inferred {
    const parts = names(fc.funcname) ?? [];
    let name = parts[parts.length - 1] ?? '';
    if (parts.length > 1) {
      if (fc.funcformat === 'COERCE_SQL_SYNTAX' && parts.length === 2 && parts[0] === 'pg_catalog') {
        name = parts[1];
      } else {
        this.problem('SCHEMA_NOT_ALLOWED', `Functions are called without a schema: write ${name}(…), not ${parts.join('.')}(…).`, fc.location);
        return UNKNOWN;
      }
    }
    const aggregateSyntax = fc.agg_star || fc.agg_distinct || fc.agg_within_group || fc.agg_filter || (fc.agg_order?.length ?? 0) > 0;
    let spec: FunctionSpec | undefined = FUNCTIONS[name];
    if (this.options.mode === 'expression') {
      if (fc.over || aggregateSyntax || AGGREGATES[name] || WINDOW_FUNCTIONS[name]) {
        this.problem(
          'NODE_NOT_ALLOWED',
          `${fc.over ? 'Window functions' : 'Aggregates'} (${name}) are not allowed in a field expression, which is computed per row; aggregate in a CTE of the mapping and map its column.`,
          fc.location,
        );
        return UNKNOWN;
      }
    } else {
      const aggregate = AGGREGATES[name];
      const windowFn = WINDOW_FUNCTIONS[name];
      if (aggregate || windowFn) {
        if (!ctx.aggregates) {
          this.problem(
            'NODE_NOT_ALLOWED',
            `${name}() is not allowed here (WHERE, JOIN … ON, GROUP BY or a LIMIT); aggregate in the select list and filter with HAVING.`,
            fc.location,
          );
          return UNKNOWN;
        }
        if (windowFn && !fc.over) {
          this.problem('NODE_NOT_ALLOWED', `${name}() is a window function and needs OVER (…).`, fc.location);
          return UNKNOWN;
        }
        spec = aggregate ?? windowFn;
      } else if (spec && (fc.over || aggregateSyntax)) {
        this.problem('NODE_NOT_ALLOWED', `${name}() is not an aggregate; remove OVER, DISTINCT, ORDER BY or FILTER from its call.`, fc.location);
        return UNKNOWN;
      }
    }
    if (!spec && REFUSED_FUNCTIONS[name]) {
      this.problem('FUNCTION_NOT_ALLOWED', `The function ${name}() is not allowed: ${REFUSED_FUNCTIONS[name]}.`, fc.location);
      return UNKNOWN;
    }
    if (!spec) {
      const hint = suggest(name, [
        ...Object.keys(FUNCTIONS),
        ...(this.options.mode === 'cte' ? [...Object.keys(AGGREGATES), ...Object.keys(WINDOW_FUNCTIONS)] : []),
      ]);
      this.problem(
        'FUNCTION_NOT_ALLOWED',
        `The function ${name}() is not allowed${hint ? `; did you mean ${hint}()?` : '; use one of the allowed functions listed in the mapping documentation.'}`,
        fc.location,
      );
      return UNKNOWN;
    }
    if (fc.func_variadic) {
      this.problem('NODE_NOT_ALLOWED', 'VARIADIC arguments are not allowed; pass the arguments one by one.', fc.location);
      return UNKNOWN;
    }
    if (fc.over) this.windowDef(fc.over, ctx);
    const argNodes = fc.args ?? [];
    const args = argNodes.map((a) => this.expr(a, { ...ctx, aggregates: ctx.aggregates && !fc.over && !AGGREGATES[name] }));
    for (const s of fc.agg_order ?? []) this.sortBy(valueOf<SortBy>(s, 'SortBy'), { aggregates: false });
    if (fc.agg_filter) this.expectBoolean(fc.agg_filter, this.expr(fc.agg_filter, { aggregates: false }), 'FILTER (WHERE …)');
    const count = fc.agg_star ? 0 : args.length;
    if (name === 'count' && fc.agg_star && argNodes.length === 0) {
      // count(*)
    } else if (count < spec.min || count > spec.max) {
      const range = spec.min === spec.max ? `${spec.min}` : spec.max >= 100 ? `at least ${spec.min}` : `${spec.min} to ${spec.max}`;
      this.problem('WRONG_ARGUMENTS', `${name}() takes ${range} argument${range === '1' ? '' : 's'}, not ${count}.`, fc.location);
      return UNKNOWN;
    }
    args.forEach((a, i) => {
      const kind = spec.args[Math.min(i, spec.args.length - 1)];
      if (!kind || a.literal || a.isNull || a.type === 'unknown' || fitsKind(a.type, kind)) return;
      const hint =
        kind === 'bytea' && a.type === 'text'
          ? ` Hash text as encode(${name}(convert_to(x, 'UTF8')), 'hex').`
          : kind === 'text'
            ? ' Cast it with CAST(… AS text).'
            : '';
      this.problem(
        'TYPE_MISMATCH',
        `Argument ${i + 1} of ${name}() must be ${kind === 'number' ? 'a number' : kind === 'datetime' ? 'a date, time, timestamp or interval' : kind}, but it is ${a.type}.${hint}`,
        firstLocation(argNodes[i]),
      );
    });
    this.functions.push(name);
    return { type: spec.returns(args) };
  }

  private windowDef(w: WindowDef, _ctx: ExprContext): void {
    if (w.refname || w.name) {
      this.problem('NODE_NOT_ALLOWED', 'Named windows are not allowed; write the window inline: OVER (PARTITION BY … ORDER BY …).', w.location);
      return;
    }
    for (const p of w.partitionClause ?? []) this.expr(p, { aggregates: false });
    for (const s of w.orderClause ?? []) this.sortBy(valueOf<SortBy>(s, 'SortBy'), { aggregates: false });
    if (w.startOffset) this.expr(w.startOffset, { aggregates: false });
    if (w.endOffset) this.expr(w.endOffset, { aggregates: false });
  }

  /** An ORDER BY item. */
  sortBy(s: SortBy, ctx: ExprContext): void {
    if (s.useOp?.length) {
      this.problem('NODE_NOT_ALLOWED', 'ORDER BY … USING is not allowed; write ASC or DESC.', s.location);
      return;
    }
    this.expr(s.node, ctx);
  }

  private indirection(ind: A_Indirection, ctx: ExprContext): Inferred {
    const base = this.expr(ind.arg, ctx);
    const steps = ind.indirection ?? [];
    if (steps.length !== 1 || kindOf(steps[0]) !== 'A_Indices' || valueOf<{ is_slice?: boolean }>(steps[0], 'A_Indices').is_slice) {
      this.problem(
        'NODE_NOT_ALLOWED',
        'Only one array subscript is allowed, as (array_expression)[n]; field selection and slices are not.',
        firstLocation(ind.arg),
      );
      return UNKNOWN;
    }
    const index = valueOf<{ uidx?: Node }>(steps[0], 'A_Indices').uidx;
    const it = this.expr(index, ctx);
    if (!it.literal && it.type !== 'unknown' && !['smallint', 'integer', 'bigint'].includes(it.type)) {
      this.problem('TYPE_MISMATCH', `An array subscript must be an integer, but this is ${it.type}.`, firstLocation(index));
    }
    if (base.type !== 'unknown' && !base.type.endsWith('[]')) {
      this.problem('TYPE_MISMATCH', `Only arrays can be subscripted, but this is ${base.type}.`, firstLocation(ind.arg));
      return UNKNOWN;
    }
    return { type: base.type.endsWith('[]') ? base.type.slice(0, -2) : 'unknown' };
  }
}
