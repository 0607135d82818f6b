import { randomUUID } from 'node:crypto';
import { gqlClient } from '../../test/support/http';
import { LOGIN, REFRESH, bearer, login, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { base32Decode, totp } from '../../services/auth/src/mfa/totp';
import { hashPassword } from '../../services/auth/src/managers/passwords';

/**
 * TOTP MFA end to end through the real gateway: enrollment (sealed secret, otpauth URI once),
 * confirmation (10 hashed single-use backup codes), the login challenge, replay and attempt
 * limits, disabling with the password, and the org policy "MFA required for admins".
 * Codes are computed here from the secret in the otpauth URI, as an authenticator app would.
 */
describe('MFA (TOTP) through the gateway', () => {
  let s: IdentityStack;

  beforeAll(async () => {
    s = await startIdentityStack();
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  type Err = { code: string; field: string | null; message: string };
  const gql = gqlClient(() => s.gatewayUrl);

  const ME = `{ me { kind mfaEnabled user { id } } }`;
  const ENROLL = `mutation($c: String){ enrollTotp(challengeToken: $c) { enrollmentId otpauthUri qrCodeDataUrl errors { code field message } } }`;
  const CONFIRM = `mutation($id: ID!, $code: String!, $c: String){ confirmTotp(enrollmentId: $id, code: $code, challengeToken: $c) { backupCodes accessToken refreshToken expiresAt user { id } errors { code field message } } }`;
  const COMPLETE = `mutation($c: String!, $code: String!){ completeMfaLogin(challengeToken: $c, code: $code) { accessToken refreshToken expiresAt user { id } mfaRequired errors { code field message } } }`;
  const DISABLE = `mutation($p: String!){ disableTotp(password: $p) { ok errors { code field message } } }`;
  const POLICY = `mutation($i: SecurityPolicyInput!){ updateSecurityPolicy(input: $i) { policy { mfaRequiredForAdmins } errors { code field message } } }`;
  const MFA_LOGIN = `mutation($i: LoginInput!){ login(input: $i) { accessToken refreshToken user { id } mfaRequired mfaEnrollmentRequired challengeToken challengeExpiresAt errors { code } } }`;

  type LoginStep = {
    accessToken: string | null;
    refreshToken: string | null;
    user: unknown;
    mfaRequired: boolean;
    mfaEnrollmentRequired: boolean;
    challengeToken: string | null;
    challengeExpiresAt: string | null;
    errors: Err[];
  };
  const loginStep = async (email: string, password: string) => (await gql<{ login: LoginStep }>(MFA_LOGIN, { i: { email, password } })).body.data!.login;

  const secretOf = (uri: string) => base32Decode(new URL(uri).searchParams.get('secret')!);
  /** The code for the step `offset` steps from now (offset 1 = the next one, still inside the ±1 window). */
  const code = (secret: Buffer, offset = 0) => totp(secret, Date.now() + offset * 30_000);
  const auditActions = async (orgId: string) =>
    (
      (await s.authDs.query(`SELECT payload->>'action' AS action FROM auth.outbox WHERE subject = $1 ORDER BY id`, [`audit.${orgId}`])) as Array<{
        action: string;
      }>
    ).map((r) => r.action);

  /** Enrolls the bearer of `accessToken` and returns the secret and the backup codes. */
  async function enroll(accessToken: string): Promise<{ secret: Buffer; backupCodes: string[] }> {
    const e = await gql<{ enrollTotp: { enrollmentId: string; otpauthUri: string; errors: Err[] } }>(ENROLL, {}, bearer(accessToken));
    expect(e.body.data!.enrollTotp.errors).toEqual([]);
    const secret = secretOf(e.body.data!.enrollTotp.otpauthUri);
    const c = await gql<{ confirmTotp: { backupCodes: string[]; accessToken: string | null; errors: Err[] } }>(
      CONFIRM,
      { id: e.body.data!.enrollTotp.enrollmentId, code: code(secret) },
      bearer(accessToken),
    );
    expect(c.body.data!.confirmTotp.errors).toEqual([]);
    return { secret, backupCodes: c.body.data!.confirmTotp.backupCodes };
  }

  it('enrolls, confirms, and then asks for the second factor at login; TOTP and backup codes complete it, once each', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const e = await gql<{ enrollTotp: { enrollmentId: string; otpauthUri: string; qrCodeDataUrl: string; errors: Err[] } }>(ENROLL, {}, bearer(u.accessToken));
    const { enrollmentId, otpauthUri, qrCodeDataUrl } = e.body.data!.enrollTotp;
    // The QR code: an SVG data URL (rendered server-side, no third-party QR service) of a
    // version-4+ symbol: a ~100-character URI cannot fit in fewer modules.
    expect(qrCodeDataUrl).toMatch(/^data:image\/svg\+xml;base64,/);
    const svg = Buffer.from(qrCodeDataUrl.split(',')[1]!, 'base64').toString('utf8');
    expect(svg).toMatch(/^<svg [^>]*viewBox="0 0 (\d+) \1"/);
    expect(Number(/viewBox="0 0 (\d+)/.exec(svg)![1])).toBeGreaterThanOrEqual(33 + 4);
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/Datalinx:.+\?secret=[A-Z2-7]{32}&issuer=Datalinx/);
    const secret = secretOf(otpauthUri);
    // The secret rests sealed (AES-GCM), not in the clear nor in base32.
    const [row] = await s.authDs.query(`SELECT secret_sealed::text AS sealed, status FROM auth.mfa_totp WHERE id = $1`, [enrollmentId]);
    expect(row.status).toBe('PENDING');
    expect(row.sealed).toContain('A256GCM');
    expect(row.sealed).not.toContain(new URL(otpauthUri).searchParams.get('secret'));
    expect(row.sealed).not.toContain(secret.toString('base64'));
    // Not yet active: login still gives tokens directly.
    expect((await gql(ME, {}, bearer(u.accessToken))).body.data).toEqual({ me: { kind: 'USER', mfaEnabled: false, user: { id: u.userId } } });

    // A wrong code does not confirm; the right one does and returns 10 distinct backup codes, stored hashed.
    const wrong = await gql<{ confirmTotp: { backupCodes: unknown; errors: Err[] } }>(
      CONFIRM,
      { id: enrollmentId, code: code(secret, 5) },
      bearer(u.accessToken),
    );
    expect(wrong.body.data!.confirmTotp).toMatchObject({ backupCodes: null, errors: [{ code: 'MFA_CODE_INVALID' }] });
    const ok = await gql<{ confirmTotp: { backupCodes: string[]; accessToken: unknown; errors: Err[] } }>(
      CONFIRM,
      { id: enrollmentId, code: code(secret) },
      bearer(u.accessToken),
    );
    const backupCodes = ok.body.data!.confirmTotp.backupCodes;
    expect(ok.body.data!.confirmTotp).toMatchObject({ accessToken: null, errors: [] });
    expect(new Set(backupCodes).size).toBe(10);
    const stored = ((await s.authDs.query(`SELECT code_hash FROM auth.mfa_backup_code WHERE user_id = $1`, [u.userId])) as Array<{ code_hash: string }>).map(
      (r) => r.code_hash,
    );
    expect(stored).toHaveLength(10);
    for (const c of backupCodes) expect(stored.join()).not.toContain(c.replace(/-/g, ''));
    expect((await gql(ME, {}, bearer(u.accessToken))).body.data).toMatchObject({ me: { mfaEnabled: true } });
    // A second enrollment is refused while one is active.
    expect((await gql<{ enrollTotp: { errors: Err[] } }>(ENROLL, {}, bearer(u.accessToken))).body.data!.enrollTotp.errors[0]!.code).toBe('MFA_ALREADY_ENABLED');

    // Login now stops at the challenge: no tokens, no user.
    const step = await loginStep(u.input.email, u.input.password);
    expect(step).toMatchObject({ accessToken: null, refreshToken: null, user: null, mfaRequired: true, mfaEnrollmentRequired: false, errors: [] });
    expect(step.challengeToken).toMatch(/^dlx_mfa_/);
    expect(new Date(step.challengeExpiresAt!).getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    // The challenge token is no access token.
    const asBearer = await gql(ME, {}, bearer(step.challengeToken!));
    expect(asBearer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_INVALID' });

    // The code used at confirmation cannot be replayed; the next step's code completes the login.
    const replay = await gql<{ completeMfaLogin: { accessToken: unknown; errors: Err[] } }>(COMPLETE, { c: step.challengeToken, code: code(secret) });
    expect(replay.body.data!.completeMfaLogin).toMatchObject({ accessToken: null, errors: [{ code: 'MFA_CODE_INVALID' }] });
    const next = code(secret, 1);
    const done = await gql<{ completeMfaLogin: { accessToken: string; refreshToken: string; user: { id: string }; errors: Err[] } }>(COMPLETE, {
      c: step.challengeToken,
      code: next,
    });
    expect(done.body.data!.completeMfaLogin).toMatchObject({ user: { id: u.userId }, errors: [] });
    expect((await gql(ME, {}, bearer(done.body.data!.completeMfaLogin.accessToken))).body.data).toMatchObject({ me: { kind: 'USER', mfaEnabled: true } });
    // The challenge is single-use, and so is the code just used.
    const again = await gql<{ completeMfaLogin: { errors: Err[] } }>(COMPLETE, { c: step.challengeToken, code: next });
    expect(again.body.data!.completeMfaLogin.errors[0]!.code).toBe('MFA_CHALLENGE_INVALID');
    const step2 = await loginStep(u.input.email, u.input.password);
    const reused = await gql<{ completeMfaLogin: { errors: Err[] } }>(COMPLETE, { c: step2.challengeToken, code: next });
    expect(reused.body.data!.completeMfaLogin.errors[0]!.code).toBe('MFA_CODE_INVALID');

    // A backup code works once (typed in any case, without dashes), never twice.
    const backup = backupCodes[3]!;
    const viaBackup = await gql<{ completeMfaLogin: { accessToken: string | null; errors: Err[] } }>(COMPLETE, {
      c: step2.challengeToken,
      code: backup.replace(/-/g, '').toUpperCase(),
    });
    expect(viaBackup.body.data!.completeMfaLogin.errors).toEqual([]);
    expect(viaBackup.body.data!.completeMfaLogin.accessToken).toEqual(expect.any(String));
    const step3 = await loginStep(u.input.email, u.input.password);
    const backupAgain = await gql<{ completeMfaLogin: { errors: Err[] } }>(COMPLETE, { c: step3.challengeToken, code: backup });
    expect(backupAgain.body.data!.completeMfaLogin.errors[0]!.code).toBe('MFA_CODE_INVALID');

    const actions = await auditActions(u.orgId);
    expect(actions).toContain('auth.mfa.enrolled');
    expect(actions.filter((a) => a === 'auth.login.succeeded')).toHaveLength(3); // the sign-up login, TOTP, backup code
    expect(actions.filter((a) => a === 'auth.login.failed').length).toBeGreaterThanOrEqual(3);
    const [succeeded] = await s.authDs.query(`SELECT payload AS data FROM auth.outbox WHERE subject = $1 AND payload->'details'->>'mfa' = 'backup_code'`, [
      `audit.${u.orgId}`,
    ]);
    expect(succeeded.data).toMatchObject({
      action: 'auth.login.succeeded',
      actor: { type: 'user', id: u.userId },
      target: { type: 'Session' },
      outcome: 'success',
    });
  });

  it('spends a challenge after 5 wrong codes, even when the sixth is right', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const { secret } = await enroll(u.accessToken);
    const step = await loginStep(u.input.email, u.input.password);
    for (let i = 0; i < 5; i++) {
      const r = await gql<{ completeMfaLogin: { errors: Err[] } }>(COMPLETE, {
        c: step.challengeToken,
        code: String((Number(code(secret, 1)) + 1 + i) % 1e6).padStart(6, '0'),
      });
      expect(r.body.data!.completeMfaLogin.errors[0]!.code).toBe('MFA_CODE_INVALID');
    }
    const right = await gql<{ completeMfaLogin: { accessToken: unknown; errors: Err[] } }>(COMPLETE, { c: step.challengeToken, code: code(secret, 1) });
    expect(right.body.data!.completeMfaLogin).toMatchObject({ accessToken: null, errors: [{ code: 'MFA_CHALLENGE_INVALID' }] });
  });

  it('turns MFA off only with the password, and then login gives tokens directly again', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    await enroll(u.accessToken);
    const bad = await gql<{ disableTotp: { ok: boolean; errors: Err[] } }>(DISABLE, { p: 'Not-The-Password-1' }, bearer(u.accessToken));
    expect(bad.body.data!.disableTotp).toMatchObject({ ok: false, errors: [{ code: 'INVALID_PASSWORD', field: 'password' }] });
    expect((await loginStep(u.input.email, u.input.password)).mfaRequired).toBe(true);
    // Anonymous callers cannot even try.
    expect((await gql(DISABLE, { p: u.input.password })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const good = await gql<{ disableTotp: { ok: boolean; errors: Err[] } }>(DISABLE, { p: u.input.password }, bearer(u.accessToken));
    expect(good.body.data!.disableTotp).toEqual({ ok: true, errors: [] });
    expect(
      await s.authDs.query(`SELECT 1 FROM auth.mfa_totp WHERE user_id = $1 UNION ALL SELECT 1 FROM auth.mfa_backup_code WHERE user_id = $1`, [u.userId]),
    ).toEqual([]);
    const direct = await loginStep(u.input.email, u.input.password);
    expect(direct).toMatchObject({ mfaRequired: false, challengeToken: null, errors: [] });
    expect(direct.accessToken).toEqual(expect.any(String));
    expect(await auditActions(u.orgId)).toContain('auth.mfa.disabled');
    const [ev] = await s.authDs.query(`SELECT payload AS data FROM auth.outbox WHERE subject = $1 AND payload->>'action' = 'auth.mfa.disabled'`, [
      `audit.${u.orgId}`,
    ]);
    expect(ev.data).toMatchObject({ actor: { type: 'user', id: u.userId }, target: { id: u.userId } });
  });

  it('with "MFA required for admins", an admin without MFA is signed out and can only enroll; members are not affected', async () => {
    const admin = await signUpAndLogin(s.gatewayUrl);
    // Requiring it before having it yourself is refused (you would lock yourself out).
    const early = await gql<{ updateSecurityPolicy: { errors: Err[] } }>(POLICY, { i: { mfaRequiredForAdmins: true } }, bearer(admin.accessToken));
    expect(early.body.data!.updateSecurityPolicy.errors[0]!.code).toBe('MFA_REQUIRED_FIRST');
    await enroll(admin.accessToken);

    // A second admin and a member of the same org, both signed in, both without MFA.
    const hash = await hashPassword(admin.input.password);
    const mk = async (role: string) => {
      const email = `${role.toLowerCase()}-${randomUUID()}@example.test`;
      await s.authDs.query(`INSERT INTO auth."user" (org_id, email, display_name, org_role, password_hash) VALUES ($1, $2, $3, $4, $5)`, [
        admin.orgId,
        email,
        role,
        role,
        hash,
      ]);
      return { email, ...(await login(s.gatewayUrl, email, admin.input.password)) };
    };
    const admin2 = await mk('ADMIN');
    const member = await mk('MEMBER');
    // Only an org ADMIN may change the policy.
    const byMember = await gql(POLICY, { i: { mfaRequiredForAdmins: true } }, bearer(member.accessToken));
    expect(byMember.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const on = await gql<{ updateSecurityPolicy: { policy: { mfaRequiredForAdmins: boolean }; errors: Err[] } }>(
      POLICY,
      { i: { mfaRequiredForAdmins: true } },
      bearer(admin.accessToken),
    );
    expect(on.body.data!.updateSecurityPolicy).toEqual({ policy: { mfaRequiredForAdmins: true }, errors: [] });
    // admin2's session is gone at once: access token refused, refresh refused.
    await eventually(async () =>
      expect((await gql(ME, {}, bearer(admin2.accessToken))).body.errors?.[0]?.extensions).toMatchObject({ reason: 'TOKEN_REVOKED' }),
    );
    const refresh = await gql<{ refreshSession: { accessToken: unknown; errors: Err[] } }>(REFRESH, { t: admin2.refreshToken });
    expect(refresh.body.data!.refreshSession).toMatchObject({ accessToken: null });
    // The member and the enrolled admin go on.
    expect((await gql(ME, {}, bearer(member.accessToken))).body.data).toMatchObject({ me: { kind: 'USER' } });
    expect((await gql(ME, {}, bearer(admin.accessToken))).body.data).toMatchObject({ me: { kind: 'USER' } });
    expect((await loginStep(member.email, admin.input.password)).accessToken).toEqual(expect.any(String));

    // admin2 logs in: an enrollment challenge, no tokens.
    const step = await loginStep(admin2.email, admin.input.password);
    expect(step).toMatchObject({ accessToken: null, refreshToken: null, user: null, mfaRequired: false, mfaEnrollmentRequired: true, errors: [] });
    const challenge = step.challengeToken!;
    // The enrollment challenge opens nothing else: not a bearer token, not a login challenge.
    expect((await gql(ME, {}, bearer(challenge))).body.errors?.[0]?.extensions).toMatchObject({ reason: 'TOKEN_INVALID' });
    expect((await gql<{ completeMfaLogin: { errors: Err[] } }>(COMPLETE, { c: challenge, code: '123456' })).body.data!.completeMfaLogin.errors[0]!.code).toBe(
      'MFA_CHALLENGE_INVALID',
    );
    expect((await gql<{ enrollTotp: { errors: Err[] } }>(ENROLL, { c: 'dlx_mfa_forged' })).body.data!.enrollTotp.errors[0]!.code).toBe('MFA_CHALLENGE_INVALID');
    expect((await gql<{ enrollTotp: { errors: Err[] } }>(ENROLL, {})).body.data!.enrollTotp.errors[0]!.code).toBe('NOT_SIGNED_IN');

    // Enrolling with the challenge: the URI, then confirmation signs in and returns backup codes.
    const e = await gql<{ enrollTotp: { enrollmentId: string; otpauthUri: string; errors: Err[] } }>(ENROLL, { c: challenge });
    expect(e.body.data!.enrollTotp.errors).toEqual([]);
    const secret = secretOf(e.body.data!.enrollTotp.otpauthUri);
    const c = await gql<{ confirmTotp: { backupCodes: string[]; accessToken: string; refreshToken: string; user: { id: string }; errors: Err[] } }>(CONFIRM, {
      id: e.body.data!.enrollTotp.enrollmentId,
      code: code(secret),
      c: challenge,
    });
    expect(c.body.data!.confirmTotp.errors).toEqual([]);
    expect(c.body.data!.confirmTotp.backupCodes).toHaveLength(10);
    expect(c.body.data!.confirmTotp.user.id).toBe(admin2.userId);
    expect((await gql(ME, {}, bearer(c.body.data!.confirmTotp.accessToken))).body.data).toMatchObject({
      me: { kind: 'USER', mfaEnabled: true, user: { id: admin2.userId } },
    });
    // The challenge is spent.
    expect((await gql<{ enrollTotp: { errors: Err[] } }>(ENROLL, { c: challenge })).body.data!.enrollTotp.errors[0]!.code).toBe('MFA_CHALLENGE_INVALID');
    // While the policy holds, an admin cannot turn MFA off.
    const off = await gql<{ disableTotp: { errors: Err[] } }>(DISABLE, { p: admin.input.password }, bearer(c.body.data!.confirmTotp.accessToken));
    expect(off.body.data!.disableTotp.errors[0]!.code).toBe('MFA_REQUIRED_BY_POLICY');
    // From now on admin2's login asks for the second factor.
    expect((await loginStep(admin2.email, admin.input.password)).mfaRequired).toBe(true);
  });

  it('keeps the plain login payload for users without MFA (no challenge fields set)', async () => {
    const u = await signUpAndLogin(s.gatewayUrl);
    const res = await gql<{ login: { accessToken: string; errors: unknown[] } }>(LOGIN, { i: { email: u.input.email, password: u.input.password } });
    expect(res.body.data!.login.errors).toEqual([]);
    expect(res.body.data!.login.accessToken).toEqual(expect.any(String));
  });
});

async function eventually(check: () => Promise<void>, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
