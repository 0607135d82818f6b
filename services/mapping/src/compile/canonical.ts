import { canonicalTypeByName, customCanonicalType, type CanonicalTypeDef } from '@datalinx/contracts';
import type { CustomCanonicalTypeRef } from '../daos/catalog.dao';

/** Finds a canonical type by name: a built-in, or one of the organization's own. */
export type CanonicalResolver = (name: string) => CanonicalTypeDef | undefined;

/**
 * The resolver of an organization's canonical types: built-ins first, then its own types, each
 * its built-in's normalizer narrowed by every pattern of its chain (root first), as the workers
 * canonicalize with. An own type whose built-in is unknown, or whose pattern does not compile,
 * resolves to nothing (its fields show ERROR).
 */
export function canonicalResolver(custom: ReadonlyMap<string, CustomCanonicalTypeRef>): CanonicalResolver {
  const memo = new Map<string, CanonicalTypeDef | undefined>();
  return (name) => {
    const builtIn = canonicalTypeByName(name);
    if (builtIn) return builtIn;
    if (memo.has(name)) return memo.get(name);
    const own = custom.get(name);
    let def: CanonicalTypeDef | undefined;
    const base = own && canonicalTypeByName(own.baseType);
    if (own && base) {
      try {
        def = own.patterns.length
          ? own.patterns.reduce((d, pattern) => customCanonicalType(d, { name: own.name, label: own.name, pattern }), base)
          : customCanonicalType(base, { name: own.name, label: own.name });
      } catch {
        def = undefined;
      }
    }
    memo.set(name, def);
    return def;
  };
}
