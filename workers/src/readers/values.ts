/**
 * Type inference for text values (CSV fields, JSON strings) and their conversion to row values.
 * A column's type is the narrowest one that fits every non-empty value seen:
 * integer ⊂ bigint ⊂ numeric, date ⊂ timestamptz, boolean alone; anything else is text.
 */
import type { ColumnType, Value } from './types';

const INT = /^[+-]?(0|[1-9]\d*)$/;
const NUM = /^[+-]?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TS = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const INT32_MAX = 2147483647n;
const INT64_MAX = 9223372036854775807n;

function validDate(y: string, m: string, d: string): boolean {
  const mm = Number(m);
  const dd = Number(d);
  if (mm < 1 || mm > 12 || dd < 1) return false;
  const days = new Date(Date.UTC(Number(y), mm, 0)).getUTCDate();
  return dd <= days;
}

/** The narrowest type of one non-empty text value. */
export function classify(v: string): ColumnType {
  if (INT.test(v)) {
    const n = BigInt(v);
    const abs = n < 0n ? -n : n;
    if (abs <= INT32_MAX) return 'integer';
    if (abs <= INT64_MAX) return 'bigint';
    return 'numeric';
  }
  if (NUM.test(v)) return 'numeric';
  const lower = v.toLowerCase();
  if (lower === 'true' || lower === 'false') return 'boolean';
  let m = DATE.exec(v);
  if (m) return validDate(m[1], m[2], m[3]) ? 'date' : 'text';
  m = TS.exec(v);
  if (m && validDate(m[1], m[2], m[3]) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6] ?? 0) < 60) return 'timestamptz';
  return 'text';
}

const NUMERIC_RANK: Partial<Record<ColumnType, number>> = { integer: 1, bigint: 2, numeric: 3 };

/** The narrowest type holding both (null = nothing seen yet). */
export function widen(a: ColumnType | null, b: ColumnType): ColumnType {
  if (a === null || a === b) return b;
  if (a === 'jsonb' || b === 'jsonb') return 'jsonb';
  const ra = NUMERIC_RANK[a];
  const rb = NUMERIC_RANK[b];
  if (ra && rb) return ra > rb ? a : b;
  if ((a === 'date' && b === 'timestamptz') || (a === 'timestamptz' && b === 'date')) return 'timestamptz';
  return 'text';
}

/** The type of a JSON value (objects and arrays are jsonb; strings are classified only as dates/timestamps). */
export function classifyJson(v: unknown): ColumnType | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'numeric';
    if (Math.abs(v) <= 2147483647) return 'integer';
    return Number.isSafeInteger(v) ? 'bigint' : 'numeric';
  }
  if (typeof v === 'string') {
    // A JSON string stays text even when it looks like a number ("007", "12"): the producer chose a string.
    const t = classify(v);
    return t === 'date' || t === 'timestamptz' ? t : 'text';
  }
  return 'jsonb';
}

export type Converted = { ok: true; value: Value } | { ok: false };
const NO: Converted = { ok: false };

function timestamp(v: string): string {
  const s = v.replace(' ', 'T');
  return /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(s) ? s : `${s}Z`;
}

/** A text value (CSV field) as a row value of `type`; empty → null. */
export function convertText(v: string, type: ColumnType): Converted {
  if (v === '') return { ok: true, value: null };
  switch (type) {
    case 'text':
      return { ok: true, value: v };
    case 'jsonb':
      try {
        return { ok: true, value: JSON.parse(v) as Value };
      } catch {
        return { ok: true, value: v };
      }
    default: {
      const t = classify(v);
      if (widen(t, type) !== type) return NO;
      if (type === 'integer') return { ok: true, value: Number(v) };
      if (type === 'boolean') return { ok: true, value: v.toLowerCase() === 'true' };
      if (type === 'timestamptz') return { ok: true, value: t === 'date' ? `${v}T00:00:00Z` : timestamp(v) };
      return { ok: true, value: v.startsWith('+') ? v.slice(1) : v };
    }
  }
}

/** A JSON value as a row value of `type`; null/undefined → null. */
export function convertJson(v: unknown, type: ColumnType): Converted {
  if (v === null || v === undefined) return { ok: true, value: null };
  if (type === 'jsonb') return { ok: true, value: v as Value };
  if (type === 'text') return { ok: true, value: typeof v === 'string' ? v : JSON.stringify(v) };
  // A string holding a value of the column's type ("42" for an integer) is that value.
  if (typeof v === 'string') return convertText(type === 'date' || type === 'timestamptz' ? v : v.trim(), type);
  const t = classifyJson(v);
  if (t === null || widen(t, type) !== type) return NO;
  if (typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') return { ok: true, value: type === 'integer' ? v : String(v) };
  return NO;
}
