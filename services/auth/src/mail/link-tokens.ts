import { createHash, randomBytes } from 'node:crypto';

/**
 * Single-use link tokens (invitations, password resets): a recognisable prefix + 32 random bytes
 * (base64url). Only their sha256 is stored: high-entropy tokens need no slow hash, and a reader
 * of the table cannot use what it finds.
 */
export const INVITATION_TOKEN_PREFIX = 'dlx_inv_';
export const PASSWORD_RESET_TOKEN_PREFIX = 'dlx_pwr_';

export const newLinkToken = (prefix: string): string => `${prefix}${randomBytes(32).toString('base64url')}`;

export const hashLinkToken = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Shape check before any database work: anything else is simply an invalid token. */
export const looksLikeLinkToken = (prefix: string, token: unknown): token is string =>
  typeof token === 'string' && token.length === prefix.length + 43 && token.startsWith(prefix) && /^[A-Za-z0-9_-]{43}$/.test(token.slice(prefix.length));
