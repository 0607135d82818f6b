import { randomUUID } from 'node:crypto';
import { ANONYMOUS } from '@datalinx/graphql-kit';
import { postGraphQL } from '../../test/support/http';
import { makeTestKeys } from '../../test/support/keys';
import { bearer, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { base32Decode, totp } from '../../services/auth/src/mfa/totp';
import { ManualClock } from '../../test/support/clock';

/**
 * Brute-force limits end to end: per account (the e-mail typed, known or not) and per client IP,
 * a sliding window in PostgreSQL, TOO_MANY_ATTEMPTS with retryAfterSeconds. The client IP reaches
 * the auth subgraph inside the signed viewer assertion; X-Forwarded-For counts only when the
 * gateway is told to trust a proxy.
 */
const LOGIN = `mutation($i: LoginInput!){ login(input: $i) { accessToken refreshToken user { id } mfaRequired challengeToken retryAfterSeconds errors { code field message } } }`;
type Answer = {
  accessToken: string | null;
  refreshToken: string | null;
  user: unknown;
  mfaRequired: boolean;
  challengeToken: string | null;
  retryAfterSeconds: number | null;
  errors: Array<{ code: string; field: string | null; message: string }>;
};

describe('brute-force limits behind a trusted proxy', () => {
  let s: IdentityStack;
  const WINDOW = 4;
  // The throttle's time: moved by the test, so a lock lifts without waiting for it.
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    s = await startIdentityStack({ attemptLimits: { maxPerAccount: 3, maxPerIp: 6, windowSeconds: WINDOW }, trustProxy: true, throttleClock: clock });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const attempt = async (email: string, password: string, ip: string, headers: Record<string, string> = {}) =>
    (await postGraphQL<{ login: Answer }>(s.gatewayUrl, LOGIN, { i: { email, password } }, { ...from(ip), ...headers })).body.data!.login;
  const ip = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`;

  it('locks an account after 3 failures, the right password included, with the same answer for an unknown e-mail; the lock lifts by itself', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const unknown = `nobody-${randomUUID()}@example.test`;
    const a = ip();
    const b = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    for (let i = 0; i < 3; i++) {
      expect((await attempt(u.input.email, 'Wrong-Password-1', a)).errors[0]!.code).toBe('INVALID_CREDENTIALS');
      expect((await attempt(unknown, 'Wrong-Password-1', b)).errors[0]!.code).toBe('INVALID_CREDENTIALS');
    }
    // Locked — even for the right password, and from another address (it is the account's lock).
    const locked = await attempt(u.input.email.toUpperCase(), u.input.password, ip());
    expect(locked).toMatchObject({ accessToken: null, refreshToken: null, user: null, errors: [{ code: 'TOO_MANY_ATTEMPTS', field: null }] });
    expect(locked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(WINDOW);
    expect(locked.errors[0]!.message).toContain(`${locked.retryAfterSeconds} second`);
    const lockedUnknown = await attempt(unknown, 'Whatever-1', ip());
    expect({ ...lockedUnknown, retryAfterSeconds: 0, errors: lockedUnknown.errors.map((e) => e.code) }).toEqual({
      ...locked,
      retryAfterSeconds: 0,
      errors: locked.errors.map((e) => e.code),
    });
    // Nothing typed is stored: only hashes.
    const rows = (await s.authDs.query(`SELECT key_hash FROM auth.login_failure`)) as Array<{ key_hash: string }>;
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(JSON.stringify(rows)).not.toContain('@');
    expect(JSON.stringify(rows)).not.toContain(a);

    // Not a moment too early: a millisecond before the lock lifts, still locked.
    clock.advance(locked.retryAfterSeconds! * 1000 - 1001);
    expect((await attempt(u.input.email, u.input.password, ip())).errors.map((e) => e.code)).toEqual(['TOO_MANY_ATTEMPTS']);
    clock.advance(1001 + 300);
    const ok = await attempt(u.input.email, u.input.password, ip());
    expect(ok.errors).toEqual([]);
    expect(ok.accessToken).toEqual(expect.any(String));
    // A full sign-in clears the account's failures.
    expect((await attempt(u.input.email, 'Wrong-Password-1', ip())).errors[0]!.code).toBe('INVALID_CREDENTIALS');
    expect((await attempt(u.input.email, u.input.password, ip())).accessToken).toEqual(expect.any(String));
  }, 20000);

  it('locks an address after 6 failures across accounts; the same account from another address still signs in', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const noisy = `192.0.2.${Math.floor(Math.random() * 250) + 1}`;
    for (let i = 0; i < 6; i++)
      expect((await attempt(`nobody-${randomUUID()}@example.test`, 'Wrong-Password-1', noisy)).errors[0]!.code).toBe('INVALID_CREDENTIALS');
    const refused = await attempt(u.input.email, u.input.password, noisy);
    expect(refused).toMatchObject({ accessToken: null, errors: [{ code: 'TOO_MANY_ATTEMPTS' }] });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((await attempt(u.input.email, u.input.password, ip())).accessToken).toEqual(expect.any(String));
  });

  it('counts wrong second-factor codes against the account, beyond a single challenge', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const e = await postGraphQL<{ enrollTotp: { enrollmentId: string; otpauthUri: string } }>(
      s.gatewayUrl,
      `mutation { enrollTotp { enrollmentId otpauthUri } }`,
      {},
      bearer(u.accessToken),
    );
    const secret = base32Decode(new URL(e.body.data!.enrollTotp.otpauthUri).searchParams.get('secret')!);
    await postGraphQL(
      s.gatewayUrl,
      `mutation($id: ID!, $c: String!){ confirmTotp(enrollmentId: $id, code: $c) { backupCodes } }`,
      { id: e.body.data!.enrollTotp.enrollmentId, c: totp(secret, Date.now()) },
      bearer(u.accessToken),
    );
    const COMPLETE = `mutation($c: String!, $code: String!){ completeMfaLogin(challengeToken: $c, code: $code) { accessToken retryAfterSeconds errors { code } } }`;
    const where = ip();
    const challenge = (await attempt(u.input.email, u.input.password, where)).challengeToken!;
    for (let i = 0; i < 3; i++) {
      const r = await postGraphQL<{ completeMfaLogin: { errors: Array<{ code: string }> } }>(
        s.gatewayUrl,
        COMPLETE,
        { c: challenge, code: 'wrong-backup-code' },
        from(where),
      );
      expect(r.body.data!.completeMfaLogin.errors[0]!.code).toBe('MFA_CODE_INVALID');
    }
    // The right code on the same challenge is now refused with the account's lock.
    const right = await postGraphQL<{ completeMfaLogin: { accessToken: unknown; retryAfterSeconds: number; errors: Array<{ code: string }> } }>(
      s.gatewayUrl,
      COMPLETE,
      { c: challenge, code: totp(secret, Date.now() + 30_000) },
      from(where),
    );
    expect(right.body.data!.completeMfaLogin).toMatchObject({ accessToken: null, errors: [{ code: 'TOO_MANY_ATTEMPTS' }] });
    expect((await attempt(u.input.email, u.input.password, ip())).errors[0]!.code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe('brute-force limits without a trusted proxy (the default)', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack({ attemptLimits: { maxPerAccount: 100, maxPerIp: 4, windowSeconds: 60 } });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  it('ignores X-Forwarded-For: spoofed addresses all count against the socket address', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    for (let i = 0; i < 4; i++) {
      const r = await postGraphQL<{ login: Answer }>(
        s.gatewayUrl,
        LOGIN,
        { i: { email: `x-${randomUUID()}@example.test`, password: 'Wrong-1' } },
        { 'x-forwarded-for': `10.9.8.${i + 1}` },
      );
      expect(r.body.data!.login.errors[0]!.code).toBe('INVALID_CREDENTIALS');
    }
    const r = await postGraphQL<{ login: Answer }>(
      s.gatewayUrl,
      LOGIN,
      { i: { email: u.input.email, password: u.input.password } },
      { 'x-forwarded-for': '10.9.8.77' },
    );
    expect(r.body.data!.login.errors[0]!.code).toBe('TOO_MANY_ATTEMPTS');
  });
});

describe("the viewer assertion's client IP", () => {
  it('is signed with the viewer and verified with it; a missing one stays absent', async () => {
    const keys = await makeTestKeys();
    expect(await keys.verifier.verify(await keys.signer.sign(ANONYMOUS, 'r1', { clientIp: '2001:db8::1' }))).toEqual({
      viewer: ANONYMOUS,
      requestId: 'r1',
      clientIp: '2001:db8::1',
    });
    expect(await keys.verifier.verify(await keys.signer.sign(ANONYMOUS, 'r2'))).toEqual({ viewer: ANONYMOUS, requestId: 'r2', clientIp: undefined });
  });
});
