import type { EntityManager } from 'typeorm';
import type { Clock } from '@datalinx/common';
import type { LoginFailureDao } from '../daos/login-failure.dao';
import { userError, type UserError } from './user-error';

export interface AttemptLimits {
  /** Failed attempts per account (the e-mail typed) within the window before it is locked. */
  maxPerAccount: number;
  /** Failed attempts per client IP within the window before it is locked. */
  maxPerIp: number;
  windowSeconds: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = { maxPerAccount: 5, maxPerIp: 50, windowSeconds: 900 };

export const tooManyAttempts = (retryAfterSeconds: number): UserError =>
  userError('TOO_MANY_ATTEMPTS', null, `Too many failed sign-in attempts. Try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`);

/**
 * Brute-force limits (sliding window in PostgreSQL, so they hold across auth instances): per
 * account — keyed by the e-mail typed, so an unknown e-mail is limited exactly like a real one —
 * and per client IP (from the signed viewer assertion). A locked key is refused before any
 * password is verified; the lock lifts by itself when enough failures leave the window. Time is
 * the database's clock (every instance agrees), or the injected `clock` (tests move it instead of
 * waiting for a lock to lift).
 */
export class LoginThrottle {
  constructor(
    private readonly failures: LoginFailureDao,
    readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    private readonly clock: Clock | null = null,
  ) {}

  /** Seconds to wait (0 = go ahead): the longer of the account's and the IP's lock. */
  async retryAfter(email: string, clientIp: string | undefined, em?: EntityManager): Promise<number> {
    const { maxPerAccount, maxPerIp, windowSeconds } = this.limits;
    const now = this.clock?.now() ?? null;
    const account = await this.failures.retryAfterSeconds('ACCOUNT', email, maxPerAccount, windowSeconds, now, em);
    const ip = clientIp ? await this.failures.retryAfterSeconds('IP', clientIp, maxPerIp, windowSeconds, now, em) : 0;
    return Math.max(account, ip);
  }

  async fail(email: string, clientIp: string | undefined): Promise<void> {
    await this.failures.record(
      clientIp
        ? [
            ['ACCOUNT', email],
            ['IP', clientIp],
          ]
        : [['ACCOUNT', email]],
      this.limits.windowSeconds,
      this.clock?.now() ?? null,
    );
  }

  clear(email: string, em?: EntityManager): Promise<void> {
    return this.failures.clearAccount(email, em);
  }
}
