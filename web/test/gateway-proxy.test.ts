import { describeFetchFailure, forwardedRequestHeaders, forwardedResponseHeaders, proxyToGateway } from '../lib/gateway-proxy';
import { envSchema, parseWebEnv, WebEnvError } from '../lib/env';
import { freePort } from './start-web';

describe('forwardedRequestHeaders', () => {
  test('keeps credentials and GraphQL headers, drops the rest', () => {
    const out = forwardedRequestHeaders(
      new Headers({
        authorization: 'Bearer abc',
        cookie: 'dlx_session=s1; other=2',
        'x-api-key': 'dlx_sk_live_x',
        'content-type': 'application/json',
        'apollo-require-preflight': 'true',
        host: 'web.example',
        connection: 'keep-alive',
        'content-length': '42',
      }),
    );
    expect(Object.fromEntries(out.entries())).toEqual({
      authorization: 'Bearer abc',
      cookie: 'dlx_session=s1; other=2',
      'x-api-key': 'dlx_sk_live_x',
      'content-type': 'application/json',
      'apollo-require-preflight': 'true',
    });
  });

  test('defaults the content type to JSON', () => {
    expect(forwardedRequestHeaders(new Headers()).get('content-type')).toBe('application/json');
  });
});

describe('forwardedResponseHeaders', () => {
  test('passes every set-cookie back and never lets the answer be cached by default', () => {
    const upstream = new Headers({ 'content-type': 'application/json', 'content-encoding': 'gzip' });
    upstream.append('set-cookie', 'dlx_session=a; HttpOnly; Path=/');
    upstream.append('set-cookie', 'dlx_refresh=b; HttpOnly; Path=/');
    const out = forwardedResponseHeaders(upstream);
    expect(out.getSetCookie()).toEqual(['dlx_session=a; HttpOnly; Path=/', 'dlx_refresh=b; HttpOnly; Path=/']);
    expect(out.get('content-type')).toBe('application/json');
    expect(out.get('content-encoding')).toBeNull();
    expect(out.get('cache-control')).toBe('no-store');
  });
});

describe('proxyToGateway with nothing listening', () => {
  test('answers 502 with a GraphQL error that names the gateway and the reason', async () => {
    const gatewayUrl = `http://127.0.0.1:${await freePort()}/graphql`;
    const request = new Request('http://web.local/api/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    const response = await proxyToGateway(request, { gatewayUrl, timeoutMs: 5_000 });
    expect(response.status).toBe(502);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as { errors: { message: string; extensions: unknown }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toMatch(
      new RegExp(`^The gateway at ${gatewayUrl.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&')} did not answer: connect ECONNREFUSED`),
    );
    expect(body.errors[0].extensions).toEqual({ code: 'GATEWAY_UNREACHABLE', gatewayUrl });
  });
});

describe('describeFetchFailure', () => {
  test('reports the socket error instead of "fetch failed"', async () => {
    const port = await freePort();
    const error = await fetch(`http://127.0.0.1:${port}/`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(describeFetchFailure(error)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  test('lists every address of an AggregateError once', () => {
    const failure = new TypeError('fetch failed', {
      cause: new AggregateError([new Error('connect ECONNREFUSED ::1:4000'), new Error('connect ECONNREFUSED 127.0.0.1:4000')]),
    });
    expect(describeFetchFailure(failure)).toBe('connect ECONNREFUSED ::1:4000; connect ECONNREFUSED 127.0.0.1:4000');
  });
});

describe('web environment', () => {
  test('defaults to the local gateway', () => {
    expect(parseWebEnv({})).toEqual({ GATEWAY_URL: 'http://127.0.0.1:4000/graphql', GATEWAY_TIMEOUT_MS: 30_000 });
  });

  test('lists every problem at once', () => {
    let caught: unknown;
    try {
      parseWebEnv({ GATEWAY_URL: 'gateway:4000', GATEWAY_TIMEOUT_MS: '-1' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WebEnvError);
    expect((caught as WebEnvError).problems).toHaveLength(2);
    expect((caught as WebEnvError).problems.join('\n')).toMatch(/GATEWAY_URL.*\n.*GATEWAY_TIMEOUT_MS/);
  });

  test('requires nothing (compose may leave everything to the defaults)', () => {
    for (const [key, field] of Object.entries(envSchema.shape)) {
      expect([key, field.isOptional()]).toEqual([key, true]);
    }
  });
});
