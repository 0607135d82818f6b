import { base32Decode, base32Encode, hashBackupCode, hotp, newBackupCode, otpauthUri, totp, verifyTotp } from '../src/mfa/totp';

/** The TOTP implementation against the RFCs' own test vectors. */
describe('HOTP / TOTP', () => {
  it('matches the RFC 4226 appendix D HOTP values', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, counter) => hotp(secret, counter))).toEqual(expected);
  });

  it.each([
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ])('matches the RFC 6238 appendix B values at T=%i', (seconds, sha1, sha256, sha512) => {
    const at = seconds * 1000;
    expect(totp(Buffer.from('12345678901234567890', 'ascii'), at, { digits: 8 })).toBe(sha1);
    expect(totp(Buffer.from('12345678901234567890123456789012', 'ascii'), at, { digits: 8, algorithm: 'sha256' })).toBe(sha256);
    expect(totp(Buffer.from('1234567890123456789012345678901234567890123456789012345678901234', 'ascii'), at, { digits: 8, algorithm: 'sha512' })).toBe(sha512);
  });

  it('round-trips RFC 4648 base32 (test vectors of §10)', () => {
    for (const [plain, b32] of [
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ] as const) {
      expect(base32Encode(Buffer.from(plain))).toBe(b32);
      expect(base32Decode(b32).toString()).toBe(plain);
    }
  });

  it('accepts the neighbouring steps only, and never a step at or before the last used one', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30000);
    expect(verifyTotp(secret, totp(secret, now), now)).toBe(step);
    expect(verifyTotp(secret, totp(secret, now - 30000), now)).toBe(step - 1);
    expect(verifyTotp(secret, totp(secret, now + 30000), now)).toBe(step + 1);
    expect(verifyTotp(secret, totp(secret, now - 60000), now)).toBeNull();
    expect(verifyTotp(secret, totp(secret, now + 60000), now)).toBeNull();
    expect(verifyTotp(secret, totp(secret, now), now, { notAfterStep: step })).toBeNull();
    expect(verifyTotp(secret, totp(secret, now + 30000), now, { notAfterStep: step })).toBe(step + 1);
    expect(verifyTotp(secret, '12345', now)).toBeNull();
    expect(verifyTotp(secret, 'abcdef', now)).toBeNull();
  });

  it('builds an otpauth URI an authenticator app reads, with the secret in base32', () => {
    const secret = Buffer.from('12345678901234567890', 'ascii');
    const uri = new URL(otpauthUri(secret, 'ada+x@example.test'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Datalinx:ada+x@example.test');
    expect(uri.searchParams.get('secret')).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    expect(uri.searchParams.get('issuer')).toBe('Datalinx');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
  });

  it('makes distinct backup codes whose hash ignores dashes, spaces and case', () => {
    const codes = Array.from({ length: 50 }, newBackupCode);
    expect(new Set(codes).size).toBe(50);
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(hashBackupCode(codes[0]!)).toBe(hashBackupCode(` ${codes[0]!.toUpperCase().replace(/-/g, ' ')} `));
    expect(hashBackupCode(codes[0]!)).not.toBe(hashBackupCode(codes[1]!));
  });
});
