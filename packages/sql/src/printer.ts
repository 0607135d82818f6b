/**
 * Prints a checked expression tree as SQL: fully parenthesized, every column as
 * "relation"."column", keywords upper case, function names lower case, casts as CAST(… AS type),
 * string literals through quoteLiteral with `{` and `}` escaped (the SQL goes through dbt's
 * Jinja). Only the node kinds the analyzer accepts are printed; anything else throws, which
 * would be a bug in the analyzer.
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
  TypeCast,
  TypeName,
} from '@pgsql/types';
import { BOOLEAN_TESTS, kindOf, names, valueOf, type ResolvedColumn } from './analyzer';
import { CAST_TYPES } from './catalog';
import { decimalLiteral, quoteIdent, templateSafeLiteral } from './quote';

/** Function names that PostgreSQL's grammar reads as keywords: printed quoted, called as plain functions. */
const KEYWORD_FUNCTIONS = new Set(['extract', 'position', 'substring', 'overlay', 'trim', 'left', 'right', 'coalesce', 'nullif', 'greatest', 'least']);

const LIKE_OPS: Record<string, string> = { '~~': 'LIKE', '!~~': 'NOT LIKE', '~~*': 'ILIKE', '!~~*': 'NOT ILIKE' };
const BETWEEN: Record<string, string> = {
  AEXPR_BETWEEN: 'BETWEEN',
  AEXPR_NOT_BETWEEN: 'NOT BETWEEN',
  AEXPR_BETWEEN_SYM: 'BETWEEN SYMMETRIC',
  AEXPR_NOT_BETWEEN_SYM: 'NOT BETWEEN SYMMETRIC',
};

export class ExpressionPrinter {
  constructor(private readonly resolved: Map<ColumnRef, ResolvedColumn>) {}

  print(node: Node | undefined): string {
    if (!node) throw new Error('missing node');
    const kind = kindOf(node);
    switch (kind) {
      case 'ColumnRef': {
        const r = this.resolved.get(valueOf<ColumnRef>(node, kind));
        if (!r) throw new Error('unresolved column');
        return `${quoteIdent(r.source.alias)}.${quoteIdent(r.name)}`;
      }
      case 'A_Const':
        return this.constant(valueOf<A_Const>(node, kind));
      case 'TypeCast': {
        const c = valueOf<TypeCast>(node, kind);
        return `CAST(${this.print(c.arg)} AS ${this.typeName(c.typeName)})`;
      }
      case 'A_Expr':
        return this.aExpr(valueOf<A_Expr>(node, kind));
      case 'BoolExpr': {
        const b = valueOf<BoolExpr>(node, kind);
        const args = (b.args ?? []).map((a) => this.print(a));
        if (b.boolop === 'NOT_EXPR') return `(NOT ${args[0]})`;
        return `(${args.join(b.boolop === 'AND_EXPR' ? ' AND ' : ' OR ')})`;
      }
      case 'NullTest': {
        const t = valueOf<NullTest>(node, kind);
        return `(${this.print(t.arg)} ${t.nulltesttype === 'IS_NOT_NULL' ? 'IS NOT NULL' : 'IS NULL'})`;
      }
      case 'BooleanTest': {
        const t = valueOf<BooleanTest>(node, kind);
        return `(${this.print(t.arg)} ${BOOLEAN_TESTS[t.booltesttype ?? '']})`;
      }
      case 'CaseExpr': {
        const c = valueOf<CaseExpr>(node, kind);
        const parts = ['CASE'];
        if (c.arg) parts.push(this.print(c.arg));
        for (const w of c.args ?? []) {
          const when = valueOf<{ expr?: Node; result?: Node }>(w, 'CaseWhen');
          parts.push(`WHEN ${this.print(when.expr)} THEN ${this.print(when.result)}`);
        }
        if (c.defresult) parts.push(`ELSE ${this.print(c.defresult)}`);
        parts.push('END');
        return `(${parts.join(' ')})`;
      }
      case 'CoalesceExpr':
        return `COALESCE(${(valueOf<CoalesceExpr>(node, kind).args ?? []).map((a) => this.print(a)).join(', ')})`;
      case 'MinMaxExpr': {
        const m = valueOf<MinMaxExpr>(node, kind);
        return `${m.op === 'IS_LEAST' ? 'LEAST' : 'GREATEST'}(${(m.args ?? []).map((a) => this.print(a)).join(', ')})`;
      }
      case 'FuncCall': {
        const f = valueOf<FuncCall>(node, kind);
        const parts = names(f.funcname) ?? [];
        const name = parts[parts.length - 1];
        const printed = KEYWORD_FUNCTIONS.has(name) ? quoteIdent(name) : name;
        return `${printed}(${(f.args ?? []).map((a) => this.print(a)).join(', ')})`;
      }
      case 'A_Indirection': {
        const ind = valueOf<A_Indirection>(node, kind);
        const index = valueOf<{ uidx?: Node }>((ind.indirection ?? [])[0], 'A_Indices').uidx;
        return `(${this.print(ind.arg)})[${this.print(index)}]`;
      }
      default:
        throw new Error(`cannot print ${kind}`);
    }
  }

  private constant(c: A_Const): string {
    if (c.isnull) return 'NULL';
    if (c.sval) return templateSafeLiteral(c.sval.sval ?? '');
    if (c.ival) {
      const v = c.ival.ival ?? 0;
      return v < 0 ? `(${v})` : `${v}`;
    }
    if (c.boolval) return c.boolval.boolval ? 'TRUE' : 'FALSE';
    if (c.fval) {
      const v = decimalLiteral(c.fval.fval ?? '0');
      if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error('unexpected numeric constant');
      return v.startsWith('-') ? `(${v})` : v;
    }
    throw new Error('unexpected constant');
  }

  typeName(t: TypeName | undefined): string {
    const parts = names(t?.names) ?? [];
    const spec = CAST_TYPES[parts[parts.length - 1]];
    if (!spec) throw new Error('unexpected type');
    const mods = (t?.typmods ?? []).map((m) => valueOf<A_Const>(m, 'A_Const').ival?.ival ?? 0);
    return `${spec.sql}${mods.length ? `(${mods.join(',')})` : ''}${t?.arrayBounds?.length ? '[]' : ''}`;
  }

  private aExpr(e: A_Expr): string {
    const op = (names(e.name) ?? [])[0];
    const list = (n: Node | undefined) => (n && kindOf(n) === 'List' ? (valueOf<{ items?: Node[] }>(n, 'List').items ?? []) : []);
    switch (e.kind) {
      case 'AEXPR_OP':
        return e.lexpr ? `(${this.print(e.lexpr)} ${op} ${this.print(e.rexpr)})` : `(${op} ${this.print(e.rexpr)})`;
      case 'AEXPR_LIKE':
      case 'AEXPR_ILIKE':
        return `(${this.print(e.lexpr)} ${LIKE_OPS[op]} ${this.print(e.rexpr)})`;
      case 'AEXPR_IN':
        return `(${this.print(e.lexpr)} ${op === '<>' ? 'NOT IN' : 'IN'} (${list(e.rexpr)
          .map((i) => this.print(i))
          .join(', ')}))`;
      case 'AEXPR_BETWEEN':
      case 'AEXPR_NOT_BETWEEN':
      case 'AEXPR_BETWEEN_SYM':
      case 'AEXPR_NOT_BETWEEN_SYM': {
        const [low, high] = list(e.rexpr);
        return `(${this.print(e.lexpr)} ${BETWEEN[e.kind]} ${this.print(low)} AND ${this.print(high)})`;
      }
      case 'AEXPR_DISTINCT':
        return `(${this.print(e.lexpr)} IS DISTINCT FROM ${this.print(e.rexpr)})`;
      case 'AEXPR_NOT_DISTINCT':
        return `(${this.print(e.lexpr)} IS NOT DISTINCT FROM ${this.print(e.rexpr)})`;
      case 'AEXPR_NULLIF':
        return `NULLIF(${this.print(e.lexpr)}, ${this.print(e.rexpr)})`;
      default:
        throw new Error(`cannot print ${e.kind}`);
    }
  }
}
