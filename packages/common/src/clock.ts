/**
 * Where time-dependent code gets "now": injected, so tests move time instead of waiting for it.
 * Production passes nothing and gets the real clock (or, where instances must agree, the
 * database's: see each option's doc).
 */
export interface Clock {
  now(): Date;
}

/** The process's clock. */
export const systemClock: Clock = { now: () => new Date() };
