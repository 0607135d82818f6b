/**
 * Small builders for the PostgreSQL normalizers. A normalizer is one SQL expression over the
 * placeholder `{col}` (a text value) that yields the normalized text, or NULL when the value is
 * invalid. It never raises an error: every cast is behind a regular-expression gate, so one bad
 * value cannot abort a statement over a whole table.
 */

/** The placeholder a normalizer uses for the value. */
export const COL = '{col}';

/** A SQL string literal (standard_conforming_strings on: only quotes are doubled). */
export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Trims spaces, tabs and line breaks (the same characters as `trimValue`). */
export const TRIM = `btrim(${COL}, E' \\t\\r\\n')`;
export const trimValue = (s: string) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');

/** `expr` as `v`, then `body` over `v` (a scalar subquery, so `expr` is computed once). */
export const withV = (expr: string, body: string) => `(SELECT ${body} FROM (SELECT ${expr} AS v) _n)`;

/** `expr` when it matches `pattern`, else NULL. */
export const gate = (expr: string, pattern: string) => withV(expr, `CASE WHEN v ~ ${lit(pattern)} THEN v END`);

/** A jsonb object literal (a lookup table parsed once per statement). */
export const jsonLookup = (map: Readonly<Record<string, string>>, keyExpr: string) => `(${lit(JSON.stringify(map))}::jsonb ->> (${keyExpr}))`;

/** An ISO date from integer year, month, day expressions, or NULL when the day does not exist. */
export const ymdSql = (y: string, m: string, d: string) =>
  `CASE WHEN ${m} BETWEEN 1 AND 12 AND ${d} BETWEEN 1 AND (CASE WHEN ${m} IN (4, 6, 9, 11) THEN 30 WHEN ${m} = 2 THEN ` +
  `CASE WHEN ${y} % 4 = 0 AND (${y} % 100 <> 0 OR ${y} % 400 = 0) THEN 29 ELSE 28 END ELSE 31 END) ` +
  `THEN lpad(${y}::text, 4, '0') || '-' || lpad(${m}::text, 2, '0') || '-' || lpad(${d}::text, 2, '0') END`;

/** Decimal text in canonical form (PostgreSQL numeric's own text), behind a gate that makes the cast safe. */
export const decimalSql = (expr: string) => withV(expr, `CASE WHEN v ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$' THEN (v::numeric)::text END`);

/** Replaces the placeholder with a SQL expression (e.g. a quoted column cast to text). */
export const applySql = (normalizer: string, valueExpr: string) => normalizer.split(COL).join(`(${valueExpr})`);
