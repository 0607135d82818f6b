import { detectCanonicalType, inDiscoveryScope, type ColumnProfile } from '@datalinx/contracts';

/** Longest text kept for a value in a profile (min, max, top values). */
export const PROFILE_VALUE_MAX = 200;
/** Distinct values tracked per column: past this, the estimate is a lower bound and top values come from the tracked ones. */
const DISTINCT_CAP = 20_000;

const clip = (v: string) => (v.length > PROFILE_VALUE_MAX ? v.slice(0, PROFILE_VALUE_MAX) : v);
const NUMERIC = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * One column's profile, fed value by value (as text; null for SQL NULL) from a bounded sample:
 * memory is bounded by the sample size and DISTINCT_CAP, values clipped to PROFILE_VALUE_MAX.
 */
export class ColumnProfiler {
  private sampled = 0;
  private nulls = 0;
  private readonly counts = new Map<string, number>();
  private capped = false;
  private allNumeric = true;
  private minText: string | null = null;
  private maxText: string | null = null;
  private minNum: { n: number; text: string } | null = null;
  private maxNum: { n: number; text: string } | null = null;
  /** Non-null values kept for type detection (every sampled one: the sample is bounded). */
  private readonly values: string[] = [];

  add(raw: string | null): void {
    this.sampled++;
    if (raw === null) {
      this.nulls++;
      return;
    }
    const v = clip(raw);
    this.values.push(v);
    const seen = this.counts.get(v);
    if (seen !== undefined) this.counts.set(v, seen + 1);
    else if (this.counts.size < DISTINCT_CAP) this.counts.set(v, 1);
    else this.capped = true;
    if (this.minText === null || v < this.minText) this.minText = v;
    if (this.maxText === null || v > this.maxText) this.maxText = v;
    if (this.allNumeric && NUMERIC.test(v.trim())) {
      const n = Number(v);
      if (!this.minNum || n < this.minNum.n) this.minNum = { n, text: v };
      if (!this.maxNum || n > this.maxNum.n) this.maxNum = { n, text: v };
    } else this.allNumeric = false;
  }

  result(): ColumnProfile {
    const numeric = this.allNumeric && this.minNum !== null;
    const top = [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, 5)
      .map(([value, count]) => ({ value, count }));
    // The shared detector (@datalinx/contracts): the canonical type whose validator accepts most sampled values.
    const detected = detectCanonicalType(this.values);
    return {
      sampled: this.sampled,
      nullCount: this.nulls,
      distinctEstimate: this.counts.size + (this.capped ? 1 : 0),
      min: numeric ? this.minNum!.text : this.minText,
      max: numeric ? this.maxNum!.text : this.maxText,
      topValues: top,
      canonicalType: detected?.type ?? null,
      canonicalShare: detected?.share ?? 0,
    };
  }
}

/** Profiles every column of a sample delivered row by row (each row: text values in column order). */
export class TableProfiler {
  private readonly columns: ColumnProfiler[];
  constructor(width: number) {
    this.columns = Array.from({ length: width }, () => new ColumnProfiler());
  }
  addRow(values: ReadonlyArray<string | null>): void {
    for (let i = 0; i < this.columns.length; i++) this.columns[i]!.add(values[i] ?? null);
  }
  results(): ColumnProfile[] {
    return this.columns.map((c) => c.result());
  }
}

/** `*` and `?` glob (everything else literal), case-sensitive, over the whole name. */
/** Whether a table is in the discovery scope (shared with the schema service, which carries the rest over). */
export const inScope = inDiscoveryScope;

/** Up to `n` names, each quoted and clipped, then "and N more". */
function someNames(names: readonly string[], n = 5): string {
  const shown = names.slice(0, n).map((x) => JSON.stringify(x.length > 80 ? `${x.slice(0, 80)}…` : x));
  return names.length > n ? `${shown.join(', ')} and ${names.length - n} more` : shown.join(', ');
}

/**
 * Why a non-empty scope that matched none of the tables the connection can read is an error,
 * naming the scope and a few readable tables (so a typo or a wrong case shows); null when there is
 * no scope or it matched something.
 */
export function scopeMatchesNothing(
  scope: { tables?: string[]; patterns?: string[] },
  readable: ReadonlyArray<{ schema: string; name: string }>,
  matched: number,
): string | null {
  const tables = scope.tables ?? [];
  const patterns = scope.patterns ?? [];
  if ((!tables.length && !patterns.length) || matched > 0) return null;
  const asked = [tables.length ? `tables ${someNames(tables)}` : '', patterns.length ? `patterns ${someNames(patterns)}` : ''].filter(Boolean).join(' and ');
  const can = readable.length
    ? `it can read ${readable.length === 1 ? '1 table' : `${readable.length} tables`}, e.g. ${someNames(readable.map((t) => `${t.schema}.${t.name}`))}`
    : "it can read no table at all (check the user's privileges and the connection's schema)";
  return (
    `The discovery scope (${asked}) matches none of the tables this connection can read: ${can}. ` +
    'Names are schema.table (or a bare table name, in any schema), matched case-sensitively; patterns use * and ?. ' +
    'Nothing was recorded: the latest snapshot stays as it was. Fix the scope, or discover without one.'
  );
}
