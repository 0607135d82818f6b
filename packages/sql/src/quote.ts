/** Quoting of identifiers and string literals for SQL that Datalinx emits. */

/** `name` as a double-quoted identifier (`"` doubled); refuses NUL, which PostgreSQL cannot store. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('An identifier cannot contain a NUL character.');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * `value` as a string literal: `'…'` with `'` doubled; when it holds a backslash, an escape
 * string `E'…'` with backslashes doubled too, so that it reads the same whatever
 * `standard_conforming_strings` is. Refuses NUL, which PostgreSQL cannot store.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('A string literal cannot contain a NUL character.');
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
