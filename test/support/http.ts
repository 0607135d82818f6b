import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import https from 'node:https';

/**
 * The URL of a server listening on loopback: https:// when it serves TLS (`npm test` passes
 * TLS_CERT_FILE/TLS_KEY_FILE, so the servers the factories create speak TLS; node's fetch trusts
 * the test CA through NODE_EXTRA_CA_CERTS).
 */
export const urlOf = (server: http.Server, path = '/graphql') =>
  `${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

export interface GqlResponse<T = Record<string, unknown>> {
  status: number;
  body: { data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown[] }> };
}

export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResponse<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: text }] };
  }
  return { status: res.status, body };
}

type HeaderMap = Record<string, string>;
type Lazy<T> = T | (() => T | Promise<T>);
const valueOf = async <T>(v: Lazy<T>): Promise<T> => (typeof v === 'function' ? await (v as () => T | Promise<T>)() : v);

/** What `gqlClient` answers: `gql(query, variables?, headers?)`; headers given here replace the client's defaults. */
export type GqlClient = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: HeaderMap) => Promise<GqlResponse<T>>;

/**
 * The tests' one GraphQL client. `url` and the default `headers` may be functions, read on every
 * call (a server started in beforeAll, a viewer header signed per request); `onResponse` sees
 * every answer (e.g. to scan all responses for a secret afterwards).
 */
export function gqlClient(url: Lazy<string>, o: { headers?: Lazy<HeaderMap>; onResponse?: (res: GqlResponse<unknown>) => void } = {}): GqlClient {
  return async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, headers?: HeaderMap) => {
    const res = await postGraphQL<T>(await valueOf(url), query, variables, headers ?? (o.headers ? await valueOf(o.headers) : {}));
    o.onResponse?.(res);
    return res;
  };
}

/** `gqlClient` for tests that speak as viewers: `gql(viewer, query, variables?)`, the viewer's headers from `headersOf`. */
export function gqlViewerClient<V>(
  url: Lazy<string>,
  headersOf: (viewer: V) => HeaderMap | Promise<HeaderMap>,
  o: { onResponse?: (res: GqlResponse<unknown>) => void } = {},
) {
  const gql = gqlClient(url, o);
  return async <T = Record<string, unknown>>(viewer: V, query: string, variables: Record<string, unknown> = {}) =>
    gql<T>(query, variables, await headersOf(viewer));
}
