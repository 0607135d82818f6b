import { createHash, randomBytes } from 'node:crypto';

/** Opaque refresh tokens: 32 random bytes, recognisable prefix; only their sha256 is stored. */
export const REFRESH_TOKEN_PREFIX = 'dlx_rt_';

export const newRefreshToken = (): string => `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;

/** High-entropy tokens need no slow hash: sha256 makes the stored value useless to a reader. */
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');
