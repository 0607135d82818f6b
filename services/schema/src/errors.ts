import { defineUserErrors, type UserError } from '@datalinx/graphql-kit';

/**
 * Every code a schema mutation can return in its payload `errors`. The SDL lists the same values in
 * `enum SchemaErrorCode` (test/error-codes.test.ts keeps the two equal).
 */
export const SCHEMA_ERROR_CODES = [
  'CANONICAL_TYPE_NOT_FOUND',
  'COLUMNS_EMPTY',
  'COLUMN_NOT_FOUND',
  'CONNECTION_NOT_FOUND',
  'DATA_TYPE_INVALID',
  'DESCRIPTION_INVALID',
  'DESCRIPTION_TOO_LONG',
  'DOCUMENT_INVALID',
  'EXAMPLES_INVALID',
  'EXAMPLE_INVALID',
  'FILE_TOO_LARGE',
  'FORBIDDEN',
  'JSON_INVALID',
  'LABEL_INVALID',
  'LIMIT_EXCEEDED',
  'NAME_INVALID',
  'NAME_RESERVED',
  'NAME_TAKEN',
  'PARENT_NOT_FOUND',
  'PATTERN_INVALID',
  'PRIMARY_KEY_NULLABLE',
  'RELATIONSHIP_COLUMNS_MISMATCH',
  'RELATIONSHIP_NOT_FOUND',
  'TABLE_NOT_FOUND',
  'TEMPLATE_NOT_FOUND',
  'WORKSPACE_NOT_FOUND',
] as const;
export type SchemaErrorCode = (typeof SCHEMA_ERROR_CODES)[number];
export type SchemaUserError = UserError<SchemaErrorCode>;

/** Builds a payload error; only a listed code compiles. */
export const userError = defineUserErrors(SCHEMA_ERROR_CODES);
