import { checkPasswordPolicy } from '../src/managers/password-policy';
import { defaultOrgSettings, readOrgSettings } from '../src/managers/org-settings';
import { hashPassword, verifyPassword } from '../src/managers/passwords';
import { hashRefreshToken, newRefreshToken } from '../src/tokens/refresh-tokens';

describe('password policy', () => {
  const policy = defaultOrgSettings().passwordPolicy;

  it('defaults to 12 characters, upper, lower, digit, symbol and a history of 5', () => {
    expect(policy).toEqual({
      minLength: 12,
      requireUpper: true,
      requireLower: true,
      requireDigit: true,
      requireSymbol: true,
      historySize: 5,
      maxAgeDays: null,
    });
  });

  it.each([
    ['Ab1!', ['MIN_LENGTH']],
    ['lowercase-only-1', ['UPPERCASE']],
    ['UPPERCASE-ONLY-1', ['LOWERCASE']],
    ['No-Digits-Anywhere', ['DIGIT']],
    ['NoSymbolsHere123', ['SYMBOL']],
    ['', ['MIN_LENGTH', 'UPPERCASE', 'LOWERCASE', 'DIGIT', 'SYMBOL']],
    ['Correct-Horse-9-Battery', []],
    ['Ünïcödé-Pässwört-7', []],
  ])('%j breaks %j', (password, rules) => {
    expect(checkPasswordPolicy(password, policy).map((v) => v.rule)).toEqual(rules);
  });

  it('counts characters, not UTF-16 units, and follows a relaxed org policy', () => {
    expect(checkPasswordPolicy('😀😀😀😀😀😀Aa1!', policy).map((v) => v.rule)).toEqual(['MIN_LENGTH']);
    const relaxed = readOrgSettings({ passwordPolicy: { minLength: 8, requireSymbol: false } }).passwordPolicy;
    expect(checkPasswordPolicy('Abcdefg1', relaxed)).toEqual([]);
  });

  it('reads missing or invalid stored settings as the defaults', () => {
    expect(readOrgSettings({})).toEqual(defaultOrgSettings());
    expect(readOrgSettings({ passwordPolicy: { minLength: 'twelve' } })).toEqual(defaultOrgSettings());
    expect(readOrgSettings(null).sessionPolicy.absoluteLifetimeHours).toBe(720);
  });
});

describe('secrets at rest', () => {
  it('hashes passwords with argon2id and verifies them', async () => {
    const hash = await hashPassword('Correct-Horse-9-Battery');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'Correct-Horse-9-Battery')).toBe(true);
    expect(await verifyPassword(hash, 'correct-horse-9-battery')).toBe(false);
    expect(await verifyPassword('not-a-hash', 'x')).toBe(false);
  });

  it('makes refresh tokens of 32 random bytes and stores only their sha256', () => {
    const a = newRefreshToken();
    expect(a).toMatch(/^dlx_rt_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(7), 'base64url')).toHaveLength(32);
    expect(newRefreshToken()).not.toBe(a);
    expect(hashRefreshToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRefreshToken(a)).not.toContain(a.slice(7));
  });
});
