/**
 * Identifier quoting and Jinja escaping for the generated dbt project. dbt renders every model,
 * macro and most YAML values as Jinja before PostgreSQL sees them, so text taken from users
 * (names, descriptions) must be safe for both.
 */

/**
 * PostgreSQL keywords that are not plain identifiers in every position (reserved, column-name and
 * type/function-name keywords of `pg_get_keywords()`, PostgreSQL 14–18).
 */
const KEYWORDS = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case cast char character check ' +
    'coalesce collate collation column concurrently constraint create cross current_catalog current_date current_role current_schema ' +
    'current_time current_timestamp current_user dec decimal default deferrable desc distinct do else end except exists extract false fetch ' +
    'float for foreign freeze from full grant greatest group grouping having ilike in initially inner inout int integer intersect interval into ' +
    'is isnull join json json_array json_arrayagg json_exists json_object json_objectagg json_query json_scalar json_serialize json_table ' +
    'json_value lateral leading least left like limit localtime localtimestamp merge_action national natural nchar none normalize not notnull ' +
    'null nullif numeric offset on only or order out outer overlaps overlay placing position precision primary real references returning ' +
    'right row select session_user setof similar smallint some substring symmetric system_user table tablesample then time timestamp to ' +
    'trailing treat trim true union unique user using values varchar variadic verbose when where window with xmlattributes xmlconcat ' +
    'xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable'
  ).split(' '),
);

/** A lower-case identifier PostgreSQL reads unquoted as itself (at most 63 bytes, no keyword). */
export const isPlainIdentifier = (name: string): boolean => /^[a-z_][a-z0-9_]{0,62}$/.test(name) && !KEYWORDS.has(name);

/** `name` as a PostgreSQL identifier: double-quoted (quotes doubled) unless it is plain. */
export const quoteIdent = (name: string): string => (isPlainIdentifier(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** Always double-quoted (staging models select every column this way). */
export const quoteIdentAlways = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Text that Jinja passes through unchanged: every `{` (the start of `{{`, `{%` and `{#`) is written
 * as the expression `{{ '{' }}`. The mapping compiler uses it for identifiers and literals it puts
 * into a model's SQL, whose only Jinja is its own `{{ ref(...) }}`.
 */
export const jinjaLiteral = (text: string): string => text.replace(/\{/g, "{{ '{' }}");

/** A Jinja string literal (`'…'`, backslashes and quotes escaped) for use inside `{{ }}` or `{% %}`. */
export const jinjaString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * A string argument of `{{ config(...) }}` in a model. dbt reads those calls with its static parser,
 * which does not undo backslash escapes: the string is quoted with the quote it does not contain
 * (names holding both quotes are refused before).
 */
export const jinjaConfigString = (s: string): string => (s.includes("'") ? `"${s}"` : `'${s}'`);

/** One line of a SQL `--` comment: line breaks become spaces, Jinja is escaped. */
export const sqlComment = (text: string): string => `-- ${jinjaLiteral(text.replace(/[\r\n\u0085\u2028\u2029]+/g, ' '))}`.trimEnd();
