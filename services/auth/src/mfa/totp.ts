import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HOTP (RFC 4226) and TOTP (RFC 6238) on node:crypto, plus the RFC 4648 base32 the authenticator
 * apps expect in the `otpauth://` URI. Defaults are what every app supports: SHA-1, 6 digits, 30 s.
 */
export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';

export interface TotpOptions {
  algorithm?: TotpAlgorithm;
  digits?: number;
  periodSeconds?: number;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Buffer {
  const clean = s.replace(/[\s=-]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = B32.indexOf(ch);
    if (idx < 0) throw new Error('not base32');
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 §5.3: HMAC over the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
export function hotp(secret: Buffer, counter: number | bigint, digits = 6, algorithm: TotpAlgorithm = 'sha1'): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The time step of a moment (RFC 6238: T = floor((unix time − T0) / X), T0 = 0). */
export const timeStep = (atMs: number, periodSeconds = 30): number => Math.floor(atMs / 1000 / periodSeconds);

export function totp(secret: Buffer, atMs: number, o: TotpOptions = {}): string {
  return hotp(secret, timeStep(atMs, o.periodSeconds), o.digits ?? 6, o.algorithm ?? 'sha1');
}

const sameCode = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Checks a code against the steps around `atMs` (± `window` steps for clock drift) and returns the
 * matching step, or null. Steps ≤ `notAfterStep` are refused: a code that was used once (or an
 * older one) cannot be replayed.
 */
export function verifyTotp(secret: Buffer, code: string, atMs: number, o: TotpOptions & { window?: number; notAfterStep?: number | null } = {}): number | null {
  const digits = o.digits ?? 6;
  if (!new RegExp(`^\\d{${digits}}$`).test(code)) return null;
  const now = timeStep(atMs, o.periodSeconds);
  const w = o.window ?? 1;
  let match: number | null = null;
  // Constant work: every candidate step is computed and compared.
  for (let step = now - w; step <= now + w; step++) {
    const ok = sameCode(hotp(secret, step, digits, o.algorithm ?? 'sha1'), code);
    if (ok && match === null && (o.notAfterStep == null || step > o.notAfterStep)) match = step;
  }
  return match;
}

/** A new 160-bit secret (RFC 4226 recommends the HMAC-SHA-1 output length). */
export const newTotpSecret = (): Buffer => randomBytes(20);

/** `otpauth://totp/<issuer>:<account>?secret=…` (the Key Uri Format every authenticator app reads). */
export function otpauthUri(secret: Buffer, account: string, issuer = 'Datalinx'): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({ secret: base32Encode(secret), issuer, algorithm: 'SHA1', digits: '6', period: '30' });
  return `otpauth://totp/${label}?${params.toString()}`;
}

/** Backup codes: 80 random bits each, shown as `xxxx-xxxx-xxxx-xxxx` (base32, lowercase). */
export const BACKUP_CODE_COUNT = 10;
export function newBackupCode(): string {
  const s = base32Encode(randomBytes(10)).toLowerCase();
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}`;
}
/** Dashes, spaces and case do not matter when a backup code is typed back. */
export const normalizeBackupCode = (code: string): string => code.replace(/[\s-]/g, '').toLowerCase();
/** 80-bit random codes need no slow hash: sha256 makes the stored value useless to a reader. */
export const hashBackupCode = (code: string): string => createHash('sha256').update(normalizeBackupCode(code), 'utf8').digest('hex');
