import { defineUserErrors, type UserError } from '@datalinx/graphql-kit';

/**
 * Every code a mapping mutation can return in its payload `errors`. The SDL lists the same values in
 * `enum MappingErrorCode` (test/error-codes.test.ts keeps the two equal).
 */
export const MAPPING_ERROR_CODES = ['NAME_INVALID', 'NAME_REQUIRED', 'NAME_TAKEN', 'NAME_TOO_LONG', 'TARGET_TABLE_INVALID', 'WORKSPACE_NOT_FOUND'] as const;
export type MappingErrorCode = (typeof MAPPING_ERROR_CODES)[number];
export type MappingUserError = UserError<MappingErrorCode>;

/** Builds a payload error; only a listed code compiles. */
export const userError = defineUserErrors(MAPPING_ERROR_CODES);
