import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from '@datalinx/common';
import { postGraphQL, type GqlResponse } from '../../test/support/http';
import { LOGIN, REFRESH, SIGN_UP, bearer, newSignUp, startIdentityStack, type IdentityStack } from '../../test/support/identity';

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
      bodies.push(JSON.stringify({ ...res.body, data: { ...res.body.data, [field]: { ...answer, accessToken: '[token field]', refreshToken: '[token field]' } } }));
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
    await new Promise((r) => setTimeout(r, 200)); // let the outbox relay publish and log

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
});
