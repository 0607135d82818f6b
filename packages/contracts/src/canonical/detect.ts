import { BUILT_IN_CANONICAL_TYPES, type CanonicalTypeDef } from './types';
import { trimValue } from './sql';

/**
 * The canonical type of a column from sample values: the type whose validator accepts the
 * highest share of the non-empty values; ties go to the more specific type (children above
 * their parents, e.g. us_zip above postal_code). Null when no type accepts any value.
 * `types` defaults to the built-ins; pass custom types too to let them win.
 */
export function detectCanonicalType(
  values: readonly string[],
  types: readonly CanonicalTypeDef[] = BUILT_IN_CANONICAL_TYPES,
): { type: string; share: number } | null {
  const sample = values.filter((v) => typeof v === 'string' && trimValue(v) !== '');
  if (!sample.length) return null;
  const strong = pick(
    sample,
    types.filter((t) => !t.weak),
    types,
  );
  const best = strong && strong.hits * 2 >= sample.length ? strong : (pick(sample, types, types) ?? strong);
  return best ? { type: best.t.name, share: Math.round((best.hits / sample.length) * 10_000) / 10_000 } : null;
}

function pick(sample: string[], candidates: readonly CanonicalTypeDef[], all: readonly CanonicalTypeDef[]): { t: CanonicalTypeDef; hits: number } | null {
  let best: { t: CanonicalTypeDef; hits: number } | null = null;
  const types = all;
  for (const t of candidates) {
    let hits = 0;
    for (const v of sample) if (t.validate(v).ok && !(t.converts && t.detect.test(trimValue(v)))) hits++;
    if (!hits) continue;
    if (!best || hits > best.hits || (hits === best.hits && depth(t, types) * 1000 + t.specificity > depth(best.t, types) * 1000 + best.t.specificity))
      best = { t, hits };
  }
  return best;
}

/** Distance from the root of the parent chain (a child ranks above its parent on a tie). */
function depth(t: CanonicalTypeDef, types: readonly CanonicalTypeDef[]): number {
  let d = 0;
  let p = t.parent;
  while (p && d < 10) {
    d++;
    p = types.find((x) => x.name === p)?.parent;
  }
  return d;
}
