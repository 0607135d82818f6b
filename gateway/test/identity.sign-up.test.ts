import { postGraphQL } from '../../test/support/http';
import { SIGN_UP, login, newSignUp, signUpAndLogin, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { startMailbox, type Mailbox } from '../../test/support/mailbox';
import { changedTables, fingerprintDatabase } from '../../test/support/db-fingerprint';

/**
 * Sign-up through the real gateway and auth subgraph, with the MailRelay sending to a REAL SMTP
 * server: it never tells whether an e-mail address has an account (as login and password reset
 * do not). A taken address gets exactly the answer of a fresh sign-up, creates nothing, and its
 * owner gets an e-mail; the region is one of a closed list.
 */
describe('sign-up through the gateway', () => {
  let s: IdentityStack;
  let mailbox: Mailbox;

  beforeAll(async () => {
    mailbox = await startMailbox();
    s = await startIdentityStack({
      mail: { smtpUrl: mailbox.smtpUrl('mailer', 'smtp-pass'), from: 'Datalinx <no-reply@datalinx.test>', webBaseUrl: 'https://app.datalinx.test' },
    });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
    await mailbox?.stop();
  });

  type Err = { code: string; field: string | null; message: string };
  /** Every field SignUpPayload has, and its __typename: two answers with the same shape compare equal. */
  const SIGN_UP_ALL = `mutation($i: SignUpInput!){ signUp(input: $i) { __typename ok errors { __typename code field message } } }`;
  const signUp = (i: Record<string, unknown>, query = SIGN_UP_ALL) => postGraphQL<{ signUp: { ok: boolean; errors: Err[] } }>(s.gatewayUrl, query, { i });
  const rows = (sql: string, params: unknown[] = []) => s.authDs.query(sql, params) as Promise<Array<Record<string, unknown>>>;
  const emailsTo = (address: string) => rows(`SELECT template, subject FROM auth.email_outbox WHERE to_address = $1 ORDER BY created_at`, [address]);
  const auditOf = (orgId: string, action: string) =>
    rows(`SELECT payload FROM auth.outbox WHERE subject = $1 AND payload->>'action' = $2 ORDER BY seq`, [`audit.${orgId}`, action]);

  it('answers a taken e-mail exactly like a fresh sign-up, creates nothing, and e-mails the owner of the address', async () => {
    const owner = await signUpAndLogin(s.gatewayUrl);
    const fresh = await signUp(newSignUp());
    expect(fresh.status).toBe(200);
    expect(fresh.body).toEqual({ data: { signUp: { __typename: 'SignUpPayload', ok: true, errors: [] } } });

    const before = await fingerprintDatabase(s.authDs);
    const attempt = newSignUp({ email: owner.input.email.toUpperCase(), password: 'Intruder-Pass-42!', organizationName: 'Copycat Org' });
    const taken = await signUp(attempt);
    // The same status and body, field for field: nothing tells the two apart.
    expect(taken.status).toBe(fresh.status);
    expect(taken.body).toEqual(fresh.body);

    // Nothing was created or changed: only the notice (auth.email_outbox) and its audit event (auth.outbox) were written.
    expect(changedTables(before, await fingerprintDatabase(s.authDs))).toEqual(['auth.email_outbox', 'auth.outbox']);
    expect(await rows(`SELECT id FROM auth.organization WHERE slug = $1 OR name = $2`, [attempt.slug, attempt.organizationName])).toEqual([]);
    expect(await emailsTo(owner.input.email)).toEqual([{ template: 'signup_attempt', subject: 'Someone tried to sign up to Datalinx with your address' }]);
    const events = await auditOf(owner.orgId, 'auth.signup.failed');
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({
      orgId: owner.orgId,
      actor: { type: 'anonymous' },
      target: { type: 'User', id: owner.userId },
      outcome: 'failure',
      details: { reason: 'email_taken', mailed: true },
    });
    expect(JSON.stringify(events)).not.toContain(attempt.password);

    // The owner gets the e-mail through SMTP; it carries no password and no link to act on.
    const mail = await mailbox.mailTo(owner.input.email, (m) => m.subject.includes('tried to sign up'));
    expect(mail.text).toContain('nothing was created');
    expect(mail.text).toContain('https://app.datalinx.test');
    expect(mail.text).not.toContain(attempt.password);
    // The owner's account is untouched: their password still signs in, the attempted one does not.
    await expect(login(s.gatewayUrl, owner.input.email, attempt.password)).rejects.toThrow(/INVALID_CREDENTIALS/);
    expect((await login(s.gatewayUrl, owner.input.email, owner.input.password)).userId).toBe(owner.userId);
  });

  it('answers a taken e-mail with the validation errors a free one would get (and no EMAIL_TAKEN); SLUG_TAKEN stays', async () => {
    const owner = await signUpAndLogin(s.gatewayUrl);
    const other = await signUpAndLogin(s.gatewayUrl);
    const invalid = { timeZone: 'Mars/Olympus_Mons', displayName: '' };
    const free = await signUp(newSignUp(invalid));
    const taken = await signUp(newSignUp({ ...invalid, email: owner.input.email }));
    expect(taken.body).toEqual(free.body);
    expect(free.body.data!.signUp.errors.map((e) => e.code)).toEqual(['TIME_ZONE_INVALID', 'DISPLAY_NAME_INVALID']);
    // Slugs are not personal: a taken one is said, whether or not the e-mail address is taken too.
    for (const email of [owner.input.email, newSignUp().email]) {
      expect((await signUp(newSignUp({ email, slug: other.input.slug }))).body.data!.signUp).toEqual({
        __typename: 'SignUpPayload',
        ok: false,
        errors: [{ __typename: 'UserError', code: 'SLUG_TAKEN', field: 'slug', message: expect.any(String) }],
      });
    }
    // None of these reached the notice.
    expect(await emailsTo(owner.input.email)).toEqual([]);
  });

  it('e-mails the owner at most 3 times an hour; later attempts still answer ok and are audited', async () => {
    const owner = await signUpAndLogin(s.gatewayUrl);
    for (let i = 0; i < 5; i += 1) expect((await signUp(newSignUp({ email: owner.input.email }), SIGN_UP)).body.data!.signUp).toEqual({ ok: true, errors: [] });
    expect(await emailsTo(owner.input.email)).toHaveLength(3);
    const mailed = (await auditOf(owner.orgId, 'auth.signup.failed')).map((e) => (e.payload as { details: { mailed: boolean } }).details.mailed);
    expect(mailed).toEqual([true, true, true, false, false]);
  });

  it('refuses a region outside the list with REGION_INVALID naming the allowed ones, and creates nothing', async () => {
    // The earlier cases' notices are still being sent (the e-mail relay marks its rows): let it finish, so the fingerprint sees only this case.
    for (const deadline = Date.now() + 15_000; ; await new Promise((r) => setTimeout(r, 100))) {
      const [{ n }] = await s.authDs.query(`SELECT count(*)::int AS n FROM auth.email_outbox WHERE sent_at IS NULL AND body IS NOT NULL`);
      if (n === 0) break;
      if (Date.now() > deadline) throw new Error(`${n} e-mail(s) still unsent after 15 s`);
    }
    const before = await fingerprintDatabase(s.authDs);
    const res = await signUp(newSignUp({ region: 'mars' }));
    expect(res.body.data!.signUp).toEqual({
      __typename: 'SignUpPayload',
      ok: false,
      errors: [{ __typename: 'UserError', code: 'REGION_INVALID', field: 'region', message: 'The region must be one of: eu, us.' }],
    });
    expect(changedTables(before, await fingerprintDatabase(s.authDs))).toEqual([]);
    // The list, any case: stored as listed.
    const us = newSignUp({ region: ' US ' });
    expect((await signUp(us, SIGN_UP)).body.data!.signUp).toEqual({ ok: true, errors: [] });
    expect(await rows(`SELECT region FROM auth.organization WHERE slug = $1`, [us.slug])).toEqual([{ region: 'us' }]);
  });
});
