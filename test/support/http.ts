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
