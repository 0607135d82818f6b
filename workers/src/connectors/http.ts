import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import type { CheckedDestination, NetworkPolicy } from '@datalinx/common';
import { networkPolicy } from './net';

export interface CheckedFetchInit {
  headers?: Record<string, string>;
  /** `manual` (default): a 3xx is the answer. `follow`: up to 20 redirects, each to a destination the policy checks again. */
  redirect?: 'manual' | 'follow';
  signal?: AbortSignal;
  /** Default: the worker's policy (./net.ts). */
  policy?: NetworkPolicy;
}

const MAX_REDIRECTS = 20;
const NULL_BODY = new Set([101, 204, 205, 304]);
/** Headers that may go to any origin a redirect leads to; everything else (credentials, API keys) stays with the first origin. */
const PORTABLE_HEADERS = new Set(['accept', 'user-agent']);

const defaultPort = (u: URL) => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** One GET to a destination the policy checked: node's http(s) connects to the checked address (its `lookup` answers only that one). */
function request(url: URL, d: CheckedDestination, headers: Record<string, string>, signal?: AbortSignal): Promise<http.IncomingMessage> {
  const lookup: net.LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (err: null, addresses: Array<{ address: string; family: number }>) => void)(null, [{ address: d.address, family: d.family }]);
    else callback(null, d.address, d.family);
  };
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers, agent: false, lookup, signal }, resolve);
    req.once('error', reject);
    req.end();
  });
}

function toResponse(res: http.IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
    } catch {
      // a header value fetch would refuse too: left out
    }
  }
  const status = res.statusCode ?? 0;
  const body = NULL_BODY.has(status) ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  if (!body) res.resume();
  return new Response(body, { status, statusText: res.statusMessage, headers });
}

/**
 * `fetch` (GET) for the REST connector and reader, through the network policy: before each
 * request (and each redirect) the host is resolved once and every address checked, then the
 * connection goes to the checked address (TLS still verifies the URL's host name). A refused
 * destination rejects with DestinationNotAllowedError before any packet is sent to it; DNS and
 * socket errors reject as node gives them (see ./failures.ts). Credentials never follow a redirect
 * to another origin.
 */
export async function checkedFetch(input: URL, init: CheckedFetchInit = {}): Promise<Response> {
  const policy = init.policy ?? networkPolicy();
  let url = new URL(input.href);
  let headers = { ...(init.headers ?? {}) };
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${url.protocol} URLs are not fetched (http: and https: only)`);
    const d = await abortable(policy.resolve(url.hostname, defaultPort(url)), init.signal);
    const res = await request(url, d, headers, init.signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (init.redirect !== 'follow' || status < 300 || status >= 400 || !location) return toResponse(res);
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new TypeError(`more than ${MAX_REDIRECTS} redirects from ${input.origin}`);
    const next = new URL(location, url);
    if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => PORTABLE_HEADERS.has(k.toLowerCase())));
    url = next;
  }
}
