/**
 * The same-origin GraphQL proxy: the browser talks to `/api/graphql` on the web app and the web
 * server forwards the request to the gateway. The browser therefore never needs to know where
 * the gateway lives (it is usually not reachable from outside), the `dlx_session` cookie stays
 * first-party, and the gateway address is read from the environment at run time.
 *
 * No Next.js imports here: plain Fetch API objects, so the logic is testable on its own.
 */

/** Request headers the gateway needs: credentials, content negotiation, CSRF/tracing hints. */
export const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'authorization',
  'content-type',
  'cookie',
  'x-api-key',
  // The double-submit CSRF header of cookie sessions and the workspace the page acts in (the
  // gateway counts API requests per workspace by it).
  'x-dlx-csrf',
  'x-dlx-workspace',
  'origin',
  'user-agent',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
] as const;

/**
 * Response headers passed back to the browser. `set-cookie` is handled separately (there may be
 * several). Hop-by-hop and encoding headers are left out: fetch already decoded the body.
 */
export const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'x-request-id',
  'retry-after',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
] as const;

export const GATEWAY_UNREACHABLE = 'GATEWAY_UNREACHABLE';
export const GATEWAY_TIMEOUT = 'GATEWAY_TIMEOUT';

export function forwardedRequestHeaders(incoming: Headers): Headers {
  const out = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming.get(name);
    if (value !== null) out.set(name, value);
  }
  if (!out.has('content-type')) out.set('content-type', 'application/json');
  return out;
}

export function forwardedResponseHeaders(upstream: Headers): Headers {
  const out = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = upstream.get(name);
    if (value !== null) out.set(name, value);
  }
  for (const cookie of upstream.getSetCookie()) out.append('set-cookie', cookie);
  out.set('cache-control', upstream.get('cache-control') ?? 'no-store');
  return out;
}

/**
 * Turns a failed `fetch` into a short human reason. Node's fetch throws `TypeError: fetch failed`
 * and keeps the socket error in `cause` (an AggregateError when `localhost` resolves to both
 * ::1 and 127.0.0.1). Checked structurally, not with `instanceof`: errors may come from another
 * realm.
 */
export function describeFetchFailure(error: unknown): string {
  const reasons: string[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (depth > 4 || value === null || value === undefined) return;
    if (typeof value !== 'object') {
      reasons.push(String(value));
      return;
    }
    const { message, cause, code, errors } = value as {
      message?: unknown;
      cause?: unknown;
      code?: unknown;
      errors?: unknown;
    };
    if (Array.isArray(errors) && errors.length > 0) {
      for (const inner of errors) visit(inner, depth + 1);
      return;
    }
    if (message === 'fetch failed' && cause !== undefined) {
      visit(cause, depth + 1);
      return;
    }
    if (typeof message === 'string' && message !== '') reasons.push(message);
    else if (typeof code === 'string') reasons.push(code);
    else reasons.push(String(value));
  };
  visit(error, 0);
  const unique = [...new Set(reasons)];
  return unique.length > 0 ? unique.join('; ') : 'unknown error';
}

/** A GraphQL-shaped error response, so the urql client surfaces it like any other error. */
export function gatewayErrorResponse(status: number, code: string, gatewayUrl: string, message: string): Response {
  return Response.json({ errors: [{ message, extensions: { code, gatewayUrl } }] }, { status, headers: { 'cache-control': 'no-store' } });
}

export interface ProxyOptions {
  gatewayUrl: string;
  timeoutMs: number;
}

/** The gateway's browser-session route (`POST` sets the cookies, `DELETE` signs out), beside its GraphQL path. */
export const GATEWAY_SESSION_PATH = '/auth/session';

/**
 * Forwards a browser-session request (`POST` with `{ refreshToken }`, or `DELETE`) to the gateway's
 * `/auth/session` on the same origin as `GATEWAY_URL`; the `set-cookie` answers come back to the
 * browser as first-party cookies of the web app.
 */
export async function proxySessionToGateway(request: Request, options: ProxyOptions): Promise<Response> {
  const target = new URL(GATEWAY_SESSION_PATH, options.gatewayUrl).toString();
  return proxyToGateway(request, options, { target, method: request.method });
}

export async function proxyToGateway(request: Request, options: ProxyOptions, to: { target?: string; method?: string } = {}): Promise<Response> {
  const { gatewayUrl, timeoutMs } = options;
  const method = to.method ?? 'POST';
  const body = method === 'POST' ? await request.text() : undefined;
  const signal = AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]);
  let upstream: Response;
  let upstreamBody: ArrayBuffer;
  try {
    upstream = await fetch(to.target ?? gatewayUrl, {
      method,
      headers: forwardedRequestHeaders(request.headers),
      body,
      signal,
      redirect: 'manual',
      cache: 'no-store',
    });
    upstreamBody = await upstream.arrayBuffer();
  } catch (error) {
    if ((error as { name?: unknown } | null)?.name === 'TimeoutError') {
      return gatewayErrorResponse(504, GATEWAY_TIMEOUT, gatewayUrl, `The gateway at ${gatewayUrl} did not answer: no response within ${timeoutMs} ms`);
    }
    return gatewayErrorResponse(502, GATEWAY_UNREACHABLE, gatewayUrl, `The gateway at ${gatewayUrl} did not answer: ${describeFetchFailure(error)}`);
  }
  const nullBodyStatus = [101, 204, 205, 304].includes(upstream.status);
  return new Response(nullBodyStatus ? null : upstreamBody, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: forwardedResponseHeaders(upstream.headers),
  });
}

/** Response headers of the explorer's static files passed back as they are (its CSP included). */
const EXPLORER_RESPONSE_HEADERS = ['content-type', 'cache-control', 'content-security-policy', 'etag', 'last-modified'] as const;

/**
 * The gateway's GraphiQL explorer (`GET /explorer/…`), served through the web app so that it runs
 * on this origin with the session cookie; its queries go to `/graphql`, forwarded like
 * `/api/graphql`.
 */
export async function proxyExplorerAsset(request: Request, options: ProxyOptions): Promise<Response> {
  const incoming = new URL(request.url);
  const target = new URL(incoming.pathname + incoming.search, options.gatewayUrl).toString();
  try {
    const upstream = await fetch(target, { signal: AbortSignal.timeout(options.timeoutMs), redirect: 'manual', cache: 'no-store' });
    const headers = new Headers();
    for (const name of EXPLORER_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const location = upstream.headers.get('location');
    if (location) headers.set('location', location);
    return new Response(upstream.status === 304 ? null : await upstream.arrayBuffer(), { status: upstream.status, headers });
  } catch (error) {
    return new Response(`The gateway at ${options.gatewayUrl} did not answer: ${describeFetchFailure(error)}. Start the platform with npm start.\n`, {
      status: 502,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
}
