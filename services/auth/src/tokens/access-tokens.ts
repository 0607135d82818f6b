import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, importPKCS8, type CryptoKey, type JWK } from 'jose';
import {
  ACCESS_TOKEN_AUDIENCE,
  ACCESS_TOKEN_ISSUER,
  ACCESS_TOKEN_MAX_TTL_S,
  type AccessTokenClaims,
  type ServiceAccountTokenClaims,
} from '@datalinx/contracts';

/**
 * Signs access tokens with the auth service's own Ed25519 key (EdDSA) and publishes the public
 * half as a JWKS. The key id is the key's RFC 7638 thumbprint, so a rotated key gets a new
 * `kid` without anyone having to name it.
 */
export class AccessTokenIssuer {
  private constructor(
    private readonly privateKey: CryptoKey | KeyObject,
    private readonly publicJwk: JWK,
    readonly kid: string,
    readonly ttlSeconds: number,
  ) {}

  static async fromPem(pkcs8Pem: string, ttlSeconds = ACCESS_TOKEN_MAX_TTL_S): Promise<AccessTokenIssuer> {
    if (ttlSeconds > ACCESS_TOKEN_MAX_TTL_S || ttlSeconds < 1) throw new Error(`access-token lifetime must be 1–${ACCESS_TOKEN_MAX_TTL_S} s`);
    const privateKey = await importPKCS8(pkcs8Pem, 'EdDSA', { extractable: false });
    const jwk = await exportJWK(createPublicKey(pkcs8Pem));
    const kid = await calculateJwkThumbprint(jwk);
    return new AccessTokenIssuer(privateKey, { ...jwk, kid, alg: 'EdDSA', use: 'sig' }, kid, ttlSeconds);
  }

  /** Signs the claims; the token expires after the TTL or at `notAfter`, whichever is first. */
  async sign(claims: AccessTokenClaims | ServiceAccountTokenClaims, notAfter?: Date): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.min(now + this.ttlSeconds, notAfter ? Math.floor(notAfter.getTime() / 1000) : Infinity);
    const { sub, ...rest } = claims;
    const token = await new SignJWT(rest)
      .setProtectedHeader({ alg: 'EdDSA', kid: this.kid, typ: 'at+jwt' })
      .setSubject(sub)
      .setIssuer(ACCESS_TOKEN_ISSUER)
      .setAudience(ACCESS_TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }
}
