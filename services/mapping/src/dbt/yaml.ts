/**
 * A small YAML emitter for the shapes of a dbt project (maps, lists, strings, numbers, booleans),
 * safe for any string: every string is double-quoted with escapes, so no value is read back as
 * another type, a comment or a reference. dbt reads YAML with PyYAML (YAML 1.1), which treats
 * U+0085, U+2028 and U+2029 as line breaks and refuses unprintable characters: those are escaped too.
 */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

/** Characters written as escapes: C0/C1 controls, DEL, the YAML 1.1 line breaks, BOM, non-characters, lone surrogates. */
// eslint-disable-next-line no-control-regex
const ESCAPE = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0' };

/** A YAML double-quoted scalar. Lone surrogates (not representable in UTF-8) become U+FFFD. */
export function yamlString(s: string): string {
  return `"${s.replace(ESCAPE, (c) => {
    if (SHORT[c]) return SHORT[c];
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd';
    return `\\u${code.toString(16).padStart(4, '0')}`;
  })}"`;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const key = (k: string) => (PLAIN_KEY.test(k) ? k : yamlString(k));

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return yamlString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`YAML: cannot emit the number ${v}`);
    return String(v);
  }
  return v ? 'true' : 'false';
}

const isMap = (v: YamlValue): v is { [key: string]: YamlValue | undefined } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A map with at least one entry, or a list with at least one item: written as a block, else inline. */
function isBlock(v: YamlValue | undefined): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v === null || typeof v !== 'object') return false;
  for (const k in v) if (v[k] !== undefined) return true;
  return false;
}

function block(v: YamlValue, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    const inner = `${indent}  `;
    for (const item of v) {
      if (isMap(item) && isBlock(item)) {
        // The item's first line takes the dash in place of its indentation.
        const first = out.length;
        block(item, inner, out);
        out[first] = `${indent}- ${out[first]!.slice(inner.length)}`;
      } else if (Array.isArray(item) && item.length > 0) {
        out.push(`${indent}-`);
        block(item, inner, out);
      } else out.push(`${indent}- ${inline(item)}`);
    }
    return;
  }
  if (isMap(v)) {
    for (const k in v) {
      const item = v[k];
      if (item === undefined) continue;
      if (isBlock(item)) {
        out.push(`${indent}${key(k)}:`);
        block(item, `${indent}  `, out);
      } else out.push(`${indent}${key(k)}: ${inline(item)}`);
    }
    return;
  }
  out.push(`${indent}${scalar(v)}`);
}

function inline(v: YamlValue): string {
  if (Array.isArray(v)) return '[]';
  if (isMap(v)) return '{}';
  return scalar(v);
}

/** The document for `value` (a map at the top), ending with a newline; `header` lines become `#` comments. */
export function toYaml(value: { [key: string]: YamlValue | undefined }, header: string[] = []): string {
  const out: string[] = header.map((line) => `# ${line.replace(/[\r\n\u0085\u2028\u2029]+/g, ' ')}`.trimEnd());
  block(value, '', out);
  return `${out.join('\n')}\n`;
}
