import {
  ALPHA3_TO_ALPHA2,
  CA_PROVINCE_LOOKUP,
  COUNTRY_ALPHA2,
  COUNTRY_ALPHA3,
  COUNTRY_LOOKUP,
  CURRENCIES,
  LANGUAGES,
  TIME_ZONE_LOOKUP,
  US_STATE_LOOKUP,
} from './data';
import { COL, decimalSql, gate, jsonLookup, lit, TRIM, trimValue, withV, ymdSql } from './sql';

export type CanonicalValidation = { ok: true; normalized: string } | { ok: false; rule: string };

/**
 * One canonical type (ARCHITECTURE.md §7): the single definition that suggestions,
 * normalization, dbt tests and monitoring share.
 * - `pattern`: an anchored regex matching the CANONICAL form, in the common subset of ECMAScript
 *   and PostgreSQL ARE (no \b, lookbehind or flags); `detect` is it compiled.
 * - `validate` (TypeScript) and `sqlNormalizer` (PostgreSQL, over `{col}`) accept and normalize
 *   the same values; the tests run every example through both.
 * - `rule`: the name a rejected value is quarantined with (e.g. `email.format`).
 */
export interface CanonicalTypeDef {
  name: string;
  label: string;
  description: string;
  category: string;
  parent?: string;
  pattern: string;
  detect: RegExp;
  rule: string;
  validate(value: string): CanonicalValidation;
  sqlNormalizer: string;
  examples: { valid: Array<{ value: string; normalized: string }>; invalid: string[] };
  /** Tie-break in detection: higher wins when two types accept the same share (children rank above parents). */
  specificity: number;
  /** Values are personal or payment data: never log them; the quarantine keeps them masked. */
  sensitive?: boolean;
  /**
   * The type converts another notation into its canonical form (e.g. country names into ISO
   * codes, US dates into ISO dates): a value already in canonical form is accepted as-is (so
   * normalizing twice changes nothing) but is no evidence for this type in detection.
   */
  converts?: boolean;
  /** Accepts much ordinary text (person names): detection picks it only when no other type accepts half the values. */
  weak?: boolean;
}

type Spec = Omit<CanonicalTypeDef, 'detect' | 'validate' | 'examples' | 'specificity' | 'rule'> & {
  rule?: string;
  normalize: (trimmed: string) => string | null;
  valid: Array<string | [string, string]>;
  invalid: string[];
  specificity?: number;
};

function def(s: Spec): CanonicalTypeDef {
  const rule = s.rule ?? `${s.name}.format`;
  const re = new RegExp(s.pattern);
  const validate = (value: string): CanonicalValidation => {
    const t = typeof value === 'string' ? trimValue(value) : null;
    const n = t === null ? null : s.converts && re.test(t) ? t : s.normalize(t);
    return n !== null && re.test(n) ? { ok: true, normalized: n } : { ok: false, rule };
  };
  const { normalize: _n, valid, invalid, specificity, ...rest } = s;
  return {
    ...rest,
    rule,
    detect: re,
    validate,
    sqlNormalizer: gate(s.converts ? `CASE WHEN ${TRIM} ~ ${lit(s.pattern)} THEN ${TRIM} ELSE ${s.sqlNormalizer} END` : s.sqlNormalizer, s.pattern),
    examples: { valid: valid.map((v) => (typeof v === 'string' ? { value: v, normalized: v } : { value: v[0], normalized: v[1] })), invalid },
    specificity: specificity ?? 50,
  };
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const LLABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HEX = '[0-9a-f]{1,4}';
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `(?:${OCTET}\\.){3}${OCTET}`;
const ISO_DATE = '[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-9])|(?:0[13-9]|1[0-2])-30|(?:0[13578]|1[02])-31)';
const oneOf = (codes: readonly string[]) => `^(?:${codes.join('|')})$`;
const lower = (s: string) => s.toLowerCase();
const upper = (s: string) => s.toUpperCase();
const has = (m: Readonly<Record<string, string>>, k: string) => (Object.prototype.hasOwnProperty.call(m, k) ? m[k]! : null);

// ─── JS mirrors of the SQL helpers ────────────────────────────────────────────

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
function ymd(y: number, m: number, d: number): string | null {
  if (m < 1 || m > 12) return null;
  const days = [4, 6, 9, 11].includes(m) ? 30 : m === 2 ? (isLeap(y) ? 29 : 28) : 31;
  if (d < 1 || d > days) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}
/** PostgreSQL numeric's text for a decimal literal (sign, no leading zeros, scale kept). */
function canonicalDecimal(v: string): string | null {
  const m = /^([+-]?)([0-9]+[.]?[0-9]*|[.][0-9]+)$/.exec(v);
  if (!m) return null;
  const [intRaw, frac = ''] = m[2]!.split('.');
  const int = intRaw!.replace(/^0+/, '') || '0';
  const zero = /^0*$/.test(int + frac);
  return `${m[1] === '-' && !zero ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}

/** A date in one of several textual layouts (y, m, d = capture group numbers). */
interface DateFormat {
  re: string;
  y: number;
  m: number;
  d: number;
}
function dateType(formats: DateFormat[]) {
  return {
    normalize: (v: string) => {
      for (const f of formats) {
        const r = new RegExp(f.re).exec(v);
        if (r) return ymd(Number(r[f.y]), Number(r[f.m]), Number(r[f.d]));
      }
      return null;
    },
    // The first layout that matches decides (the same order as in TypeScript).
    sqlNormalizer: `CASE ${formats.map((f) => `WHEN ${TRIM} ~ ${lit(f.re)} THEN (SELECT ${ymdSql(`(r[${f.y}])::int`, `(r[${f.m}])::int`, `(r[${f.d}])::int`)} FROM (SELECT regexp_match(${TRIM}, ${lit(f.re)}) AS r) _d)`).join(' ')} END`,
  };
}

/** Luhn check over a digit string (payment cards). */
const luhn = (digits: string) => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
};
const luhnSql = (v: string) =>
  `(SELECT sum(CASE WHEN i % 2 = 0 THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END) ELSE d END) % 10 FROM (SELECT substr(reverse(${v}), i, 1)::int AS d, i FROM generate_series(1, length(${v})) AS i) _l) = 0`;

/** IBAN mod-97 (ISO 13616). */
const ibanOk = (v: string) => {
  const r = v.slice(4) + v.slice(0, 4);
  let rem = 0;
  for (const c of r) {
    const n = /[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c;
    for (const ch of n) rem = (rem * 10 + Number(ch)) % 97;
  }
  return rem === 1;
};
const ibanSql = (v: string) =>
  `((SELECT string_agg(CASE WHEN c ~ '[A-Z]' THEN (ascii(c) - 55)::text ELSE c END, '' ORDER BY i) FROM (SELECT substr(substr(${v}, 5) || substr(${v}, 1, 4), i, 1) AS c, i FROM generate_series(1, length(${v})) AS i) _i)::numeric % 97) = 1`;

// Money: symbols and ISO codes around the number, then US (1,234.50), European (1.234,50) or plain.
const MONEY_STRIP = '^(?:[$€£¥₹]|[A-Za-z]{3})? ?|(?: ?(?:[$€£¥₹]|[A-Za-z]{3}))$';
const MONEY_US = '^[+-]?[0-9]{1,3}(?:,[0-9]{3})*(?:\\.[0-9]+)?$';
const MONEY_EU = '^[+-]?[0-9]{1,3}(?:\\.[0-9]{3})*(?:,[0-9]+)?$';
const MONEY_PLAIN = '^[+-]?[0-9]+(?:[.,][0-9]+)?$';
function moneyJs(raw: string): string | null {
  let v = raw.replace(new RegExp(MONEY_STRIP, 'g'), '');
  // A sign before the symbol: "-$1,234.50".
  v = v.replace(/^([+-]) ?(?:[$€£¥₹]|[A-Za-z]{3}) ?/, '$1');
  if (new RegExp(MONEY_US).test(v)) v = v.replace(/,/g, '');
  else if (new RegExp(MONEY_EU).test(v)) v = v.replace(/\./g, '').replace(',', '.');
  else if (new RegExp(MONEY_PLAIN).test(v)) v = v.replace(',', '.');
  else return null;
  return canonicalDecimal(v);
}
const moneySql = withV(
  `regexp_replace(regexp_replace(${TRIM}, ${lit(MONEY_STRIP)}, '', 'g'), '^([+-]) ?(?:[$€£¥₹]|[A-Za-z]{3}) ?', '\\1')`,
  `CASE WHEN v ~ ${lit(MONEY_US)} THEN ${decimalSql(`replace(v, ',', '')`)} WHEN v ~ ${lit(MONEY_EU)} THEN ${decimalSql(`replace(replace(v, '.', ''), ',', '.')`)} WHEN v ~ ${lit(MONEY_PLAIN)} THEN ${decimalSql(`replace(v, ',', '.')`)} END`,
);

const TIME_RE = '^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$';
const TIME12_RE = '^(0?[1-9]|1[0-2])(?::([0-5][0-9]))?(?::([0-5][0-9]))? ?([AaPp])\\.?[Mm]\\.?$';
function timeJs(v: string): string | null {
  const pad = (n: number) => String(n).padStart(2, '0');
  let r = new RegExp(TIME_RE).exec(v);
  if (r) return `${pad(Number(r[1]))}:${r[2]}:${r[3] ?? '00'}`;
  r = new RegExp(TIME12_RE).exec(v);
  if (!r) return null;
  const h = (Number(r[1]) % 12) + (r[4]!.toLowerCase() === 'p' ? 12 : 0);
  return `${pad(h)}:${r[2] ?? '00'}:${r[3] ?? '00'}`;
}
const timeSql =
  `CASE WHEN ${TRIM} ~ ${lit(TIME_RE)} THEN (SELECT lpad(r[1], 2, '0') || ':' || r[2] || ':' || coalesce(r[3], '00') FROM (SELECT regexp_match(${TRIM}, ${lit(TIME_RE)}) AS r) _t) ` +
  `WHEN ${TRIM} ~ ${lit(TIME12_RE)} THEN (SELECT lpad(((r[1])::int % 12 + CASE WHEN lower(r[4]) = 'p' THEN 12 ELSE 0 END)::text, 2, '0') || ':' || coalesce(r[2], '00') || ':' || coalesce(r[3], '00') FROM (SELECT regexp_match(${TRIM}, ${lit(TIME12_RE)}) AS r) _t) END`;

const BOOLEANS: Record<string, string> = {
  true: 'true',
  t: 'true',
  yes: 'true',
  y: 'true',
  '1': 'true',
  on: 'true',
  false: 'false',
  f: 'false',
  no: 'false',
  n: 'false',
  '0': 'false',
  off: 'false',
};
const GENDERS: Record<string, string> = {
  m: 'M',
  male: 'M',
  man: 'M',
  f: 'F',
  female: 'F',
  woman: 'F',
  x: 'X',
  'non-binary': 'X',
  nonbinary: 'X',
  diverse: 'X',
  other: 'X',
  u: 'U',
  unknown: 'U',
  'not specified': 'U',
};
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTHS: Record<string, string> = Object.fromEntries(
  MONTH_NAMES.flatMap((n, i) => {
    const mm = String(i + 1).padStart(2, '0');
    return [[n, mm], [n.slice(0, 3), mm], [String(i + 1), mm], [mm, mm], ...(n.length > 4 ? [[`${n.slice(0, 3)}.`, mm]] : [])];
  }).concat([['sept', '09']]),
);
const COUNTRY_CODES = new Set(COUNTRY_ALPHA2);
const CODE_LIKE_ALIASES = ['uk', 'usa', 'uae', 'drc'];
const LANGUAGE_SET = new Set(LANGUAGES);
const NAME_PART = "[A-Za-zÀ-ÖØ-öø-ÿĀ-ž](?:[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’.-]*[A-Za-zÀ-ÖØ-öø-ÿĀ-ž.])?";
const collapse = (v: string) => v.replace(/[ \t]+/g, ' ');
const COLLAPSE_SQL = `regexp_replace(${TRIM}, '[ \\t]+', ' ', 'g')`;

/** The built-in canonical types, in the order pickers show them (by category). */
export const BUILT_IN_CANONICAL_TYPES: readonly CanonicalTypeDef[] = [
  // ── contact ──
  def({
    name: 'email',
    label: 'Email address',
    category: 'contact',
    rule: 'email.format',
    description: 'An email address (addr-spec): a local part, "@", and a domain with at least one dot; normalized to lower case.',
    pattern: `^[a-z0-9.!#$%&'*+/=?^_\`{|}~-]+@${LLABEL}(?:\\.${LLABEL})+$`,
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: [
      'ada@example.com',
      [' Ada.Lovelace@Example.COM ', 'ada.lovelace@example.com'],
      ["o'brien@example.ie", "o'brien@example.ie"],
      'first.last+tag@mail.example.co.uk',
    ],
    invalid: ['ada@example', 'ada.example.com', 'ada@@example.com', 'ada @example.com', '@example.com', ''],
    specificity: 90,
  }),
  def({
    name: 'phone_e164',
    label: 'Phone number (E.164)',
    category: 'contact',
    rule: 'phone.e164',
    description:
      'An international phone number in E.164 form ("+", a country code not starting with 0, at most 15 digits); spaces, dots, dashes and parentheses are dropped and a leading 00 becomes "+".',
    pattern: '^\\+[1-9][0-9]{6,14}$',
    normalize: (v) => {
      const s = v.replace(/[ ().-]/g, '');
      return s.startsWith('00') ? `+${s.slice(2)}` : s;
    },
    sqlNormalizer: withV(`regexp_replace(${TRIM}, '[ ().-]', '', 'g')`, `CASE WHEN v ~ '^00' THEN '+' || substr(v, 3) ELSE v END`),
    valid: ['+14155552671', ['+44 20 7183 8750', '+442071838750'], ['0049 30 901820', '+4930901820'], ['+1 (415) 555-2671', '+14155552671']],
    invalid: ['+0123456', '+1234567890123456', '0301234567', 'phone', '+49 30 abc'],
    specificity: 85,
  }),
  // ── web ──
  def({
    name: 'url',
    label: 'URL',
    category: 'web',
    rule: 'url.format',
    description:
      'An absolute http or https URL with a host name, an optional port and an optional path, query or fragment; the scheme is written in lower case.',
    pattern: `^https?://(?:${LABEL}\\.)*${LABEL}(?::[0-9]{1,5})?(?:[/?#][^ \\t\\r\\n]*)?$`,
    normalize: (v) => v.replace(/^[Hh][Tt][Tt][Pp]([Ss]?):/, (_m, s: string) => `http${s.toLowerCase()}:`),
    sqlNormalizer: withV(TRIM, `CASE WHEN v ~* '^https?:' THEN lower(substr(v, 1, position(':' in v))) || substr(v, position(':' in v) + 1) ELSE v END`),
    valid: ['https://example.com', 'http://localhost:8080/health', ['HTTPS://docs.example.org/a/b?q=1#top', 'https://docs.example.org/a/b?q=1#top']],
    invalid: ['ftp://example.com', 'example.com', 'https://', 'https://exa mple.com'],
    specificity: 80,
  }),
  def({
    name: 'domain',
    label: 'Domain name',
    category: 'web',
    rule: 'domain.format',
    description:
      'A fully qualified host name in lower case, without a trailing dot: labels of 1–63 letters, digits or inner hyphens, and an alphabetic top-level domain.',
    pattern: `^(?:${LLABEL}\\.)+[a-z]{2,63}$`,
    normalize: (v) => lower(v).replace(/\.$/, ''),
    sqlNormalizer: `regexp_replace(lower(${TRIM}), '[.]$', '')`,
    valid: ['example.com', ['Mail.Example.co.uk.', 'mail.example.co.uk'], 'xn--bcher-kva.example'],
    invalid: ['localhost', 'example', '-bad.example.com', 'example.c0m', 'a..example.com'],
    specificity: 60,
  }),
  def({
    name: 'hashtag',
    label: 'Hashtag',
    category: 'web',
    rule: 'hashtag.format',
    description: 'A hashtag: "#" then letters, digits or underscores (not only digits), in lower case.',
    pattern: '^#[a-z0-9_]*[a-z_][a-z0-9_]*$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['#datalinx', ['#OpenData', '#opendata'], '#etl_2024'],
    invalid: ['datalinx', '#', '#123', '#two words'],
    specificity: 75,
  }),
  def({
    name: 'twitter_handle',
    label: 'Social handle (@name)',
    category: 'web',
    rule: 'handle.format',
    description: 'A Twitter/X-style handle: "@" and 1–15 letters, digits or underscores, in lower case.',
    pattern: '^@[a-z0-9_]{1,15}$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['@datalinx', ['@Ada_Lovelace', '@ada_lovelace']],
    invalid: ['datalinx', '@', '@this_handle_is_too_long', '@bad-handle'],
    specificity: 75,
  }),
  def({
    name: 'mime_type',
    label: 'MIME type',
    category: 'web',
    rule: 'mime.format',
    description: 'A media type (type/subtype, RFC 6838) of a registered top-level type, in lower case, without parameters.',
    pattern: '^(?:application|audio|font|image|message|model|multipart|text|video)/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['application/json', ['Text/CSV', 'text/csv'], 'image/svg+xml'],
    invalid: ['json', 'foo/bar', 'text/', 'text/plain; charset=utf-8'],
    specificity: 80,
  }),
  def({
    name: 'file_extension',
    label: 'File extension',
    category: 'web',
    rule: 'file_extension.format',
    description: 'A file name extension with its leading dot, in lower case (e.g. ".csv").',
    pattern: '^\\.[a-z0-9]{1,10}$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['.csv', ['.PDF', '.pdf'], '.tar'],
    invalid: ['csv', '.', '.verylongextension', '.c s v'],
    specificity: 70,
  }),
  def({
    name: 'hex_color',
    label: 'Hex color',
    category: 'web',
    rule: 'color.hex',
    description: 'A CSS hex color "#rrggbb" in lower case; "#rgb" is expanded.',
    pattern: '^#[0-9a-f]{6}$',
    normalize: (v) => lower(v).replace(/^#([0-9a-f])([0-9a-f])([0-9a-f])$/, '#$1$1$2$2$3$3'),
    sqlNormalizer: `regexp_replace(lower(${TRIM}), '^#([0-9a-f])([0-9a-f])([0-9a-f])$', '#\\1\\1\\2\\2\\3\\3')`,
    valid: ['#1a2b3c', ['#FFF', '#ffffff'], ['#00AAFF', '#00aaff']],
    invalid: ['1a2b3c', '#12345', '#ggg', 'red'],
    specificity: 80,
  }),
  // ── network ──
  def({
    name: 'ipv4',
    label: 'IPv4 address',
    category: 'network',
    rule: 'ipv4.format',
    description: 'An IPv4 address in dotted-decimal form, each octet 0–255 without leading zeros.',
    pattern: `^${IPV4}$`,
    normalize: (v) => v,
    sqlNormalizer: TRIM,
    valid: ['192.168.0.1', '8.8.8.8', [' 255.255.255.255 ', '255.255.255.255']],
    invalid: ['256.1.1.1', '192.168.01.1', '1.2.3', '1.2.3.4.5'],
    specificity: 85,
  }),
  def({
    name: 'ipv6',
    label: 'IPv6 address',
    category: 'network',
    rule: 'ipv6.format',
    description: 'An IPv6 address in full or "::"-compressed form (RFC 4291), including IPv4-mapped forms, in lower case.',
    pattern:
      '^(?:' +
      [
        `(?:${HEX}:){7}${HEX}`,
        `(?:${HEX}:){1,7}:`,
        `(?:${HEX}:){1,6}:${HEX}`,
        `(?:${HEX}:){1,5}(?::${HEX}){1,2}`,
        `(?:${HEX}:){1,4}(?::${HEX}){1,3}`,
        `(?:${HEX}:){1,3}(?::${HEX}){1,4}`,
        `(?:${HEX}:){1,2}(?::${HEX}){1,5}`,
        `${HEX}:(?::${HEX}){1,6}`,
        `:(?:(?::${HEX}){1,7}|:)`,
        `(?:${HEX}:){6}${IPV4}`,
        `::(?:ffff(?::0{1,4})?:)?${IPV4}`,
        `(?:${HEX}:){1,5}:${IPV4}`,
      ].join('|') +
      ')$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['2001:db8::1', '::1', ['FE80:0:0:0:202:B3FF:FE1E:8329', 'fe80:0:0:0:202:b3ff:fe1e:8329'], '::ffff:192.0.2.128'],
    invalid: ['2001:db8:::1', '1:2:3:4:5:6:7:8:9', '12345::1', 'g::1', '192.168.0.1'],
    specificity: 85,
  }),
  def({
    name: 'mac_address',
    label: 'MAC address',
    category: 'network',
    rule: 'mac.format',
    description: 'A 48-bit MAC address, written as six lower-case hex pairs separated by colons (dashes, dots or no separators are accepted).',
    pattern: '^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$',
    normalize: (v) => {
      if (!/^(?:[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}|[0-9A-Fa-f]{12})$/.test(v))
        return null;
      const h = lower(v.replace(/[:.-]/g, ''));
      return h.match(/../g)!.join(':');
    },
    sqlNormalizer: withV(
      `CASE WHEN ${TRIM} ~ '^(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{4}[.][0-9A-Fa-f]{4}[.][0-9A-Fa-f]{4}$|^[0-9A-Fa-f]{12}$' THEN lower(regexp_replace(${TRIM}, '[:.-]', '', 'g')) END`,
      `substr(v, 1, 2) || ':' || substr(v, 3, 2) || ':' || substr(v, 5, 2) || ':' || substr(v, 7, 2) || ':' || substr(v, 9, 2) || ':' || substr(v, 11, 2)`,
    ),
    valid: ['00:1a:2b:3c:4d:5e', ['00-1A-2B-3C-4D-5E', '00:1a:2b:3c:4d:5e'], ['001a.2b3c.4d5f', '00:1a:2b:3c:4d:5f'], ['001A2B3C4D60', '00:1a:2b:3c:4d:60']],
    invalid: ['00:1a:2b:3c:4d', '00:1a-2b:3c:4d:5e', 'zz:1a:2b:3c:4d:5e'],
    specificity: 85,
  }),
  // ── identifier ──
  def({
    name: 'uuid',
    label: 'UUID',
    category: 'identifier',
    rule: 'uuid.format',
    description: 'An RFC 9562 UUID (versions 1–8, RFC variant) in its lower-case 8-4-4-4-12 hex form.',
    pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: [
      '123e4567-e89b-12d3-a456-426614174000',
      ['F47AC10B-58CC-4372-A567-0E02B2C3D479', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'],
      '01890a5d-ac96-774b-bcce-b302099a8057',
    ],
    invalid: ['123e4567-e89b-02d3-a456-426614174000', '123e4567-e89b-12d3-c456-426614174000', '123e4567e89b12d3a456426614174000'],
    specificity: 95,
  }),
  def({
    name: 'semver',
    label: 'Semantic version',
    category: 'identifier',
    rule: 'semver.format',
    description: 'A Semantic Versioning 2.0 version (MAJOR.MINOR.PATCH with optional pre-release and build); a leading "v" is dropped.',
    pattern:
      '^(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)\\.(?:0|[1-9][0-9]*)(?:-(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$',
    normalize: (v) => v.replace(/^[vV](?=[0-9])/, ''),
    sqlNormalizer: `regexp_replace(${TRIM}, '^[vV]([0-9])', '\\1')`,
    valid: ['1.2.3', ['v2.0.0-rc.1', '2.0.0-rc.1'], '1.0.0+build.5'],
    invalid: ['1.2', '01.2.3', '1.2.3-', 'version 1'],
    specificity: 80,
  }),
  def({
    name: 'sku',
    label: 'SKU / product code',
    category: 'identifier',
    rule: 'sku.format',
    description: 'A stock-keeping-unit-like code: upper-case letters and digits (both present) in 2–5 dash-separated groups, 4–32 characters.',
    pattern: '^(?=[A-Z0-9-]{4,32}$)(?=[A-Z0-9-]*[0-9])(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+){1,4}$',
    normalize: upper,
    sqlNormalizer: `upper(${TRIM})`,
    valid: ['ABC-12345', ['tsh-blu-xl-01', 'TSH-BLU-XL-01'], 'SKU-2024-0001'],
    invalid: ['ABC12345', 'ABC-DEF', '123-456', 'A-1-2-3-4-5-6'],
    specificity: 55,
  }),
  def({
    name: 'national_id_us_ssn',
    label: 'US Social Security number (masked)',
    category: 'identifier',
    rule: 'ssn.format',
    sensitive: true,
    converts: true,
    description:
      'Detection of US SSN-like national ids (area not 000/666/9xx, group not 00, serial not 0000). Normalization keeps only the last four digits: "***-**-1234".',
    pattern: '^[*]{3}-[*]{2}-[0-9]{4}$',
    normalize: (v) => {
      const r = /^(?!000|666|9[0-9]{2})([0-9]{3})-?(?!00)([0-9]{2})-?(?!0000)([0-9]{4})$/.exec(v);
      return r ? `***-**-${r[3]}` : null;
    },
    sqlNormalizer: withV(
      TRIM,
      `CASE WHEN v ~ '^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$' AND substr(v, 1, 3) NOT IN ('000', '666') AND substr(v, 1, 1) <> '9' AND substr(regexp_replace(v, '-', '', 'g'), 4, 2) <> '00' AND right(v, 4) <> '0000' THEN '***-**-' || right(v, 4) END`,
    ),
    valid: [['123-45-6789', '***-**-6789'], ['219099999', '***-**-9999'], '***-**-1234'],
    invalid: ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-4567', '123-45-0000', '12-345-6789'],
    specificity: 70,
  }),
  // ── geo ──
  def({
    name: 'iso_country',
    label: 'Country (ISO 3166-1 alpha-2)',
    category: 'geo',
    rule: 'country.iso3166',
    description:
      'A two-letter ISO 3166-1 alpha-2 country code, upper case. Alpha-3 codes, English names and common aliases ("Deutschland", "USA", "UK") are normalized to it.',
    pattern: oneOf(COUNTRY_ALPHA2),
    normalize: (v) => (COUNTRY_CODES.has(upper(v)) ? upper(v) : has(COUNTRY_LOOKUP, lower(v))),
    sqlNormalizer: withV(TRIM, `CASE WHEN upper(v) ~ ${lit(oneOf(COUNTRY_ALPHA2))} THEN upper(v) ELSE ${jsonLookup(COUNTRY_LOOKUP, 'lower(v)')} END`),
    valid: ['DE', ['us', 'US'], ['Germany', 'DE'], ['FRA', 'FR'], ['United Kingdom', 'GB'], ['usa', 'US']],
    invalid: ['XX', 'Atlantis', 'DEUX', ''],
    specificity: 70,
  }),
  def({
    name: 'iso_country_alpha3',
    label: 'Country (ISO 3166-1 alpha-3)',
    category: 'geo',
    rule: 'country.iso3166_alpha3',
    description: 'A three-letter ISO 3166-1 alpha-3 country code, upper case.',
    pattern: oneOf(COUNTRY_ALPHA3),
    normalize: upper,
    sqlNormalizer: `upper(${TRIM})`,
    valid: ['DEU', ['usa', 'USA'], 'JPN'],
    invalid: ['DE', 'XXX', 'GER'],
    specificity: 75,
  }),
  def({
    name: 'country_name',
    label: 'Country name',
    category: 'geo',
    parent: 'iso_country',
    rule: 'country.name',
    converts: true,
    description: 'A country written as its English name or a common alias, normalized to its ISO 3166-1 alpha-2 code.',
    pattern: oneOf(COUNTRY_ALPHA2),
    // Codes are not names (iso_country and iso_country_alpha3 take them), except aliases people write as words.
    normalize: (v) =>
      /^[A-Za-z]{2,3}$/.test(v) && (COUNTRY_CODES.has(upper(v)) || has(ALPHA3_TO_ALPHA2, upper(v)) !== null) && !CODE_LIKE_ALIASES.includes(lower(v))
        ? null
        : has(COUNTRY_LOOKUP, lower(v)),
    sqlNormalizer: withV(
      TRIM,
      `CASE WHEN v ~ '^[A-Za-z]{2,3}$' AND upper(v) = ANY(${lit(`{${[...COUNTRY_ALPHA2, ...COUNTRY_ALPHA3].join(',')}}`)}::text[]) AND lower(v) NOT IN (${CODE_LIKE_ALIASES.map(lit).join(', ')}) THEN NULL ELSE ${jsonLookup(COUNTRY_LOOKUP, 'lower(v)')} END`,
    ),
    valid: [
      ['Germany', 'DE'],
      ['france', 'FR'],
      ['Deutschland', 'DE'],
      ['United States', 'US'],
    ],
    invalid: ['XX', 'Atlantis', 'FRA'],
    specificity: 72,
  }),
  def({
    name: 'us_state',
    label: 'US state',
    category: 'geo',
    rule: 'region.us_state',
    description: 'A US state, DC or territory as its two-letter USPS code; names are normalized to the code.',
    pattern: '^(?:' + [...new Set(Object.values(US_STATE_LOOKUP))].join('|') + ')$',
    normalize: (v) => has(US_STATE_LOOKUP, lower(v)),
    sqlNormalizer: jsonLookup(US_STATE_LOOKUP, `lower(${TRIM})`),
    valid: ['CA', ['ny', 'NY'], ['New York', 'NY'], ['district of columbia', 'DC']],
    invalid: ['ZZ', 'Bavaria', 'N.Y'],
    specificity: 65,
  }),
  def({
    name: 'ca_province',
    label: 'Canadian province or territory',
    category: 'geo',
    rule: 'region.ca_province',
    description: 'A Canadian province or territory as its two-letter Canada Post code; names are normalized to the code.',
    pattern: '^(?:AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT)$',
    normalize: (v) => has(CA_PROVINCE_LOOKUP, lower(v)),
    sqlNormalizer: jsonLookup(CA_PROVINCE_LOOKUP, `lower(${TRIM})`),
    valid: ['ON', ['qc', 'QC'], ['British Columbia', 'BC']],
    invalid: ['XX', 'Texas', 'Ontario Province'],
    specificity: 66,
  }),
  def({
    name: 'postal_code',
    label: 'Postal code',
    category: 'geo',
    rule: 'postal_code.format',
    description:
      'A postal code in a common national format (3–6 digits, US ZIP+4, UK, Canada, Netherlands, Japan, Poland, Portugal, Brazil), upper case with single spaces. Refine it per country with a custom type.',
    pattern:
      '^(?:[0-9]{3,6}|[0-9]{5}-[0-9]{4}|[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}|[A-Z][0-9][A-Z] [0-9][A-Z][0-9]' +
      '|[0-9]{4} [A-Z]{2}|[0-9]{3}-[0-9]{4}|[0-9]{2}-[0-9]{3}|[0-9]{4}-[0-9]{3}|[0-9]{5}-?[0-9]{3})$',
    normalize: (v) => upper(collapse(v)),
    sqlNormalizer: `upper(${COLLAPSE_SQL})`,
    valid: ['10115', '94105-1234', ['sw1a 1aa', 'SW1A 1AA'], 'K1A 0B1', '1012 AB', '100-0001'],
    invalid: ['ABCDE', '12', '1234567', '12 34'],
    specificity: 40,
  }),
  def({
    name: 'us_zip',
    label: 'US ZIP code',
    category: 'geo',
    parent: 'postal_code',
    rule: 'postal_code.us_zip',
    description: 'A US ZIP or ZIP+4 code; nine digits without the dash get one.',
    pattern: '^[0-9]{5}(?:-[0-9]{4})?$',
    normalize: (v) => v.replace(/^([0-9]{5})([0-9]{4})$/, '$1-$2'),
    sqlNormalizer: `regexp_replace(${TRIM}, '^([0-9]{5})([0-9]{4})$', '\\1-\\2')`,
    valid: ['94105', '94105-1234', ['941051234', '94105-1234']],
    invalid: ['9410', '94105-12', 'ABCDE'],
    specificity: 45,
  }),
  def({
    name: 'uk_postcode',
    label: 'UK postcode',
    category: 'geo',
    parent: 'postal_code',
    rule: 'postal_code.uk',
    description: 'A UK postcode, upper case with one space before the inward code.',
    pattern: '^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$',
    normalize: (v) => upper(v.replace(/ /g, '')).replace(/^(.+)([0-9][A-Z]{2})$/, '$1 $2'),
    sqlNormalizer: `regexp_replace(upper(replace(${TRIM}, ' ', '')), '^(.+)([0-9][A-Z]{2})$', '\\1 \\2')`,
    valid: ['SW1A 1AA', ['ec1a1bb', 'EC1A 1BB'], ['M1  1AE', 'M1 1AE']],
    invalid: ['SW1A', '12345', 'SW1A 1A1'],
    specificity: 55,
  }),
  def({
    name: 'de_postal_code',
    label: 'German postal code (PLZ)',
    category: 'geo',
    parent: 'postal_code',
    rule: 'postal_code.de',
    description: 'A German Postleitzahl: five digits, 01001–99998.',
    pattern: '^(?:0[1-9]|[1-9][0-9])[0-9]{3}$',
    normalize: (v) => v,
    sqlNormalizer: TRIM,
    valid: ['10115', '01067', '80331'],
    invalid: ['00123', '1011', '101150'],
    specificity: 44,
  }),
  def({
    name: 'fr_postal_code',
    label: 'French postal code',
    category: 'geo',
    parent: 'postal_code',
    rule: 'postal_code.fr',
    description: 'A French code postal: five digits, departments 01–98.',
    pattern: '^(?:0[1-9]|[1-8][0-9]|9[0-8])[0-9]{3}$',
    normalize: (v) => v,
    sqlNormalizer: TRIM,
    valid: ['75001', '13008', '97400'],
    invalid: ['99000', '00100', '7500'],
    specificity: 43,
  }),
  def({
    name: 'ca_postal_code',
    label: 'Canadian postal code',
    category: 'geo',
    parent: 'postal_code',
    rule: 'postal_code.ca',
    description: 'A Canadian postal code "A1A 1A1", upper case with one space.',
    pattern: '^[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9]$',
    normalize: (v) => upper(v.replace(/ /g, '')).replace(/^(.{3})(.{3})$/, '$1 $2'),
    sqlNormalizer: `regexp_replace(upper(replace(${TRIM}, ' ', '')), '^(.{3})(.{3})$', '\\1 \\2')`,
    valid: ['K1A 0B1', ['m5v3l9', 'M5V 3L9']],
    invalid: ['K1A0B', 'D1A 0B1', '12345'],
    specificity: 56,
  }),
  def({
    name: 'latitude',
    label: 'Latitude',
    category: 'geo',
    rule: 'latitude.range',
    description: 'A latitude in decimal degrees, from -90 to 90 (a leading "+" is dropped).',
    pattern: '^-?(?:90(?:\\.0+)?|[1-8]?[0-9](?:\\.[0-9]+)?)$',
    normalize: (v) => v.replace(/^\+/, ''),
    sqlNormalizer: `regexp_replace(${TRIM}, '^[+]', '')`,
    valid: ['52.520008', '-33.8688', '90', ['+0.0', '0.0']],
    invalid: ['90.5', '-91', '180', '1e5'],
    specificity: 30,
  }),
  def({
    name: 'longitude',
    label: 'Longitude',
    category: 'geo',
    rule: 'longitude.range',
    description: 'A longitude in decimal degrees, from -180 to 180 (a leading "+" is dropped).',
    pattern: '^-?(?:180(?:\\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\\.[0-9]+)?)$',
    normalize: (v) => v.replace(/^\+/, ''),
    sqlNormalizer: `regexp_replace(${TRIM}, '^[+]', '')`,
    valid: ['13.404954', '-122.4194', '180', ['+151.2093', '151.2093']],
    invalid: ['180.1', '-181', '200', 'E13'],
    specificity: 29,
  }),
  def({
    name: 'coordinates',
    label: 'Coordinates (lat,lon)',
    category: 'geo',
    rule: 'coordinates.format',
    description: 'A latitude/longitude pair in decimal degrees, written "lat,lon" (separated by a comma and/or spaces).',
    pattern: '^-?(?:90(?:\\.0+)?|[1-8]?[0-9](?:\\.[0-9]+)?),-?(?:180(?:\\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\\.[0-9]+)?)$',
    normalize: (v) =>
      v
        .replace(/^\(|\)$/g, '')
        .replace(/^([+-]?[0-9.]+)(?: *, *| +)([+-]?[0-9.]+)$/, '$1,$2')
        .replace(/(^|,)\+/g, '$1'),
    sqlNormalizer: `regexp_replace(regexp_replace(regexp_replace(${TRIM}, '^[(]|[)]$', '', 'g'), '^([+-]?[0-9.]+)(?: *, *| +)([+-]?[0-9.]+)$', '\\1,\\2'), '(^|,)[+]', '\\1', 'g')`,
    valid: ['52.52,13.405', ['52.52, 13.405', '52.52,13.405'], ['(-33.8688 151.2093)', '-33.8688,151.2093']],
    invalid: ['52.52', '91,13', '52.52;13.405'],
    specificity: 80,
  }),
  // ── finance ──
  def({
    name: 'iso_currency',
    label: 'Currency (ISO 4217)',
    category: 'finance',
    rule: 'currency.iso4217',
    description: 'A three-letter ISO 4217 currency code, upper case, including recently withdrawn codes that historical data still carries.',
    pattern: oneOf(CURRENCIES),
    normalize: upper,
    sqlNormalizer: `upper(${TRIM})`,
    valid: ['EUR', ['usd', 'USD'], 'JPY', 'CHF'],
    invalid: ['ABC', 'EURO', 'DEM', '€'],
    specificity: 76,
  }),
  def({
    name: 'money_amount',
    label: 'Money amount',
    category: 'finance',
    rule: 'money.format',
    description:
      'An amount of money: currency symbols or ISO codes around it and thousand separators ("1,234.50", "1.234,50", "1 234") are dropped; the result is a plain decimal with "." as separator.',
    pattern: '^-?[0-9]+(?:\\.[0-9]+)?$',
    normalize: moneyJs,
    sqlNormalizer: moneySql,
    valid: ['1234.50', ['$1,234.50', '1234.50'], ['1.234,50 €', '1234.50'], ['EUR 99', '99'], ['-£5.00', '-5.00'], ['12,5', '12.5']],
    invalid: ['abc', '$', '1,23,4.5', '12.34.56,7,8'],
    specificity: 35,
  }),
  def({
    name: 'iban',
    label: 'IBAN',
    category: 'finance',
    rule: 'iban.checksum',
    sensitive: true,
    description: 'An International Bank Account Number in electronic form (no spaces, upper case) whose mod-97 checksum holds.',
    pattern: '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$',
    normalize: (v) => {
      const s = upper(v.replace(/ /g, ''));
      return /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(s) && ibanOk(s) ? s : null;
    },
    sqlNormalizer: withV(`upper(replace(${TRIM}, ' ', ''))`, `CASE WHEN v ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$' THEN CASE WHEN ${ibanSql('v')} THEN v END END`),
    valid: ['DE89370400440532013000', ['GB29 NWBK 6016 1331 9268 19', 'GB29NWBK60161331926819'], ['nl91abna0417164300', 'NL91ABNA0417164300']],
    invalid: ['DE89370400440532013001', 'DE8937040044', 'D189370400440532013000'],
    specificity: 92,
  }),
  def({
    name: 'credit_card',
    label: 'Payment card number',
    category: 'finance',
    rule: 'card.luhn',
    sensitive: true,
    description:
      'A payment card number (13–19 digits, spaces or dashes dropped) whose Luhn checksum holds. Sensitive: never logged; quarantined values are masked.',
    pattern: '^[0-9]{13,19}$',
    normalize: (v) => {
      const s = v.replace(/[ -]/g, '');
      return /^[0-9]{13,19}$/.test(s) && luhn(s) ? s : null;
    },
    sqlNormalizer: withV(`regexp_replace(${TRIM}, '[ -]', '', 'g')`, `CASE WHEN v ~ '^[0-9]{13,19}$' THEN CASE WHEN ${luhnSql('v')} THEN v END END`),
    valid: ['4111111111111111', ['5500 0000 0000 0004', '5500000000000004'], ['3400-000000-00009', '340000000000009']],
    invalid: ['4111111111111112', '1234', '4111-1111-1111-111a'],
    specificity: 88,
  }),
  // ── temporal ──
  def({
    name: 'date',
    label: 'Date (ISO 8601)',
    category: 'temporal',
    rule: 'date.format',
    description: 'A calendar date, normalized to YYYY-MM-DD; "YYYY/MM/DD", "YYYY.MM.DD" and "YYYYMMDD" are accepted. The day must exist (leap years included).',
    pattern: `^${ISO_DATE}$`,
    ...dateType([
      { re: '^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$', y: 1, m: 2, d: 3 },
      { re: '^([0-9]{4})([0-9]{2})([0-9]{2})$', y: 1, m: 2, d: 3 },
    ]),
    valid: ['2024-02-29', ['1999/12/31', '1999-12-31'], ['20250630', '2025-06-30'], ['2024.1.5', '2024-01-05']],
    invalid: ['2023-02-29', '2024-04-31', '2024-13-01', '24-01-01', '31.12.1999'],
    specificity: 82,
  }),
  def({
    name: 'us_date',
    label: 'Date (US, M/D/Y)',
    category: 'temporal',
    parent: 'date',
    rule: 'date.us',
    converts: true,
    description: 'A date written month/day/year ("12/31/1999", "1-5-2024"), normalized to YYYY-MM-DD.',
    pattern: `^${ISO_DATE}$`,
    ...dateType([{ re: '^([0-9]{1,2})[/-]([0-9]{1,2})[/-]([0-9]{4})$', y: 3, m: 1, d: 2 }]),
    valid: [
      ['12/31/1999', '1999-12-31'],
      ['2/29/2024', '2024-02-29'],
      ['1-5-2024', '2024-01-05'],
    ],
    invalid: ['31/12/1999', '2/29/2023', '1999/12/31'],
    specificity: 83,
  }),
  def({
    name: 'eu_date',
    label: 'Date (European, D.M.Y)',
    category: 'temporal',
    parent: 'date',
    rule: 'date.eu',
    converts: true,
    description: 'A date written day.month.year or day/month/year ("31.12.1999", "5/1/2024"), normalized to YYYY-MM-DD.',
    pattern: `^${ISO_DATE}$`,
    ...dateType([{ re: '^([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})$', y: 3, m: 2, d: 1 }]),
    valid: [
      ['31.12.1999', '1999-12-31'],
      ['29/02/2024', '2024-02-29'],
      ['5.1.2024', '2024-01-05'],
    ],
    invalid: ['12/31/1999', '29.02.2023', '1999.12.31'],
    specificity: 83,
  }),
  def({
    name: 'timestamp',
    label: 'Timestamp (ISO 8601)',
    category: 'temporal',
    rule: 'timestamp.format',
    description:
      'A date and time as ISO 8601 / RFC 3339 with "T" between them (a space is accepted), optional seconds and fraction, optional "Z" or ±hh[:mm] offset.',
    pattern: `^${ISO_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::(?:[0-5][0-9]|60)(?:\\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?$`,
    normalize: (v) => {
      const r = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}:.*)$/.exec(v);
      if (!r) return null;
      const d = ymd(Number(r[1]), Number(r[2]), Number(r[3]));
      return d && `${d}T${r[4]!.replace(/z$/, 'Z')}`;
    },
    sqlNormalizer: withV(
      `regexp_match(${TRIM}, '^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}:.*)$')`,
      `(${ymdSql('(v[1])::int', '(v[2])::int', '(v[3])::int')}) || 'T' || regexp_replace(v[4], 'z$', 'Z')`,
    ),
    valid: ['2024-05-01T12:30:00Z', ['2024-05-01 12:30:00.123456+02:00', '2024-05-01T12:30:00.123456+02:00'], '2024-05-01T08:00+0530'],
    invalid: ['2024-05-01', '2024-05-01T24:00:00Z', '2024-02-30T12:00Z', '2024-05-01T12:00:00+25:00'],
    specificity: 86,
  }),
  def({
    name: 'unix_epoch',
    label: 'Unix time (seconds)',
    category: 'temporal',
    rule: 'epoch.range',
    description: 'Seconds since 1970-01-01 UTC, 9–10 digits (1973–2286); 13-digit milliseconds are truncated to seconds.',
    pattern: '^[1-9][0-9]{8,9}$',
    normalize: (v) => (/^[1-9][0-9]{12}$/.test(v) ? v.slice(0, 10) : v),
    sqlNormalizer: `regexp_replace(${TRIM}, '^([1-9][0-9]{9})[0-9]{3}$', '\\1')`,
    valid: ['1714566600', ['1714566600123', '1714566600'], '946684800'],
    invalid: ['17145666', '-1714566600', '17145666001234', '1714566600.5'],
    specificity: 25,
  }),
  def({
    name: 'time_of_day',
    label: 'Time of day',
    category: 'temporal',
    rule: 'time.format',
    description: 'A wall-clock time normalized to HH:MM:SS (24-hour); "9:05", "21:05:30" and "9:05 pm" are accepted.',
    pattern: '^(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$',
    normalize: timeJs,
    sqlNormalizer: timeSql,
    valid: ['21:05:30', ['9:05', '09:05:00'], ['9:05 pm', '21:05:00'], ['12 AM', '00:00:00']],
    invalid: ['24:00', '9:60', '13 pm', 'noon'],
    specificity: 78,
  }),
  def({
    name: 'year',
    label: 'Year',
    category: 'temporal',
    rule: 'year.range',
    description: 'A four-digit calendar year, 1000–2999.',
    pattern: '^[12][0-9]{3}$',
    normalize: (v) => v,
    sqlNormalizer: TRIM,
    valid: ['2024', '1999', [' 1066 ', '1066']],
    invalid: ['999', '3000', '20245', 'MMXXIV'],
    specificity: 32,
  }),
  def({
    name: 'month',
    label: 'Month',
    category: 'temporal',
    rule: 'month.format',
    description: 'A month of the year normalized to "01"–"12"; numbers and English names or abbreviations are accepted.',
    pattern: '^(?:0[1-9]|1[0-2])$',
    normalize: (v) => has(MONTHS, lower(v)),
    sqlNormalizer: jsonLookup(MONTHS, `lower(${TRIM})`),
    valid: ['01', ['12', '12'], ['March', '03'], ['sep', '09'], ['7', '07']],
    invalid: ['13', '0', 'Smarch'],
    specificity: 31,
  }),
  def({
    name: 'timezone',
    label: 'Time zone (IANA)',
    category: 'temporal',
    rule: 'timezone.iana',
    description: 'An IANA time zone name in its canonical spelling ("Europe/Berlin"), matched case-insensitively.',
    pattern: '^(?:UTC|[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2})$',
    normalize: (v) => has(TIME_ZONE_LOOKUP, lower(v)),
    sqlNormalizer: jsonLookup(TIME_ZONE_LOOKUP, `lower(${TRIM})`),
    valid: ['Europe/Berlin', ['america/new_york', 'America/New_York'], 'UTC'],
    invalid: ['Europe/Atlantis', 'CEST', 'Berlin'],
    specificity: 90,
  }),
  // ── logical ──
  def({
    name: 'boolean',
    label: 'Boolean',
    category: 'logical',
    rule: 'boolean.format',
    description: 'A truth value normalized to "true"/"false"; true/false, t/f, yes/no, y/n, on/off and 1/0 are accepted in any letter case.',
    pattern: '^(?:true|false)$',
    normalize: (v) => has(BOOLEANS, lower(v)),
    sqlNormalizer: jsonLookup(BOOLEANS, `lower(${TRIM})`),
    valid: ['true', ['FALSE', 'false'], ['yes', 'true'], ['N', 'false'], ['1', 'true'], ['0', 'false']],
    invalid: ['maybe', '2', 'truth', ''],
    specificity: 60,
  }),
  // ── numeric ──
  def({
    name: 'percentage',
    label: 'Percentage',
    category: 'numeric',
    rule: 'percentage.format',
    description:
      'A number with a percent sign, normalized to a decimal with "." directly followed by the sign (a space before the sign and a decimal comma are accepted).',
    pattern: '^-?[0-9]+(?:\\.[0-9]+)?%$',
    normalize: (v) => {
      const r = /^([+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)) ?%$/.exec(v);
      const d = r ? canonicalDecimal(r[1]!.replace(',', '.')) : null;
      return d === null ? null : `${d}%`;
    },
    sqlNormalizer: withV(`regexp_match(${TRIM}, '^([+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)) ?%$')`, `${decimalSql(`replace(v[1], ',', '.')`)} || '%'`),
    valid: ['42%', ['12.5 %', '12.5%'], ['-3,75%', '-3.75%'], ['+.5%', '0.5%']],
    invalid: ['42', '%', '4 2%', '12.%'],
    specificity: 77,
  }),
  def({
    name: 'integer',
    label: 'Integer',
    category: 'numeric',
    rule: 'integer.format',
    description: 'A whole number (any size), normalized without "+", leading zeros or thousand separators ("1,234" → "1234").',
    pattern: '^-?(?:0|[1-9][0-9]*)$',
    normalize: (v) =>
      /^[+-]?[0-9]{1,3}(?:,[0-9]{3})+$/.test(v) ? canonicalDecimal(v.replace(/,/g, '')) : /^[+-]?[0-9]+$/.test(v) ? canonicalDecimal(v) : null,
    sqlNormalizer: withV(
      `regexp_replace(${TRIM}, '^([+-]?[0-9]{1,3}(?:,[0-9]{3})+)$', '\\1')`,
      `CASE WHEN v ~ '^[+-]?[0-9]{1,3}(?:,[0-9]{3})+$' THEN ${decimalSql(`replace(v, ',', '')`)} WHEN v ~ '^[+-]?[0-9]+$' THEN ${decimalSql('v')} END`,
    ),
    valid: ['42', ['+007', '7'], ['1,234,567', '1234567'], '-15', ['-0', '0']],
    invalid: ['4.2', '1,23', 'forty', ''],
    specificity: 20,
  }),
  def({
    name: 'positive_integer',
    label: 'Positive integer',
    category: 'numeric',
    parent: 'integer',
    rule: 'integer.positive',
    description: 'A whole number greater than zero, normalized like integer.',
    pattern: '^[1-9][0-9]*$',
    normalize: (v) => (/^[+]?[0-9]{1,3}(?:,[0-9]{3})+$/.test(v) ? canonicalDecimal(v.replace(/,/g, '')) : /^[+]?[0-9]+$/.test(v) ? canonicalDecimal(v) : null),
    sqlNormalizer: withV(
      TRIM,
      `CASE WHEN v ~ '^[+]?[0-9]{1,3}(?:,[0-9]{3})+$' THEN ${decimalSql(`replace(v, ',', '')`)} WHEN v ~ '^[+]?[0-9]+$' THEN ${decimalSql('v')} END`,
    ),
    valid: ['42', ['+007', '7'], ['1,000', '1000']],
    invalid: ['0', '-5', '3.5'],
    specificity: 21,
  }),
  def({
    name: 'decimal',
    label: 'Decimal number',
    category: 'numeric',
    rule: 'decimal.format',
    description: 'A decimal number with "." as separator, normalized without "+" or leading zeros (scale kept: "007.50" → "7.50").',
    pattern: '^-?[0-9]+(?:\\.[0-9]+)?$',
    normalize: canonicalDecimal,
    sqlNormalizer: decimalSql(TRIM),
    valid: ['3.14', ['007.50', '7.50'], ['.5', '0.5'], ['-2', '-2'], ['+1.0', '1.0']],
    invalid: ['1,5', '1e5', 'abc', '1.2.3'],
    specificity: 15,
  }),
  // ── person ──
  def({
    name: 'full_name',
    weak: true,
    label: 'Person name (full)',
    category: 'person',
    rule: 'name.full',
    description: 'A person’s full name: 2–5 words of letters (Latin scripts), apostrophes, dots or hyphens; runs of spaces become one.',
    pattern: `^${NAME_PART}(?: ${NAME_PART}){1,4}$`,
    normalize: collapse,
    sqlNormalizer: COLLAPSE_SQL,
    valid: ['Ada Lovelace', ["Sinéad  O'Connor", "Sinéad O'Connor"], 'Jean-Luc Picard'],
    invalid: ['Ada', 'R2 D2', 'ada@example.com', 'a b c d e f'],
    specificity: 10,
  }),
  def({
    name: 'first_name',
    weak: true,
    label: 'Person name (first)',
    category: 'person',
    parent: 'full_name',
    rule: 'name.first',
    description: 'A given name: one or two words of letters (Latin scripts), apostrophes or hyphens.',
    pattern: `^${NAME_PART}(?: ${NAME_PART})?$`,
    normalize: collapse,
    sqlNormalizer: COLLAPSE_SQL,
    valid: ['Ada', 'Jean-Luc', ['Mary  Ann', 'Mary Ann']],
    invalid: ['Ada 2', 'Ada Mary Ann Smith', '42'],
    specificity: 8,
  }),
  def({
    name: 'last_name',
    weak: true,
    label: 'Person name (last)',
    category: 'person',
    parent: 'full_name',
    rule: 'name.last',
    description: 'A family name: one to three words of letters (Latin scripts), apostrophes or hyphens ("van der Berg").',
    pattern: `^${NAME_PART}(?: ${NAME_PART}){0,2}$`,
    normalize: collapse,
    sqlNormalizer: COLLAPSE_SQL,
    valid: ['Lovelace', "O'Connor", 'van der Berg'],
    invalid: ['Smith3', 'a b c d', '-'],
    specificity: 7,
  }),
  def({
    name: 'gender',
    label: 'Gender code',
    category: 'person',
    rule: 'gender.code',
    description: 'A gender normalized to M, F, X (non-binary/diverse/other) or U (unknown); words and letters are accepted in any case.',
    pattern: '^[MFXU]$',
    normalize: (v) => has(GENDERS, lower(v)),
    sqlNormalizer: jsonLookup(GENDERS, `lower(${TRIM})`),
    valid: ['M', ['female', 'F'], ['Diverse', 'X'], ['unknown', 'U']],
    invalid: ['Q', 'yes', '1'],
    specificity: 62,
  }),
  // ── locale ──
  def({
    name: 'language_code',
    label: 'Language (ISO 639-1)',
    category: 'locale',
    rule: 'language.iso639_1',
    description: 'A two-letter ISO 639-1 language code, lower case.',
    pattern: oneOf(LANGUAGES),
    normalize: lower,
    sqlNormalizer: `lower(${TRIM})`,
    valid: ['en', ['DE', 'de'], 'ja'],
    invalid: ['xx', 'eng', 'e'],
    specificity: 64,
  }),
  def({
    name: 'locale',
    label: 'Locale (BCP 47)',
    category: 'locale',
    rule: 'locale.bcp47',
    description:
      'A language with an optional region, "ll" or "ll-RR" (ISO 639-1 + ISO 3166-1); any letter case and an underscore instead of the hyphen are accepted ("en-us" → "en-US").',
    pattern: '^[a-z]{2}(?:-[A-Z]{2})?$',
    normalize: (v) => {
      const r = /^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}))?$/.exec(v);
      if (!r || !LANGUAGE_SET.has(lower(r[1]!)) || (r[2] && !COUNTRY_CODES.has(upper(r[2])))) return null;
      return r[2] ? `${lower(r[1]!)}-${upper(r[2])}` : lower(r[1]!);
    },
    sqlNormalizer: withV(
      `regexp_match(${TRIM}, '^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}))?$')`,
      `CASE WHEN lower(v[1]) ~ ${lit(oneOf(LANGUAGES))} AND (v[2] IS NULL OR upper(v[2]) ~ ${lit(oneOf(COUNTRY_ALPHA2))}) THEN lower(v[1]) || coalesce('-' || upper(v[2]), '') END`,
    ),
    valid: ['en-US', ['de_de', 'de-DE'], 'fr'],
    invalid: ['en-XX', 'xx-US', 'english'],
    specificity: 68,
  }),
];

/** Built-ins by name. */
export const CANONICAL_TYPES: Readonly<Record<string, CanonicalTypeDef>> = Object.fromEntries(BUILT_IN_CANONICAL_TYPES.map((t) => [t.name, t]));

export const canonicalTypeByName = (name: string): CanonicalTypeDef | undefined =>
  Object.prototype.hasOwnProperty.call(CANONICAL_TYPES, name) ? CANONICAL_TYPES[name] : undefined;

/**
 * A custom (org-defined) type: the parent's validator and normalizer, plus an optional narrower
 * pattern the normalized value must also match (rule `<name>.pattern`).
 */
export function customCanonicalType(
  parent: CanonicalTypeDef,
  c: { name: string; label: string; pattern?: string | null; category?: string },
): CanonicalTypeDef {
  if (!c.pattern)
    return { ...parent, name: c.name, label: c.label, parent: parent.name, category: c.category ?? parent.category, specificity: parent.specificity + 1 };
  const re = new RegExp(c.pattern);
  const rule = `${c.name}.pattern`;
  return {
    ...parent,
    name: c.name,
    label: c.label,
    parent: parent.name,
    category: c.category ?? parent.category,
    pattern: c.pattern,
    detect: re,
    rule,
    specificity: parent.specificity + 1,
    validate: (value) => {
      const p = parent.validate(value);
      if (!p.ok) return p;
      return re.test(p.normalized) ? p : { ok: false, rule };
    },
    sqlNormalizer: withV(parent.sqlNormalizer, `CASE WHEN v ~ ${lit(c.pattern)} THEN v END`),
  };
}

/** A masked rendering of a sensitive value (the last four characters kept). */
export const maskValue = (v: string) => (v.length > 4 ? `${'*'.repeat(v.length - 4)}${v.slice(-4)}` : '****');
/** The same mask in SQL, over a text expression. */
export const maskSql = (expr: string) => `CASE WHEN length(${expr}) > 4 THEN repeat('*', length(${expr}) - 4) || right(${expr}, 4) ELSE '****' END`;

export { COL };
