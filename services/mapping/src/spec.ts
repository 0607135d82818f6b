import { z } from 'zod';

/**
 * A mapping's definition (the `spec` of `mapping.mapping` and of every `mapping_version`): how the
 * workspace's sources fill one target table. Structural only: which aliases, columns and CTEs
 * exist is checked against the workspace's catalog by the manager (see validate-spec.ts), and SQL
 * text (expressions, CTEs) is kept as typed even when it does not parse (its field shows ERROR).
 */

export const SPEC_LIMITS = { sources: 32, joins: 31, ctes: 16, fields: 1000, sqlLength: 20_000, decorators: 16, lookupEntries: 1000 } as const;

/** A lower-case SQL identifier (alias, CTE name). */
export const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const ident = z.string().regex(IDENT, 'a lower-case SQL identifier');
/** Text PostgreSQL can hold: no NUL character (quoting refuses it, and it marks staging models while SQL is assembled). */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'cannot contain a NUL character');
const sqlText = text(SPEC_LIMITS.sqlLength);

export const tableSource = z
  .object({ alias: ident, connectionId: z.string().uuid(), schema: z.string().min(1).max(255), table: z.string().min(1).max(511) })
  .strict();
export const cteSource = z.object({ alias: ident, cte: ident }).strict();
export const mappingSource = z.union([tableSource, cteSource]);
export type MappingSource = z.infer<typeof mappingSource>;
export type TableSource = z.infer<typeof tableSource>;

export const JOIN_TYPES = ['INNER', 'LEFT', 'RIGHT', 'FULL'] as const;
export const mappingJoin = z
  .object({
    /** The source joined (its alias); the FROM source is the first one and is never joined. */
    alias: ident,
    type: z.enum(JOIN_TYPES),
    /** Equalities, ANDed: `leftAlias.leftColumn = alias.rightColumn`; leftAlias is an earlier source. */
    on: z
      .array(z.object({ leftAlias: ident, leftColumn: z.string().min(1).max(255), rightColumn: z.string().min(1).max(255) }).strict())
      .min(1)
      .max(16),
  })
  .strict();
export type MappingJoin = z.infer<typeof mappingJoin>;

export const mappingCte = z.object({ name: ident, sql: sqlText }).strict();
export type MappingCte = z.infer<typeof mappingCte>;

export const DECORATOR_KINDS = ['CANONICALIZE', 'TRIM', 'LOWER', 'UPPER', 'SHA256', 'MASK', 'DEFAULT', 'LOOKUP'] as const;
export const decorator = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('CANONICALIZE') }).strict(),
  z.object({ kind: z.literal('TRIM') }).strict(),
  z.object({ kind: z.literal('LOWER') }).strict(),
  z.object({ kind: z.literal('UPPER') }).strict(),
  z.object({ kind: z.literal('SHA256') }).strict(),
  z.object({ kind: z.literal('MASK'), keepLast: z.number().int().min(0).max(64) }).strict(),
  z.object({ kind: z.literal('DEFAULT'), value: text(1000) }).strict(),
  z
    .object({
      kind: z.literal('LOOKUP'),
      map: z.array(z.object({ from: text(1000), to: text(1000) }).strict()).max(SPEC_LIMITS.lookupEntries),
      default: text(1000).nullable().default(null),
    })
    .strict(),
]);
export type Decorator = z.infer<typeof decorator>;

export const FIELD_KINDS = ['DIRECT', 'EXPRESSION', 'DECORATED', 'CONSTANT'] as const;
const columnRef = { source: ident, column: text(255).pipe(z.string().min(1)) };
export const fieldMapping = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('DIRECT'), ...columnRef }).strict(),
  z.object({ kind: z.literal('EXPRESSION'), expression: sqlText }).strict(),
  z.object({ kind: z.literal('DECORATED'), ...columnRef, decorators: z.array(decorator).min(1).max(SPEC_LIMITS.decorators) }).strict(),
  /** A literal: null, or its text (cast to the column's type in SQL). */
  z.object({ kind: z.literal('CONSTANT'), value: text(1000).nullable() }).strict(),
]);
export type FieldMapping = z.infer<typeof fieldMapping>;

export const mappingSpec = z
  .object({
    sources: z.array(mappingSource).max(SPEC_LIMITS.sources).default([]),
    joins: z.array(mappingJoin).max(SPEC_LIMITS.joins).default([]),
    ctes: z.array(mappingCte).max(SPEC_LIMITS.ctes).default([]),
    /** Target column name → its definition. */
    fields: z.record(z.string(), fieldMapping).default({}),
    /** Source aliases whose same-named columns fill the target columns no field defines. */
    wildcards: z.array(ident).max(SPEC_LIMITS.sources).default([]),
  })
  .strict();
export type MappingSpec = z.infer<typeof mappingSpec>;

export const EMPTY_SPEC: MappingSpec = { sources: [], joins: [], ctes: [], fields: {}, wildcards: [] };

/** The spec with its keys in a stable order (fields by target column order when given), so equal specs compare equal. */
export function canonicalSpec(spec: MappingSpec, columnOrder: readonly string[] = []): MappingSpec {
  const rank = new Map(columnOrder.map((c, i) => [c, i]));
  const keys = Object.keys(spec.fields).sort((a, b) => (rank.get(a) ?? 1e9) - (rank.get(b) ?? 1e9) || a.localeCompare(b));
  return {
    sources: spec.sources,
    joins: spec.joins,
    ctes: spec.ctes,
    fields: Object.fromEntries(keys.map((k) => [k, spec.fields[k]!])),
    wildcards: spec.wildcards,
  };
}

type Nullable<T> = { [K in keyof T]?: T[K] | null };
const strip = <T extends Record<string, unknown>>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

/** A field definition from the GraphQL input (kind + the properties of that kind; the others must be left out). */
export function fieldFromInput(
  f: Nullable<{ kind: string; source: string; column: string; expression: string; value: string; decorators: unknown[] }>,
): unknown {
  const base = strip({
    kind: f.kind,
    source: f.source,
    column: f.column,
    expression: f.expression,
    decorators: f.decorators?.map((d) => decoratorFromInput(d as Record<string, unknown>)),
  });
  // A CONSTANT keeps an explicit null value.
  return f.kind === 'CONSTANT' ? { ...base, value: f.value ?? null } : { ...base, ...strip({ value: f.value }) };
}

function decoratorFromInput(d: Record<string, unknown>): unknown {
  const out = strip(d);
  if (d.kind === 'LOOKUP') return { ...out, default: d.default ?? null };
  return out;
}

/** A spec from the GraphQL input of updateMapping (fields as a list of entries). */
export function specFromInput(i: {
  sources: Array<Record<string, unknown>>;
  joins: Array<Record<string, unknown>>;
  ctes: Array<Record<string, unknown>>;
  fields: Array<{ column: string; mapping: Parameters<typeof fieldFromInput>[0] }>;
  wildcards: string[];
}): unknown {
  return {
    sources: i.sources.map(strip),
    joins: i.joins,
    ctes: i.ctes,
    fields: Object.fromEntries(i.fields.map((e) => [e.column, fieldFromInput(e.mapping)])),
    wildcards: i.wildcards,
  };
}
