/** Mapping CTEs: one SELECT over the mapping's relations, re-emitted with each relation replaced by its `emit`. */
import { randomBytes } from 'node:crypto';
import type { A_Const, ColumnRef, CommonTableExpr, JoinExpr, Node, RangeVar, ResTarget, SelectStmt, SortBy } from '@pgsql/types';
import { parseSync } from 'libpg-query';
import { Deparser } from 'pgsql-deparser';
import { Analyzer, kindOf, names, valueOf, type Source } from './analyzer';
import { TOO_DEEP, firstLocation, isTooDeep, keywordLocation, loadSqlParser, parseText, precheck, suggest, tokenProblems } from './lexical';
import { SourceText } from './positions';
import { decimalLiteral, templateSafeLiteral } from './quote';
import type { CteRelation, CteResult, SqlProblem } from './types';
import { normalizeType } from './types-system';

interface Output {
  name: string;
  type: string;
  location?: number;
  reads: Array<{ relation: string; column: string }>;
}

/** Statement kinds in messages: InsertStmt → INSERT. */
function statementName(kind: string): string {
  const known: Record<string, string> = {
    InsertStmt: 'INSERT',
    UpdateStmt: 'UPDATE',
    DeleteStmt: 'DELETE',
    MergeStmt: 'MERGE',
    CopyStmt: 'COPY',
    CreateStmt: 'CREATE TABLE',
    CreateTableAsStmt: 'CREATE TABLE AS',
    DropStmt: 'DROP',
    TruncateStmt: 'TRUNCATE',
    GrantStmt: 'GRANT',
    VariableSetStmt: 'SET',
    DoStmt: 'DO',
    CallStmt: 'CALL',
    ExplainStmt: 'EXPLAIN',
  };
  return known[kind] ?? kind.replace(/Stmt$/, '').toUpperCase();
}

function byPosition(a: SqlProblem, b: SqlProblem): number {
  return (a.position?.offset ?? -1) - (b.position?.offset ?? -1);
}

const str = (sval: string): Node => ({ String: { sval } }) as Node;

/** A tree as JSON with sorted keys and without source locations, to compare two parses of equivalent text. */
function shape(node: unknown): string {
  const ignored = (key: string) => key === 'location' || key.endsWith('_start') || key.endsWith('_end');
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value === null || typeof value !== 'object') return value;
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .filter((k) => !ignored(k) && record[k] !== undefined)
        .sort()
        .map((k) => [k, canonical(record[k])]),
    );
  };
  return JSON.stringify(canonical(node));
}

/** How a relation is reported in reads and lineage: schema.name, or name. */
function relationLabel(r: CteRelation): string {
  return r.schema ? `${r.schema}.${r.name}` : r.name;
}

/**
 * Parses the SELECT of the mapping CTE `name` with PostgreSQL's parser. It may read only
 * `relations` (source tables, other CTEs of the mapping); joins, WHERE, GROUP BY, HAVING, ORDER
 * BY, LIMIT, DISTINCT, UNION, aggregates and window functions are allowed; subqueries, nested
 * WITH, locking and anything that writes are not. The result's `sql` is the SELECT re-emitted
 * from the tree with every relation replaced by its `emit`, every column qualified by its
 * relation's alias and `*` expanded. Never throws.
 */
export async function parseCte(name: string, text: string, relations: CteRelation[]): Promise<CteResult> {
  const source = new SourceText(String(text));
  const early = precheck(source, 'CTE');
  if (early) return { ok: false, problems: early };
  await loadSqlParser();
  try {
    return new CteChecker(name, source, relations).run();
  } catch (error) {
    if (isTooDeep(error)) return { ok: false, problems: [TOO_DEEP] };
    return {
      ok: false,
      problems: [
        { code: 'NODE_NOT_ALLOWED', message: `The CTE could not be checked (${error instanceof Error ? error.message : String(error)}); simplify it.` },
      ],
    };
  }
}

class CteChecker {
  private readonly analyzer: Analyzer;
  private readonly nonce = randomBytes(6).toString('hex');
  /** Checking the right side of a set operation, whose output names come from the left. */
  private namesOptional = false;
  /** Placeholder relation name → what to emit. */
  private readonly emits = new Map<string, string>();

  constructor(
    private readonly cteName: string,
    private readonly source: SourceText,
    private readonly relations: CteRelation[],
  ) {
    this.analyzer = new Analyzer(source, { mode: 'cte' });
  }

  private get problems(): SqlProblem[] {
    return this.analyzer.problems;
  }

  run(): CteResult {
    this.problems.push(...tokenProblems(this.source));
    const parsed = parseText(this.source);
    if ('problem' in parsed) return { ok: false, problems: [...this.problems, parsed.problem].sort(byPosition) };
    const stmts = parsed.tree.stmts ?? [];
    if (stmts.length === 0) return { ok: false, problems: [{ code: 'EMPTY', message: 'The CTE is empty; write a SELECT.' }] };
    if (stmts.length > 1) {
      this.problems.push({
        code: 'MULTIPLE_STATEMENTS',
        message: 'A CTE is one SELECT; remove the ";" and everything after it.',
        position: this.source.fromByte(stmts[1].stmt_location ?? 0),
      });
      return { ok: false, problems: this.problems.sort(byPosition) };
    }
    const stmt = stmts[0].stmt as Node;
    const kind = kindOf(stmt);
    if (kind !== 'SelectStmt') {
      this.problems.push({
        code: 'NOT_A_SELECT',
        message: `A CTE may only read: ${statementName(kind)} is not allowed. Write a SELECT over the mapping's sources.`,
        position: this.source.fromByte(stmts[0].stmt_location ?? 0),
      });
      return { ok: false, problems: this.problems.sort(byPosition) };
    }
    const select = valueOf<SelectStmt>(stmt, 'SelectStmt');
    const outputs = this.select(select);
    if (this.problems.length) return { ok: false, problems: this.problems.sort(byPosition) };
    this.qualifyColumns();
    const literals = this.hideLiterals(stmt);
    const sql = this.emit(stmt, literals);
    const reads: Array<{ relation: string; column: string }> = [];
    const seen = new Set<string>();
    for (const r of this.analyzer.reads) {
      const key = JSON.stringify([r.source.relation, r.name]);
      if (seen.has(key)) continue;
      seen.add(key);
      reads.push({ relation: r.source.relation, column: r.name });
    }
    const lineage: Record<string, Array<{ relation: string; column: string }>> = {};
    for (const o of outputs) lineage[o.name] = o.reads;
    return { ok: true, sql, columns: outputs.map((o) => ({ name: o.name, type: o.type })), reads, lineage };
  }

  private problem(code: SqlProblem['code'], message: string, location: number | undefined): void {
    this.analyzer.problem(code, message, location);
  }

  /** Checks one SELECT (or set operation); returns its output columns. */
  private select(s: SelectStmt): Output[] {
    if (s.withClause) {
      // Whatever else the statement does, it is refused for its WITH; the rest would only add noise.
      this.withClause(s.withClause.ctes ?? [], s.withClause.location ?? 0);
      return [];
    }
    if (s.intoClause) this.problem('NOT_A_SELECT', 'SELECT … INTO creates a table; a CTE may only read. Remove INTO.', firstLocation(s.intoClause) ?? 0);
    if (s.lockingClause?.length)
      this.problem(
        'NODE_NOT_ALLOWED',
        'FOR UPDATE/SHARE locks rows; a CTE may only read. Remove the locking clause.',
        firstLocation(s.lockingClause) ?? keywordLocation(this.source, 'for'),
      );
    if (s.valuesLists?.length)
      this.problem('NODE_NOT_ALLOWED', "VALUES lists are not allowed; select from the mapping's sources.", keywordLocation(this.source, 'values') ?? 0);
    if (s.windowClause?.length)
      this.problem(
        'NODE_NOT_ALLOWED',
        'WINDOW clauses are not allowed; write each window inline: OVER (PARTITION BY … ORDER BY …).',
        keywordLocation(this.source, 'window') ?? firstLocation(s.windowClause),
      );
    if (s.op && s.op !== 'SETOP_NONE') return this.setOperation(s);
    const saved = { sources: this.analyzer.sources, merged: this.analyzer.merged };
    this.analyzer.sources = [];
    this.analyzer.merged = new Map();
    try {
      return this.simpleSelect(s);
    } finally {
      this.analyzer.sources = saved.sources;
      this.analyzer.merged = saved.merged;
    }
  }

  private withClause(ctes: Node[], location: number | undefined): void {
    let writes = false;
    for (const c of ctes) {
      const cte = valueOf<CommonTableExpr>(c, 'CommonTableExpr');
      const kind = kindOf(cte.ctequery);
      if (kind !== 'SelectStmt') {
        writes = true;
        this.problem(
          'NOT_A_SELECT',
          `WITH ${cte.ctename ?? ''} AS (${statementName(kind)} …) changes data; a CTE may only read. Remove it.`,
          cte.location ?? location,
        );
      }
    }
    if (!writes) {
      this.problem('NODE_NOT_ALLOWED', 'A nested WITH is not allowed; define each inner query as another CTE of the mapping and read it by name.', location);
    }
  }

  private setOperation(s: SelectStmt): Output[] {
    const left = s.larg ? this.select(s.larg) : [];
    // The right side's columns take the left side's names: they need none of their own.
    const optional = this.namesOptional;
    this.namesOptional = true;
    const right = s.rarg ? this.select(s.rarg) : [];
    this.namesOptional = optional;
    if (left.length !== right.length) {
      this.problem(
        'NODE_NOT_ALLOWED',
        `Each side of ${s.op?.replace('SETOP_', '')} must have the same number of columns (${left.length} and ${right.length}).`,
        firstLocation(s.rarg),
      );
    }
    const outputs = left.map((o, i) => {
      const r = right[i];
      const type = !r || r.type === o.type ? o.type : o.type === 'unknown' ? r.type : r.type === 'unknown' ? o.type : 'unknown';
      const reads = [...o.reads];
      for (const read of r?.reads ?? []) if (!reads.some((x) => x.relation === read.relation && x.column === read.column)) reads.push(read);
      return { name: o.name, type, reads };
    });
    const outs = new Map(outputs.map((o) => [o.name, o.type]));
    const saved = this.analyzer.sources;
    this.analyzer.sources = [];
    for (const item of s.sortClause ?? []) this.analyzer.sortBy(valueOf<SortBy>(item, 'SortBy'), { aggregates: false, outputs: outs, outputsFirst: true });
    if (s.limitCount) this.analyzer.expr(s.limitCount, { aggregates: false });
    if (s.limitOffset) this.analyzer.expr(s.limitOffset, { aggregates: false });
    this.analyzer.sources = saved;
    return outputs;
  }

  private simpleSelect(s: SelectStmt): Output[] {
    const before = this.problems.length;
    for (const item of s.fromClause ?? []) this.fromItem(item);
    // A relation that could not be resolved makes its columns unknown: say so once, at the relation.
    this.analyzer.quiet = this.problems.length > before;
    const aliases = new Map<string, number>();
    for (const src of this.analyzer.sources) aliases.set(src.alias, (aliases.get(src.alias) ?? 0) + 1);
    for (const [alias, count] of aliases) {
      if (count > 1)
        this.problem(
          'AMBIGUOUS_RELATION',
          `"${alias}" appears ${count} times in FROM; give each occurrence a different alias (FROM t AS a JOIN t AS b …).`,
          firstLocation(s.fromClause),
        );
    }
    if (s.whereClause) {
      const t = this.analyzer.expr(s.whereClause, { aggregates: false });
      if (!t.literal && t.type !== 'unknown' && t.type !== 'boolean')
        this.problem('TYPE_MISMATCH', `WHERE needs a boolean condition, but this is ${t.type}.`, firstLocation(s.whereClause));
    }
    const outputs: Output[] = [];
    const targets: Node[] = [];
    for (const item of s.targetList ?? []) {
      const rt = valueOf<ResTarget>(item, 'ResTarget');
      const star = this.star(rt);
      if (star) {
        for (const o of star.outputs) outputs.push(o);
        targets.push(...star.targets);
        continue;
      }
      const start = this.analyzer.reads.length;
      const t = this.analyzer.expr(rt.val, { aggregates: true });
      const name = rt.name ?? this.implicitName(rt.val);
      if (name === undefined && !this.namesOptional) {
        this.problem('MISSING_ALIAS', 'Name this output column with AS, e.g. count(*) AS order_count.', rt.location ?? firstLocation(rt.val));
      } else if (name !== undefined) {
        rt.name = name;
      }
      const reads: Output['reads'] = [];
      for (const r of this.analyzer.reads.slice(start)) {
        if (!reads.some((x) => x.relation === r.source.relation && x.column === r.name)) reads.push({ relation: r.source.relation, column: r.name });
      }
      outputs.push({ name: name ?? '', type: t.isNull ? 'unknown' : t.literal ? 'text' : t.type, reads, location: rt.location });
      targets.push(item);
    }
    const written = s.targetList?.length ?? 0;
    s.targetList = targets;
    if (!written) this.problem('EMPTY', 'The SELECT has no output columns; list the columns the CTE provides.', 0);
    const seen = new Set<string>();
    for (const o of outputs) {
      if (!o.name || this.namesOptional) continue;
      if (seen.has(o.name)) this.problem('DUPLICATE_COLUMN', `The output column "${o.name}" appears twice; give one of them another name with AS.`, o.location);
      seen.add(o.name);
    }
    const outs = new Map(outputs.map((o) => [o.name, o.type]));
    for (const g of s.groupClause ?? []) {
      if (kindOf(g) === 'GroupingSet') {
        this.problem('NODE_NOT_ALLOWED', 'ROLLUP, CUBE and GROUPING SETS are not allowed; group by plain columns.', firstLocation(g));
        continue;
      }
      this.analyzer.expr(g, { aggregates: false, outputs: outs, outputsFirst: false });
    }
    if (s.havingClause) this.analyzer.expr(s.havingClause, { aggregates: true });
    for (const d of s.distinctClause ?? []) if (kindOf(d) !== 'nothing') this.analyzer.expr(d, { aggregates: false, outputs: outs, outputsFirst: false });
    for (const item of s.sortClause ?? []) this.analyzer.sortBy(valueOf<SortBy>(item, 'SortBy'), { aggregates: true, outputs: outs, outputsFirst: true });
    if (s.limitCount) this.analyzer.expr(s.limitCount, { aggregates: false });
    if (s.limitOffset) this.analyzer.expr(s.limitOffset, { aggregates: false });
    return outputs;
  }

  /** `*` or `alias.*` as a select-list item, expanded to the columns it stands for. */
  private star(rt: ResTarget): { outputs: Output[]; targets: Node[] } | undefined {
    if (kindOf(rt.val) !== 'ColumnRef') return undefined;
    const ref = valueOf<ColumnRef>(rt.val as Node, 'ColumnRef');
    const fields = ref.fields ?? [];
    if (!fields.length || kindOf(fields[fields.length - 1]) !== 'A_Star') return undefined;
    const qualifier = names(fields.slice(0, -1));
    if (!qualifier || qualifier.length > 1) {
      this.problem('SCHEMA_NOT_ALLOWED', 'Write * or alias.*; schema-qualified stars are not allowed.', ref.location);
      return { outputs: [], targets: [] };
    }
    let sources = this.analyzer.sources;
    if (qualifier.length === 1) {
      const found = sources.find((s) => s.alias === qualifier[0]) ?? sources.find((s) => s.alias.toLowerCase() === qualifier[0].toLowerCase());
      if (!found) {
        this.problem(
          'UNKNOWN_RELATION',
          `There is no relation "${qualifier[0]}" in FROM; use one of: ${sources.map((s) => s.alias).join(', ') || '(none)'}.`,
          ref.location,
        );
        return { outputs: [], targets: [] };
      }
      sources = [found];
    }
    if (!sources.length && !this.analyzer.quiet) this.problem('NODE_NOT_ALLOWED', '"*" needs a FROM clause; name the relation to read.', ref.location);
    const outputs: Output[] = [];
    const targets: Node[] = [];
    for (const src of sources) {
      for (const c of src.columns) {
        const columnRef: ColumnRef = { fields: [str(src.alias), str(c.name)], location: ref.location };
        const resolved = { source: src, name: c.name, type: normalizeType(c.type) };
        this.analyzer.resolved.set(columnRef, resolved);
        this.analyzer.reads.push(resolved);
        outputs.push({ name: c.name, type: resolved.type, reads: [{ relation: src.relation, column: c.name }], location: ref.location });
        targets.push({ ResTarget: { name: c.name, val: { ColumnRef: columnRef }, location: rt.location } } as Node);
      }
    }
    return { outputs, targets };
  }

  /** PostgreSQL's name for an unaliased select-list item; only plain (or cast) columns get one here. */
  private implicitName(val: Node | undefined): string | undefined {
    if (!val) return undefined;
    if (kindOf(val) === 'TypeCast') return this.implicitName(valueOf<{ arg?: Node }>(val, 'TypeCast').arg);
    if (kindOf(val) !== 'ColumnRef') return undefined;
    const ref = valueOf<ColumnRef>(val, 'ColumnRef');
    const resolved = this.analyzer.resolved.get(ref);
    if (resolved) return resolved.name;
    const parts = names(ref.fields);
    return parts?.[parts.length - 1];
  }

  private fromItem(node: Node): void {
    const kind = kindOf(node);
    switch (kind) {
      case 'RangeVar':
        this.rangeVar(valueOf<RangeVar>(node, kind));
        return;
      case 'JoinExpr': {
        const j = valueOf<JoinExpr>(node, kind);
        if (j.isNatural) this.problem('NODE_NOT_ALLOWED', 'NATURAL JOIN is not allowed; write the join condition with ON or USING.', firstLocation(node));
        if (j.alias) this.problem('NODE_NOT_ALLOWED', 'An alias on a join is not allowed; alias the joined relations instead.', firstLocation(node));
        const problemsBefore = this.problems.length;
        const before = this.analyzer.sources.length;
        if (j.larg) this.fromItem(j.larg);
        const middle = this.analyzer.sources.length;
        if (j.rarg) this.fromItem(j.rarg);
        const left = this.analyzer.sources.slice(before, middle);
        const right = this.analyzer.sources.slice(middle);
        for (const column of names(j.usingClause) ?? []) {
          const l = left.find((s) => s.columns.some((c) => c.name === column));
          const r = right.find((s) => s.columns.some((c) => c.name === column));
          if (!l || !r) {
            this.problem(
              'UNKNOWN_COLUMN',
              `USING (${column}) needs a column "${column}" on both sides of the join; use ON … = … instead.`,
              firstLocation(node),
            );
          } else {
            this.analyzer.merged.set(column, l);
          }
        }
        if (this.problems.length > problemsBefore) this.analyzer.quiet = true;
        if (j.quals) {
          const t = this.analyzer.expr(j.quals, { aggregates: false });
          if (!t.literal && t.type !== 'unknown' && t.type !== 'boolean')
            this.problem('TYPE_MISMATCH', `JOIN … ON needs a boolean condition, but this is ${t.type}.`, firstLocation(j.quals));
        }
        return;
      }
      case 'RangeSubselect':
        this.problem(
          'SUBQUERY_NOT_ALLOWED',
          'Subqueries in FROM are not allowed; define the inner SELECT as another CTE of the mapping and read it by name.',
          firstLocation(node),
        );
        return;
      case 'RangeFunction':
        this.problem(
          'FUNCTION_NOT_ALLOWED',
          "Functions in FROM (generate_series, unnest, …) are not allowed; read the mapping's sources.",
          firstLocation(node),
        );
        return;
      default:
        this.problem('NODE_NOT_ALLOWED', `${kind} is not allowed in FROM; read the mapping's sources by name.`, firstLocation(node));
    }
  }

  private rangeVar(rv: RangeVar): void {
    const name = rv.relname ?? '';
    const written = [rv.catalogname, rv.schemaname, name].filter(Boolean).join('.');
    if (rv.catalogname) {
      this.problem('SCHEMA_NOT_ALLOWED', `"${written}" names a database; read the mapping's sources by schema.name or name.`, rv.location);
      return;
    }
    if (rv.alias?.colnames?.length) {
      this.problem('NODE_NOT_ALLOWED', 'Renaming columns in an alias (AS t(a, b)) is not allowed; rename them in the select list.', rv.location);
      return;
    }
    const candidates = this.relations.map(relationLabel);
    let match: CteRelation[];
    if (rv.schemaname) {
      const schema = rv.schemaname.toLowerCase();
      const inSchema = this.relations.filter((r) => r.schema?.toLowerCase() === schema);
      if (!inSchema.length) {
        this.problem(
          'SCHEMA_NOT_ALLOWED',
          `The schema "${rv.schemaname}" holds none of this mapping's sources; read one of: ${candidates.join(', ') || '(none)'}.`,
          rv.location,
        );
        return;
      }
      match = inSchema.filter((r) => r.name === name);
      if (!match.length) match = inSchema.filter((r) => r.name.toLowerCase() === name.toLowerCase());
    } else {
      match = this.relations.filter((r) => r.name === name);
      if (!match.length) match = this.relations.filter((r) => r.name.toLowerCase() === name.toLowerCase());
    }
    if (match.length > 1) {
      this.problem('AMBIGUOUS_RELATION', `"${written}" could be ${match.map(relationLabel).join(' or ')}; qualify it with its schema.`, rv.location);
      return;
    }
    if (!match.length) {
      const self = !rv.schemaname && name.toLowerCase() === this.cteName.toLowerCase();
      const hint = suggest(written, candidates);
      this.problem(
        'UNKNOWN_RELATION',
        self
          ? `A CTE cannot read itself ("${name}"); recursive CTEs are not supported.`
          : `"${written}" is not one of this mapping's sources or CTEs${hint ? `; did you mean "${hint}"?` : `; read one of: ${candidates.join(', ') || '(none)'}.`}`,
        rv.location,
      );
      return;
    }
    const relation = match[0];
    const alias = rv.alias?.aliasname ?? name;
    const placeholder = `dlx_relation_${this.emits.size}_${this.nonce}`;
    this.emits.set(placeholder, relation.emit);
    const src: Source = { alias, relation: relationLabel(relation), columns: relation.columns };
    this.analyzer.sources.push(src);
    // The tree now names the placeholder; the emitted SQL gets `emit` in its place.
    delete rv.catalogname;
    delete rv.schemaname;
    rv.relname = placeholder;
    rv.inh = true;
    rv.alias = { aliasname: alias };
  }

  /** Every resolved column as alias.column with the relation's exact column name, so that columns the emitted relation has beyond those declared cannot make a name ambiguous. */
  private qualifyColumns(): void {
    for (const [ref, r] of this.analyzer.resolved) {
      // A name merged by JOIN … USING stays bare: under a FULL JOIN it is neither side's column.
      if (this.analyzer.viaUsing.has(ref)) continue;
      ref.fields = [str(r.source.alias), str(r.name)];
    }
  }

  /**
   * Replaces string constants holding `{`, `}` or a backslash by placeholders the deparser prints
   * plainly (they are emitted by templateSafeLiteral, whatever standard_conforming_strings is);
   * writes numbers in plain decimal.
   */
  private hideLiterals(root: unknown): Map<string, string> {
    const hidden = new Map<string, string>();
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      const record = node as Record<string, unknown>;
      const constant = record.A_Const as A_Const | undefined;
      // PostgreSQL 16+ reads 0x1F and 1_000; the warehouse may be older.
      if (constant?.fval?.fval) constant.fval.fval = decimalLiteral(constant.fval.fval);
      if (constant?.sval && /[{}\\]/.test(constant.sval.sval ?? '')) {
        const placeholder = `dlx_literal_${hidden.size}_${this.nonce}`;
        hidden.set(placeholder, constant.sval.sval ?? '');
        constant.sval.sval = placeholder;
      }
      for (const value of Object.values(record)) walk(value);
    };
    walk(root);
    return hidden;
  }

  private emit(stmt: Node, literals: Map<string, string>): string {
    const deparsed = Deparser.deparse(stmt);
    // The deparsed text must read back as the very tree that was checked, before anything is substituted into it.
    const check = parseSync(deparsed).stmts ?? [];
    if (check.length !== 1 || shape(check[0].stmt) !== shape(stmt)) throw new Error('the SELECT did not re-emit faithfully');
    return deparsed
      .replace(new RegExp(`"?(dlx_relation_\\d+_${this.nonce})"?`, 'g'), (_m, p: string) => this.emits.get(p) ?? _m)
      .replace(new RegExp(`'(dlx_literal_\\d+_${this.nonce})'`, 'g'), (_m, p: string) => {
        const value = literals.get(p);
        return value === undefined ? _m : templateSafeLiteral(value);
      });
  }
}
