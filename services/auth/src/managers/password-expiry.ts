import { randomBytes } from 'node:crypto';

/** How long the step between an expired password and the sign-in stays open (time to pick a new password). */
export const PASSWORD_CHANGE_CHALLENGE_TTL_MS = 10 * 60_000;
export const PASSWORD_CHANGE_CHALLENGE_PREFIX = 'dlx_pwc_';
export const newPasswordChangeToken = (): string => `${PASSWORD_CHANGE_CHALLENGE_PREFIX}${randomBytes(32).toString('base64url')}`;

/**
 * Whether the org's `maxAgeDays` rule requires a new password before signing in. A password
 * whose change date is unknown (null: set outside the normal paths) counts as expired once the
 * rule is on — the safe reading.
 */
export function passwordExpired(passwordChangedAt: Date | null, maxAgeDays: number | null, now = Date.now()): boolean {
  if (maxAgeDays === null) return false;
  if (!passwordChangedAt) return true;
  return now - passwordChangedAt.getTime() > maxAgeDays * 86_400_000;
}
