import { defineUserErrors, type UserError } from '@datalinx/graphql-kit';

/**
 * Every code a monitoring mutation can return in its payload `errors`. The SDL lists the same
 * values in `enum MonitoringErrorCode` (test/error-codes.test.ts keeps the two equal).
 */
export const MONITORING_ERROR_CODES = ['CANCEL_UNAVAILABLE', 'FORBIDDEN', 'RUN_FINISHED', 'RUN_NOT_CANCELABLE', 'RUN_NOT_FOUND'] as const;
export type MonitoringErrorCode = (typeof MONITORING_ERROR_CODES)[number];
export type MonitoringUserError = UserError<MonitoringErrorCode>;

/** Builds a payload error; only a listed code compiles. */
export const userError = defineUserErrors(MONITORING_ERROR_CODES);
