import type { PasswordPolicy } from './org-settings';

export type PasswordRule = 'MIN_LENGTH' | 'UPPERCASE' | 'LOWERCASE' | 'DIGIT' | 'SYMBOL' | 'HISTORY';

export interface PolicyViolation {
  rule: PasswordRule;
  message: string;
}

/**
 * Checks a candidate password against the org's policy and returns every rule it breaks, each
 * named, so the caller can tell the user exactly what to fix. The password itself never appears
 * in a message.
 */
export function checkPasswordPolicy(password: string, policy: PasswordPolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  if ([...password].length < policy.minLength) out.push({ rule: 'MIN_LENGTH', message: `The password must be at least ${policy.minLength} characters long.` });
  if (policy.requireUpper && !/\p{Lu}/u.test(password)) out.push({ rule: 'UPPERCASE', message: 'The password must contain an uppercase letter.' });
  if (policy.requireLower && !/\p{Ll}/u.test(password)) out.push({ rule: 'LOWERCASE', message: 'The password must contain a lowercase letter.' });
  if (policy.requireDigit && !/\p{Nd}/u.test(password)) out.push({ rule: 'DIGIT', message: 'The password must contain a digit.' });
  if (policy.requireSymbol && !/[^\p{L}\p{Nd}\s]/u.test(password))
    out.push({ rule: 'SYMBOL', message: 'The password must contain a symbol (e.g. ! ? # % -).' });
  return out;
}
