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

/** A string literal that reads the same in PostgreSQL and contains no `{` or `}` for Jinja to see. */
export function templateSafeLiteral(value: string): string {
  if (!/[{}]/.test(value)) return quoteLiteral(value);
  if (value.includes('\0')) throw new Error('A string literal cannot contain a NUL character.');
  const escaped = value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\{/g, '\\173').replace(/\}/g, '\\175');
  return `E'${escaped}'`;
}

/**
 * A numeric constant in plain decimal: PostgreSQL 16+ reads 0x1F, 0o17, 0b101 and 1_000, which
 * older servers do not, so they are rewritten.
 */
export function decimalLiteral(v: string): string {
  const plain = v.replace(/_/g, '');
  const based = /^(-?)(0[xXoObB][0-9a-fA-F]+)$/.exec(plain);
  return based ? `${based[1]}${BigInt(based[2].toLowerCase()).toString()}` : plain;
}
