import { defineUserErrors, type UserError } from '@datalinx/graphql-kit';

/**
 * Every code a mapping mutation can return in its payload `errors`. The SDL lists the same values in
 * `enum MappingErrorCode` (test/error-codes.test.ts keeps the two equal).
 */
export const MAPPING_ERROR_CODES = [
  'CTE_DUPLICATE',
  'FIELD_COLUMN_NOT_FOUND',
  'FORBIDDEN',
  'JOIN_INVALID',
  'JOIN_MISSING',
  'MAPPING_NOT_FOUND',
  'NAME_INVALID',
  'NAME_REQUIRED',
  'NAME_TAKEN',
  'NAME_TOO_LONG',
  'SOURCE_ALIAS_DUPLICATE',
  'SOURCE_NOT_FOUND',
  'SPEC_INVALID',
  'SUMMARY_TOO_LONG',
  'TARGET_TABLE_INVALID',
  'TARGET_TABLE_MAPPED',
  'TARGET_TABLE_NOT_FOUND',
  'VERSION_CONFLICT',
  'VERSION_NOT_FOUND',
  'WORKSPACE_NOT_FOUND',
] as const;
export type MappingErrorCode = (typeof MAPPING_ERROR_CODES)[number];
export type MappingUserError = UserError<MappingErrorCode>;

/** Builds a payload error; only a listed code compiles. */
export const userError = defineUserErrors(MAPPING_ERROR_CODES);
