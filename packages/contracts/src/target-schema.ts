import { z } from 'zod';

/**
 * A workspace's target schema: the clean tables a data team wants, as one document. The schema
 * service owns it (versions, validation, `schema.json` import/export); the mapping service keeps a
 * replica from `schema.target_schema.changed.v1` and compiles mappings onto it.
 *
 * This zod contract is structural (shapes and sizes). The schema service's validator adds the
 * rules with per-field errors (identifier rules, reserved words, duplicates, unknown canonical
 * types, relationships to missing columns).
 */

/**
 * The PostgreSQL data types a target column may have. Parameterized forms: `varchar(n)` with
 * 1 ≤ n ≤ 10485760, `numeric(p,s)` with 1 ≤ p ≤ 1000 and 0 ≤ s ≤ p.
 */
export const TARGET_BASE_TYPES = [
  'text',
  'varchar',
  'smallint',
  'integer',
  'bigint',
  'numeric',
  'real',
  'double precision',
  'boolean',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
  'jsonb',
  'bytea',
] as const;
export type TargetBaseType = (typeof TARGET_BASE_TYPES)[number];

/** `text`, `varchar(255)`, `numeric(12,2)`, …: lower case, no spaces except in `double precision`. */
export const TARGET_DATA_TYPE_PATTERN =
  /^(text|varchar\([1-9][0-9]{0,7}\)|smallint|integer|bigint|numeric|numeric\([1-9][0-9]{0,3}(,[0-9]{1,4})?\)|real|double precision|boolean|date|time|timestamp|timestamptz|uuid|jsonb|bytea)$/;

/** The base type of a data type (`varchar(20)` → `varchar`), or undefined when it is not one. */
export function targetBaseType(dataType: string): TargetBaseType | undefined {
  if (!TARGET_DATA_TYPE_PATTERN.test(dataType)) return undefined;
  return dataType.replace(/\(.*$/, '') as TargetBaseType;
}

/** Limits of one target schema (documented in the schema service's README). */
export const TARGET_SCHEMA_LIMITS = {
  tables: 500,
  columnsPerTable: 1000,
  relationships: 2000,
  descriptionLength: 2000,
  /**
   * Bytes of a `schema.json` accepted by import, and of the compact JSON of any version (the
   * changed event carries the whole document and must stay under NATS's 1 MiB message limit).
   */
  fileBytes: 768 * 1024,
} as const;

export const targetColumn = z
  .object({
    name: z.string(),
    dataType: z.string(),
    nullable: z.boolean(),
    description: z.string().max(TARGET_SCHEMA_LIMITS.descriptionLength).default(''),
    /** A canonical type's name (built-in or the organization's own), or null. */
    canonicalType: z.string().nullable().default(null),
    /** Part of the table's primary key (in column order). */
    primaryKey: z.boolean().default(false),
  })
  .strict();
export type TargetColumn = z.infer<typeof targetColumn>;

export const targetTable = z
  .object({
    name: z.string(),
    description: z.string().max(TARGET_SCHEMA_LIMITS.descriptionLength).default(''),
    /** In order: the array order is the column order. */
    columns: z.array(targetColumn).max(TARGET_SCHEMA_LIMITS.columnsPerTable),
  })
  .strict();
export type TargetTable = z.infer<typeof targetTable>;

/** A foreign key between target tables: `fromColumns` of `fromTable` reference `toColumns` of `toTable` (same length, in order). */
export const targetRelationship = z
  .object({
    name: z.string(),
    fromTable: z.string(),
    fromColumns: z.array(z.string()).min(1).max(32),
    toTable: z.string(),
    toColumns: z.array(z.string()).min(1).max(32),
  })
  .strict();
export type TargetRelationship = z.infer<typeof targetRelationship>;

/** The whole target schema of a workspace: the body of `schema.json`. */
export const targetSchemaDocument = z
  .object({
    format: z.literal('datalinx.target-schema'),
    formatVersion: z.literal(1),
    tables: z.array(targetTable).max(TARGET_SCHEMA_LIMITS.tables),
    relationships: z.array(targetRelationship).max(TARGET_SCHEMA_LIMITS.relationships).default([]),
  })
  .strict();
export type TargetSchemaDocument = z.infer<typeof targetSchemaDocument>;

/**
 * `schema.target_schema.changed.v1` (EVENTS): a new version of a workspace's target schema, with
 * the whole document and the id of every table (by name), written in the transaction of the change.
 * An empty document (no tables) when the last table was removed.
 */
export const TARGET_SCHEMA_CHANGED_V1 = 'schema.target_schema.changed.v1';
export const targetSchemaChangedV1 = z
  .object({
    orgId: z.string().uuid(),
    workspaceId: z.string().uuid(),
    /** 1, 2, …: a consumer keeps the highest it has seen and ignores older ones. */
    version: z.number().int().min(1),
    document: targetSchemaDocument,
    /** Table name → TargetTable id. */
    tableIds: z.record(z.string(), z.string().uuid()),
    actor: z.object({ kind: z.enum(['user', 'service-account', 'system']), id: z.string().uuid().nullable() }),
  })
  .strict();
export type TargetSchemaChangedV1 = z.infer<typeof targetSchemaChangedV1>;
