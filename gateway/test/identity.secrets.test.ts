import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from '@datalinx/common';
import { postGraphQL, type GqlResponse } from '../../test/support/http';
import { LOGIN, REFRESH, SIGN_UP, bearer, newSignUp, startIdentityStack, type IdentityStack } from '../../test/support/identity';
import { base32Decode, totp } from '../../services/auth/src/mfa/totp';

/**
 * Nothing secret leaks: every response body and every log line (auth subgraph, gateway, outbox
 * relay — all at trace level) of a sign-up → login → refresh → use → logout flow is searched for
 * the password, the access tokens and the refresh tokens. The only places tokens may appear are
 * the token fields of the login and refresh answers themselves, and exactly those are blanked.
 */
describe('identity flow leaks no password or token', () => {
  const logs: string[] = [];
  let s: IdentityStack;

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    });
    s = await startIdentityStack({ log: pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink) });
  }, 60000);

  afterAll(async () => {
    await s?.stop();
  });

  /**
   * Every event the flow wrote to auth's outbox has been relayed (sent_at set), so the relay's
   * publish and its log lines are in before the logs are scanned.
   */
  const relayed = async () => {
    for (const deadline = Date.now() + 10_000; ;) {
      const [{ n }] = await s.authDs.query(`SELECT count(*)::int AS n FROM auth.outbox WHERE sent_at IS NULL`);
      if (n === 0) return;
      if (Date.now() > deadline) throw new Error('the auth outbox was not relayed within 10 s');
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  it('finds no password, access token or refresh token in any response or log line', async () => {
    const input = newSignUp({ password: 'Sekr3t-Passw0rd-XyZ!' });
    const wrongPassword = 'Wr0ng-Passw0rd-QqQ!';
    const bodies: string[] = [];
    const secrets: string[] = [input.password, wrongPassword];
    const call = async <T>(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GqlResponse<T>> => {
      const res = await postGraphQL<T>(s.gatewayUrl, query, variables, headers);
      return res;
    };
    type TokenAnswer = { accessToken: string | null; refreshToken: string | null; errors: unknown[] };
    /** Records a token-bearing answer with exactly its two token fields blanked, and remembers the tokens as secrets. */
    const recordTokens = (res: GqlResponse<Record<string, TokenAnswer>>, field: 'login' | 'refreshSession') => {
      const answer = res.body.data?.[field];
      expect(answer?.accessToken).toBeTruthy();
      expect(answer?.refreshToken).toBeTruthy();
      secrets.push(answer!.accessToken!, answer!.refreshToken!);
      bodies.push(
        JSON.stringify({ ...res.body, data: { ...res.body.data, [field]: { ...answer, accessToken: '[token field]', refreshToken: '[token field]' } } }),
      );
      return answer as { accessToken: string; refreshToken: string };
    };
    const record = (res: GqlResponse<unknown>) => bodies.push(JSON.stringify(res.body));

    const weak = await call(SIGN_UP, { i: { ...input, password: 'weakpass' } });
    secrets.push('weakpass');
    record(weak);
    record(await call(SIGN_UP, { i: input }));
    record(await call(LOGIN, { i: { email: input.email, password: wrongPassword } }));
    const first = recordTokens(await call<Record<string, TokenAnswer>>(LOGIN, { i: { email: input.email, password: input.password } }), 'login');
    record(await call(`{ me { kind user { email } } }`, {}, bearer(first.accessToken)));
    const second = recordTokens(await call<Record<string, TokenAnswer>>(REFRESH, { t: first.refreshToken }), 'refreshSession');
    record(await call(REFRESH, { t: first.refreshToken })); // reuse: revokes the session
    record(await call(REFRESH, { t: second.refreshToken }));
    record(await call(`{ me { kind } }`, {}, bearer(second.accessToken))); // refused: revoked
    record(await call(`{ me { kind } }`, {}, bearer(`${second.accessToken.slice(0, -4)}AAAA`))); // refused: invalid
    await relayed();

    expect(bodies.length).toBe(10);
    expect(logs.length).toBeGreaterThan(5); // the logs were really captured
    const everything = [...bodies, ...logs];
    for (const secret of secrets) {
      const hits = everything.filter((line) => line.includes(secret));
      expect(hits).toEqual([]);
    }
    // The JWT parts on their own (payload, signature) must not show up either.
    for (const jwt of secrets.filter((x) => x.split('.').length === 3)) {
      for (const part of jwt.split('.').slice(1)) expect(everything.filter((line) => line.includes(part))).toEqual([]);
    }
  });

  it('finds no TOTP secret, backup code, challenge token or token in any response or log line of the MFA flow', async () => {
    const start = logs.length;
    const input = newSignUp({ password: 'Mfa-Sekr3t-Passw0rd!' });
    const bodies: string[] = [];
    const secrets: string[] = [input.password];
    type Data = Record<string, Record<string, unknown>>;
    const call = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
      postGraphQL<Data>(s.gatewayUrl, query, variables, headers);
    /** Records an answer with the named secret-bearing fields blanked, remembering their values as secrets. */
    const record = (res: GqlResponse<Data>, field?: string, blank: string[] = []) => {
      const answer = field ? res.body.data?.[field] : undefined;
      for (const k of blank) {
        const v = answer?.[k];
        expect(v).toBeTruthy();
        for (const x of Array.isArray(v) ? v : [v]) secrets.push(String(x));
      }
      bodies.push(
        JSON.stringify(
          field
            ? { ...res.body, data: { ...res.body.data, [field]: { ...answer, ...Object.fromEntries(blank.map((k) => [k, '[secret field]'])) } } }
            : res.body,
        ),
      );
      return answer ?? {};
    };
    const TOKENS = 'accessToken refreshToken errors { code }';
    const LOGIN_MFA = `mutation($i: LoginInput!){ login(input: $i) { ${TOKENS} mfaRequired challengeToken } }`;
    const COMPLETE = `mutation($c: String!, $code: String!){ completeMfaLogin(challengeToken: $c, code: $code) { ${TOKENS} } }`;

    record(await call(SIGN_UP, { i: input }));
    const first = record(await call(LOGIN, { i: { email: input.email, password: input.password } }), 'login', ['accessToken', 'refreshToken']);
    const at = bearer(first.accessToken as string);
    const enrolled = record(await call(`mutation { enrollTotp { enrollmentId otpauthUri qrCodeDataUrl errors { code } } }`, {}, at), 'enrollTotp', [
      'otpauthUri',
      'qrCodeDataUrl',
    ]);
    const b32 = new URL(enrolled.otpauthUri as string).searchParams.get('secret')!;
    const secret = base32Decode(b32);
    secrets.push(b32, secret.toString('base64'), secret.toString('hex'));
    const confirmed = record(
      await call(
        `mutation($id: ID!, $code: String!){ confirmTotp(enrollmentId: $id, code: $code) { backupCodes errors { code } } }`,
        { id: enrolled.enrollmentId, code: totp(secret, Date.now()) },
        at,
      ),
      'confirmTotp',
      ['backupCodes'],
    );
    const backupCodes = confirmed.backupCodes as string[];
    secrets.push(...backupCodes.map((c) => c.replace(/-/g, '')));
    const c1 = record(await call(LOGIN_MFA, { i: { email: input.email, password: input.password } }), 'login', ['challengeToken']);
    record(await call(COMPLETE, { c: c1.challengeToken, code: 'not-a-backup-code' }), 'completeMfaLogin');
    record(await call(COMPLETE, { c: c1.challengeToken, code: totp(secret, Date.now() + 30_000) }), 'completeMfaLogin', ['accessToken', 'refreshToken']);
    const c2 = record(await call(LOGIN_MFA, { i: { email: input.email, password: input.password } }), 'login', ['challengeToken']);
    record(await call(COMPLETE, { c: c2.challengeToken, code: backupCodes[0] }), 'completeMfaLogin', ['accessToken', 'refreshToken']);
    record(await call(`mutation($p: String!){ disableTotp(password: $p) { ok errors { code } } }`, { p: 'Wrong-Passw0rd-For-Mfa!' }, at));
    secrets.push('Wrong-Passw0rd-For-Mfa!');
    record(await call(`mutation($p: String!){ disableTotp(password: $p) { ok errors { code } } }`, { p: input.password }, at));
    await relayed();

    expect(bodies.length).toBe(11);
    const mfaLogs = logs.slice(start);
    expect(mfaLogs.length).toBeGreaterThan(5);
    const everything = [...bodies, ...mfaLogs];
    for (const x of secrets) expect(everything.filter((line) => line.includes(x))).toEqual([]);
  });
  it('finds no API key in any response or log line of the sign-up → login → API key flow, except the create / rotate payloads', async () => {
    const start = logs.length;
    const input = newSignUp({ password: 'Key-Sekr3t-Passw0rd!' });
    const bodies: string[] = [];
    const secrets: string[] = [input.password];
    type Data = Record<string, Record<string, unknown>>;
    const call = (query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) =>
      postGraphQL<Data>(s.gatewayUrl, query, variables, headers);
    const record = (res: GqlResponse<Data>, field?: string, blank: string[] = []) => {
      const answer = field ? res.body.data?.[field] : undefined;
      for (const k of blank) {
        const v = answer?.[k];
        expect(v).toBeTruthy();
        secrets.push(String(v), String(v).slice('dlx_sk_live_'.length));
      }
      bodies.push(
        JSON.stringify(
          field
            ? { ...res.body, data: { ...res.body.data, [field]: { ...answer, ...Object.fromEntries(blank.map((k) => [k, '[secret field]'])) } } }
            : res.body,
        ),
      );
      return answer ?? {};
    };
    const ACCOUNT = 'serviceAccount { id apiKeys { id prefix createdAt lastUsedAt revokedAt } } errors { code }';
    expect(record(await call(SIGN_UP, { i: input }), 'signUp').ok).toBe(true);
    const [{ orgId }] = await s.authDs.query(`SELECT org_id AS "orgId" FROM auth."user" WHERE email = $1`, [input.email]);
    const workspaceId = await s.knowWorkspace(orgId);
    const first = record(await call(LOGIN, { i: { email: input.email, password: input.password } }), 'login', ['accessToken', 'refreshToken']);
    const at = bearer(first.accessToken as string);
    const created = record(
      await call(
        `mutation($i: CreateServiceAccountInput!){ createServiceAccount(input: $i) { apiKey ${ACCOUNT} } }`,
        { i: { name: 'ci', workspaceId, role: 'EDITOR' } },
        at,
      ),
      'createServiceAccount',
      ['apiKey'],
    );
    const key1 = created.apiKey as string;
    const saId = (created.serviceAccount as { id: string }).id;
    record(await call(`{ me { kind organization { id } } }`, {}, { 'x-api-key': key1 }));
    record(await call(`{ serviceAccounts { id apiKeys { id prefix createdAt lastUsedAt revokedAt } } }`, {}, at));
    const rotated = record(await call(`mutation($id: ID!){ rotateApiKey(serviceAccountId: $id) { apiKey ${ACCOUNT} } }`, { id: saId }, at), 'rotateApiKey', [
      'apiKey',
    ]);
    const key1Id = (created.serviceAccount as { apiKeys: Array<{ id: string }> }).apiKeys[0]!.id;
    const until = Date.now() + 5000;
    while (!s.revocations.isApiKeyRevoked(key1Id) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    record(await call(`{ me { kind } }`, {}, { 'x-api-key': key1 })); // refused: rotated
    record(await call(`{ me { kind } }`, {}, { 'x-api-key': rotated.apiKey as string }));
    record(await call(`{ me { kind } }`, {}, { 'x-api-key': `${(rotated.apiKey as string).slice(0, -2)}xx` })); // refused: unknown
    await relayed();

    expect(bodies.length).toBe(9);
    const keyLogs = logs.slice(start);
    expect(keyLogs.length).toBeGreaterThan(0);
    const everything = [...bodies, ...keyLogs];
    for (const x of secrets) expect(everything.filter((line) => line.includes(x))).toEqual([]);
  });

  it('finds no session cookie, CSRF token or token in any response or log line of the browser-session flow', async () => {
    const start = logs.length;
    const input = newSignUp({ password: 'Cookie-Sekr3t-Passw0rd!' });
    const bodies: string[] = [];
    const sessionUrl = new URL('/auth/session', s.gatewayUrl).toString();
    await postGraphQL(s.gatewayUrl, SIGN_UP, { i: input });
    const login = await postGraphQL<{ login: { accessToken: string; refreshToken: string } }>(s.gatewayUrl, LOGIN, {
      i: { email: input.email, password: input.password },
    });
    const { accessToken, refreshToken } = login.body.data!.login;
    const opened = await fetch(sessionUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
    expect(opened.status).toBe(200);
    const { csrfToken, ...rest } = (await opened.json()) as { csrfToken: string };
    bodies.push(JSON.stringify(rest)); // the CSRF token is this answer's purpose: blanked
    const session = /^dlx_session=([^;]+)/.exec(opened.headers.getSetCookie().find((c) => c.startsWith('dlx_session='))!)![1]!;
    const browser = (csrf: string) => ({ cookie: `dlx_session=${session}; dlx_csrf=${csrfToken}`, 'x-dlx-csrf': csrf });
    for (const csrf of [csrfToken, csrfToken, 'A'.repeat(43)])
      bodies.push(JSON.stringify((await postGraphQL(s.gatewayUrl, `{ me { kind } }`, {}, browser(csrf))).body));
    const closed = await fetch(sessionUrl, { method: 'DELETE', headers: browser(csrfToken) });
    bodies.push(await closed.text());
    bodies.push(JSON.stringify((await postGraphQL(s.gatewayUrl, `{ me { kind } }`, {}, browser(csrfToken))).body)); // refused: signed out
    const reused = await fetch(sessionUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken }) });
    bodies.push(await reused.text()); // refused: spent
    await relayed();

    expect(bodies.length).toBe(7);
    expect(bodies[1]).toContain('"kind":"USER"');
    const cookieLogs = logs.slice(start);
    expect(cookieLogs.length).toBeGreaterThan(0);
    const everything = [...bodies, ...cookieLogs];
    // The cookie, its random part, the CSRF token, the tokens it came from.
    for (const x of [session, session.split('.')[1]!, csrfToken, refreshToken, accessToken, input.password])
      expect(everything.filter((line) => line.includes(x))).toEqual([]);
  });
});
