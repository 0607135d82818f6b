import { defineUserErrors, type UserError } from '@datalinx/graphql-kit';

/**
 * Every code a schema mutation can return in its payload `errors`. The SDL lists the same values in
 * `enum SchemaErrorCode` (test/error-codes.test.ts keeps the two equal).
 */
export const SCHEMA_ERROR_CODES = [
  'COLUMN_NOT_FOUND',
  'CONNECTION_NOT_FOUND',
  'DESCRIPTION_INVALID',
  'DESCRIPTION_TOO_LONG',
  'EXAMPLES_INVALID',
  'EXAMPLE_INVALID',
  'FORBIDDEN',
  'LABEL_INVALID',
  'NAME_INVALID',
  'NAME_TAKEN',
  'PARENT_NOT_FOUND',
  'PATTERN_INVALID',
  'TABLE_NOT_FOUND',
] as const;
export type SchemaErrorCode = (typeof SCHEMA_ERROR_CODES)[number];
export type SchemaUserError = UserError<SchemaErrorCode>;

/** Builds a payload error; only a listed code compiles. */
export const userError = defineUserErrors(SCHEMA_ERROR_CODES);
