import { decodeJwt } from 'jose';
import { gqlClient } from '../../test/support/http';
import { REFRESH, bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { base32Decode, totp } from '../../services/auth/src/mfa/totp';

/**
 * Passwords end to end, through the real gateway: changing one's password (re-authentication,
 * the org's policy with its history rule, other sessions signed out), the password policy in
 * updateSecurityPolicy, and expiry: a correct but too old password gives a PASSWORD_CHANGE
 * challenge and no tokens; only changeExpiredPassword with a new, acceptable password continues
 * the sign-in (to the second factor when there is one).
 */
describe('passwords through the gateway', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  type Err = { code: string; field: string | null; message: string };
  type SignIn = {
    accessToken: string | null;
    refreshToken: string | null;
    user: { id: string } | null;
    mfaRequired: boolean;
    mfaEnrollmentRequired: boolean;
    passwordChangeRequired: boolean;
    challengeToken: string | null;
    challengeExpiresAt: string | null;
    errors: Err[];
  };
  const gql = gqlClient(() => s.gatewayUrl);
  const SIGN_IN_FIELDS =
    'accessToken refreshToken user { id } mfaRequired mfaEnrollmentRequired passwordChangeRequired challengeToken challengeExpiresAt errors { code field message }';
  const CHANGE = `mutation($c: String!, $n: String!){ changePassword(currentPassword: $c, newPassword: $n) { ok errors { code field message } } }`;
  const EXPIRED = `mutation($t: String!, $n: String!){ changeExpiredPassword(challengeToken: $t, newPassword: $n) { ${SIGN_IN_FIELDS} } }`;
  const POLICY = `mutation($i: SecurityPolicyInput!){ updateSecurityPolicy(input: $i) { policy { passwordMinLength passwordRequireUppercase passwordRequireLowercase passwordRequireDigit passwordRequireSymbol passwordHistorySize passwordMaxAgeDays } errors { code field } } }`;

  const change = async (t: { accessToken: string }, current: string, next: string) =>
    (await gql<{ changePassword: { ok: boolean; errors: Err[] } }>(CHANGE, { c: current, n: next }, bearer(t.accessToken))).body.data!.changePassword;
  const signIn = async (email: string, password: string) =>
    (await gql<{ login: SignIn }>(`mutation($i: LoginInput!){ login(input: $i) { ${SIGN_IN_FIELDS} } }`, { i: { email, password } })).body.data!.login;
  const changeExpired = async (token: string, next: string) =>
    (await gql<{ changeExpiredPassword: SignIn }>(EXPIRED, { t: token, n: next })).body.data!.changeExpiredPassword;
  const setPolicy = async (t: { accessToken: string }, i: Record<string, unknown>) =>
    (
      await gql<{ updateSecurityPolicy: { policy: Record<string, unknown> | null; errors: Array<{ code: string; field: string }> } }>(
        POLICY,
        { i },
        bearer(t.accessToken),
      )
    ).body.data!.updateSecurityPolicy;
  const meKind = async (t: { accessToken: string }) => {
    const res = await gql<{ me: { kind: string } }>(`{ me { kind } }`, {}, bearer(t.accessToken));
    return res.body.data?.me.kind ?? (res.body.errors?.[0]?.extensions?.reason as string);
  };
  const until = async (check: () => Promise<unknown>, expected: unknown) => {
    const end = Date.now() + 3000;
    for (;;) {
      const got = await check();
      if (got === expected || Date.now() > end) return expect(got).toBe(expected);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const accountFailures = async () => (await s.authDs.query(`SELECT count(*)::int AS n FROM auth.login_failure WHERE scope = 'ACCOUNT'`))[0].n as number;
  const agePassword = (userId: string, days: number) =>
    s.authDs.query(`UPDATE auth."user" SET password_changed_at = now() - make_interval(days => $2) WHERE id = $1`, [userId, days]);
  const noTokens = { accessToken: null, refreshToken: null, user: null };

  it('changes the password: the current one is required (a wrong one counts as a failed attempt), the policy rule is named, other sessions end, this one stays', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const other = await login(s.gatewayUrl, a.input.email, a.input.password);
    const before = await accountFailures();

    expect(await change(a, 'Not-The-Password-1', 'Brand-New-Secret-42')).toEqual({
      ok: false,
      errors: [{ code: 'INVALID_PASSWORD', field: 'currentPassword', message: expect.any(String) }],
    });
    expect(await accountFailures()).toBe(before + 1);

    const weak = await change(a, a.input.password, 'short');
    expect(weak.ok).toBe(false);
    expect(weak.errors.every((e) => e.code === 'PASSWORD_TOO_WEAK' && e.field === 'newPassword')).toBe(true);
    expect(weak.errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/at least 12 characters/), expect.stringMatching(/uppercase/), expect.stringMatching(/digit/)]),
    );
    // The current password itself is the newest entry of the history.
    expect((await change(a, a.input.password, a.input.password)).errors).toEqual([
      expect.objectContaining({ code: 'PASSWORD_TOO_WEAK', message: expect.stringMatching(/last 5 passwords/) }),
    ]);
    const [{ changed: changedBefore }] = await s.authDs.query(`SELECT password_changed_at AS changed FROM auth."user" WHERE id = $1`, [a.userId]);

    expect(await change(a, a.input.password, 'Brand-New-Secret-42')).toEqual({ ok: true, errors: [] });
    await until(() => meKind(other), 'TOKEN_REVOKED');
    expect(await meKind(a)).toBe('USER');
    expect((await gql<{ refreshSession: { errors: Err[] } }>(REFRESH, { t: other.refreshToken })).body.data!.refreshSession.errors[0]!.code).toBe(
      'SESSION_REVOKED',
    );
    expect((await gql<{ refreshSession: { accessToken: string | null } }>(REFRESH, { t: a.refreshToken })).body.data!.refreshSession.accessToken).toBeTruthy();
    await expect(login(s.gatewayUrl, a.input.email, a.input.password)).rejects.toThrow(/INVALID_CREDENTIALS/);
    expect(await meKind(await login(s.gatewayUrl, a.input.email, 'Brand-New-Secret-42'))).toBe('USER');

    const [{ changed }] = await s.authDs.query(`SELECT password_changed_at AS changed FROM auth."user" WHERE id = $1`, [a.userId]);
    expect(new Date(changed).getTime()).toBeGreaterThan(new Date(changedBefore).getTime());
    const [ev] = await s.authDs.query(`SELECT payload AS data FROM auth.outbox WHERE subject = $1 AND payload->>'action' = 'auth.password.changed'`, [
      `audit.${a.orgId}`,
    ]);
    expect(ev.data).toMatchObject({ actor: { id: a.userId }, target: { id: a.userId }, details: { revokedSessions: 1 } });
    expect(JSON.stringify(ev.data)).not.toContain('Brand-New');
    // Signed-in users only.
    expect((await gql(CHANGE, { c: 'x', n: 'y' })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses each of the last 5 passwords (rule HISTORY) and accepts the one before them', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const p = (i: number) => (i === 0 ? a.input.password : `History-Pass-${i}-Correct!`);
    for (let i = 1; i <= 5; i++) expect(await change(a, p(i - 1), p(i))).toEqual({ ok: true, errors: [] });
    for (let i = 1; i <= 5; i++) {
      const r = await change(a, p(5), p(i));
      expect(r).toEqual({ ok: false, errors: [{ code: 'PASSWORD_TOO_WEAK', field: 'newPassword', message: expect.stringMatching(/last 5 passwords/) }] });
    }
    // The sign-up password is the 6th most recent: allowed again.
    expect(await change(a, p(5), p(0))).toEqual({ ok: true, errors: [] });
    // A smaller history size applies at once: only the current password is excluded now.
    expect((await setPolicy(a, { passwordHistorySize: 1 })).errors).toEqual([]);
    expect(await change(a, p(0), p(4))).toEqual({ ok: true, errors: [] });
    expect((await change(a, p(4), p(4))).errors.map((e) => e.message)).toEqual([expect.stringMatching(/last 1 password\b/)]);
  });

  it('takes the password policy in updateSecurityPolicy, validated, and applies it to the next change', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const defaults = await gql<{ securityPolicy: Record<string, unknown> }>(
      `{ securityPolicy { passwordMinLength passwordHistorySize passwordMaxAgeDays passwordRequireSymbol } }`,
      {},
      bearer(a.accessToken),
    );
    expect(defaults.body.data!.securityPolicy).toEqual({
      passwordMinLength: 12,
      passwordHistorySize: 5,
      passwordMaxAgeDays: null,
      passwordRequireSymbol: true,
    });

    const bad = await setPolicy(a, { passwordMinLength: 4, passwordHistorySize: 25, passwordMaxAgeDays: -1 });
    expect(bad.policy).toBeNull();
    expect(bad.errors.map((e) => [e.code, e.field])).toEqual([
      ['POLICY_INVALID', 'passwordMinLength'],
      ['POLICY_INVALID', 'passwordHistorySize'],
      ['POLICY_INVALID', 'passwordMaxAgeDays'],
    ]);
    const ok = await setPolicy(a, { passwordMinLength: 16, passwordRequireSymbol: false, passwordHistorySize: 3, passwordMaxAgeDays: 90 });
    expect(ok).toEqual({
      policy: {
        passwordMinLength: 16,
        passwordRequireUppercase: true,
        passwordRequireLowercase: true,
        passwordRequireDigit: true,
        passwordRequireSymbol: false,
        passwordHistorySize: 3,
        passwordMaxAgeDays: 90,
      },
      errors: [],
    });
    expect((await change(a, a.input.password, 'Fifteen-Chars-1')).errors.map((e) => e.message)).toEqual([expect.stringMatching(/at least 16 characters/)]);
    expect(await change(a, a.input.password, 'SixteenCharsNoSymbol1')).toEqual({ ok: true, errors: [] });
    expect((await setPolicy(a, { passwordMaxAgeDays: 0 })).policy).toMatchObject({ passwordMaxAgeDays: null });
  });

  it('asks for a new password at sign-in once the password is too old: no tokens until a new, unused one is set', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    expect((await setPolicy(a, { passwordMaxAgeDays: 30 })).errors).toEqual([]);
    await agePassword(a.userId, 29);
    expect((await signIn(a.input.email, a.input.password)).accessToken).toBeTruthy();
    await agePassword(a.userId, 31);

    const first = await signIn(a.input.email, a.input.password);
    expect(first).toMatchObject({ ...noTokens, passwordChangeRequired: true, mfaRequired: false, mfaEnrollmentRequired: false, errors: [] });
    expect(first.challengeToken).toMatch(/^dlx_pwc_/);
    expect(new Date(first.challengeExpiresAt!).getTime()).toBeGreaterThan(Date.now());
    // A wrong password still says only INVALID_CREDENTIALS (expiry is not revealed to a guesser).
    expect((await signIn(a.input.email, 'Wrong-Password-123!')).passwordChangeRequired).toBe(false);
    // The challenge is no bearer token and no MFA challenge.
    expect(await meKind({ accessToken: first.challengeToken! })).not.toBe('USER');
    const mfa = await gql<{ completeMfaLogin: SignIn }>(`mutation($t: String!){ completeMfaLogin(challengeToken: $t, code: "123456") { ${SIGN_IN_FIELDS} } }`, {
      t: first.challengeToken,
    });
    expect(mfa.body.data!.completeMfaLogin).toMatchObject({ ...noTokens, errors: [{ code: 'MFA_CHALLENGE_INVALID' }] });

    expect(await changeExpired(first.challengeToken!, a.input.password)).toMatchObject({
      ...noTokens,
      passwordChangeRequired: false,
      errors: [{ code: 'PASSWORD_TOO_WEAK', field: 'newPassword', message: expect.stringMatching(/last 5 passwords/) }],
    });
    expect(await changeExpired(first.challengeToken!, 'weak')).toMatchObject({
      ...noTokens,
      errors: expect.arrayContaining([expect.objectContaining({ code: 'PASSWORD_TOO_WEAK', message: expect.stringMatching(/at least 12/) })]),
    });
    expect(await changeExpired('dlx_pwc_not-a-real-token', 'Another-Fresh-Pass-7')).toMatchObject({
      ...noTokens,
      errors: [{ code: 'PASSWORD_CHANGE_CHALLENGE_INVALID', field: 'challengeToken' }],
    });
    // Still refused: nothing was changed by the refusals.
    expect((await signIn(a.input.email, a.input.password)).passwordChangeRequired).toBe(true);

    const done = await changeExpired(first.challengeToken!, 'Another-Fresh-Pass-7');
    expect(done).toMatchObject({ passwordChangeRequired: false, mfaRequired: false, challengeToken: null, errors: [], user: { id: a.userId } });
    expect(await meKind({ accessToken: done.accessToken! })).toBe('USER');
    expect(decodeJwt(done.accessToken!).sub).toBe(a.userId);
    // Single use; the session opened before the change is signed out.
    expect((await changeExpired(first.challengeToken!, 'Yet-Another-Pass-8')).errors[0]!.code).toBe('PASSWORD_CHANGE_CHALLENGE_INVALID');
    await until(() => meKind(a), 'TOKEN_REVOKED');
    // The new password is fresh: a plain sign-in gives tokens; the old one is gone.
    expect((await signIn(a.input.email, 'Another-Fresh-Pass-7')).accessToken).toBeTruthy();
    expect((await signIn(a.input.email, a.input.password)).errors[0]!.code).toBe('INVALID_CREDENTIALS');
  });

  it('an admin who must enroll in MFA enrolls first, then changes the expired password, then is signed in', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    // (updateSecurityPolicy refuses to require MFA of admins before its caller has it: the org's
    // settings are set directly, as for an org whose admin lost their device.)
    await s.authDs.query(
      `UPDATE auth.organization SET settings = jsonb_set(jsonb_set(settings, '{mfaPolicy,requiredForAdmins}', 'true'), '{passwordPolicy,maxAgeDays}', '10') WHERE id = $1`,
      [a.orgId],
    );
    await agePassword(a.userId, 11);

    const first = await signIn(a.input.email, a.input.password);
    expect(first).toMatchObject({ ...noTokens, mfaEnrollmentRequired: true, passwordChangeRequired: false });
    const e = await gql<{ enrollTotp: { enrollmentId: string; otpauthUri: string } }>(
      `mutation($c: String){ enrollTotp(challengeToken: $c) { enrollmentId otpauthUri } }`,
      { c: first.challengeToken },
    );
    const secret = base32Decode(new URL(e.body.data!.enrollTotp.otpauthUri).searchParams.get('secret')!);
    const confirmed = await gql<{
      confirmTotp: { accessToken: string | null; backupCodes: string[]; passwordChangeRequired: boolean; challengeToken: string | null; errors: Err[] };
    }>(
      `mutation($id: ID!, $code: String!, $c: String){ confirmTotp(enrollmentId: $id, code: $code, challengeToken: $c) { accessToken backupCodes passwordChangeRequired challengeToken errors { code field message } } }`,
      { id: e.body.data!.enrollTotp.enrollmentId, code: totp(secret, Date.now()), c: first.challengeToken },
    );
    const c = confirmed.body.data!.confirmTotp;
    // Enrolled (the backup codes are shown), but no session while the password is expired.
    expect(c).toMatchObject({ accessToken: null, passwordChangeRequired: true, errors: [] });
    expect(c.backupCodes).toHaveLength(10);
    expect(c.challengeToken).toMatch(/^dlx_pwc_/);
    const done = await changeExpired(c.challengeToken!, 'Enrolled-Admin-Pass-9');
    expect(done).toMatchObject({ passwordChangeRequired: false, mfaRequired: false, mfaEnrollmentRequired: false, errors: [], user: { id: a.userId } });
    expect(await meKind({ accessToken: done.accessToken! })).toBe('USER');
  });

  it('with MFA on, the second factor comes first: only then is the expired password changed, and the sign-in ends without asking for it again', async () => {
    const a = await signUpAndLogin(s.gatewayUrl);
    const e = await gql<{ enrollTotp: { enrollmentId: string; otpauthUri: string } }>(
      `mutation { enrollTotp { enrollmentId otpauthUri errors { code } } }`,
      {},
      bearer(a.accessToken),
    );
    const secret = base32Decode(new URL(e.body.data!.enrollTotp.otpauthUri).searchParams.get('secret')!);
    const c = await gql<{ confirmTotp: { backupCodes: string[]; errors: Err[] } }>(
      `mutation($id: ID!, $code: String!){ confirmTotp(enrollmentId: $id, code: $code) { backupCodes errors { code field message } } }`,
      { id: e.body.data!.enrollTotp.enrollmentId, code: totp(secret, Date.now()) },
      bearer(a.accessToken),
    );
    expect(c.body.data!.confirmTotp.errors).toEqual([]);
    expect((await setPolicy(a, { passwordMaxAgeDays: 10 })).errors).toEqual([]);
    await agePassword(a.userId, 11);

    // The expired password alone opens nothing, not even the password change: MFA first.
    const first = await signIn(a.input.email, a.input.password);
    expect(first).toMatchObject({ ...noTokens, passwordChangeRequired: false, mfaRequired: true, errors: [] });
    expect(first.challengeToken).toMatch(/^dlx_mfa_/);
    const sneaky = await changeExpired(first.challengeToken!, 'Sneaky-Attacker-Pass-9');
    expect(sneaky).toMatchObject({ ...noTokens, errors: [{ code: 'PASSWORD_CHANGE_CHALLENGE_INVALID' }] });

    const afterMfa = await gql<{ completeMfaLogin: SignIn }>(
      `mutation($t: String!, $c: String!){ completeMfaLogin(challengeToken: $t, code: $c) { ${SIGN_IN_FIELDS} } }`,
      {
        t: first.challengeToken,
        c: c.body.data!.confirmTotp.backupCodes[0],
      },
    );
    const due = afterMfa.body.data!.completeMfaLogin;
    expect(due).toMatchObject({ ...noTokens, passwordChangeRequired: true, mfaRequired: false, errors: [] });
    // Reusing the expired password is refused; a new one signs in at once (the second factor was passed).
    const reused = await changeExpired(due.challengeToken!, a.input.password);
    expect(reused.errors.map((x) => x.code)).toEqual(['PASSWORD_TOO_WEAK']);
    const done = await changeExpired(due.challengeToken!, 'Mfa-User-New-Pass-9');
    expect(done).toMatchObject({ passwordChangeRequired: false, mfaRequired: false, challengeToken: null, errors: [], user: { id: a.userId } });
    expect(await meKind({ accessToken: done.accessToken! })).toBe('USER');
    // The next regular sign-in with the new password asks for the second factor again.
    const again = await signIn(a.input.email, 'Mfa-User-New-Pass-9');
    expect(again).toMatchObject({ ...noTokens, passwordChangeRequired: false, mfaRequired: true });
  });
});
