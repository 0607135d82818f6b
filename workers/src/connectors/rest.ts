import { readFile, stat } from 'node:fs/promises';
import { storedFilePath } from '@datalinx/contracts';
import { fail, pass, plural, type ConnectorTest, type StepResult } from './steps';
import { resolveStep } from './net';
import { checkedFetch } from './http';
import { explainNetworkError } from './failures';
import { countCollections, parseOpenApi } from './openapi';

export interface RestTarget {
  workspaceId: string;
  baseUrl: string;
  auth: 'NONE' | 'BEARER' | 'API_KEY' | 'BASIC';
  apiKeyHeader?: string;
  username?: string;
  openApiUrl?: string;
  openApiFileId?: string;
  token?: string;
  apiKey?: string;
  password?: string;
}

/** OpenAPI documents of large APIs run to a few MB; more than this is not a description. */
const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/** A URL as it may appear in a run's messages: user info (a credential) removed. */
function shown(u: URL): string {
  if (!u.username && !u.password) return u.href;
  const c = new URL(u.href);
  c.username = '';
  c.password = '';
  return c.href;
}

type HttpResult = { ok: true; res: Response; body?: string } | { ok: false; result: StepResult };

const portOf = (u: URL) => (u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80);

/**
 * What a failed request means: the network part (policy, DNS, TCP) as every connector says it
 * (./failures.ts), then TLS.
 */
export function explainFetchError(err: unknown, url: URL): StepResult {
  const network = explainNetworkError(err, { host: url.hostname.replace(/^\[|\]$/g, ''), port: portOf(url) });
  if (network) return network;
  const e = err as Error & { code?: string; cause?: Error & { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const detail = e.cause?.message ?? e.message;
  if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code))
    return fail('TLS_CERT_INVALID', `The TLS certificate of ${url.host} is not valid (${code}). Fix the API's certificate or use its correct host name.`);
  if (code === 'EPROTO' || /wrong version number|ssl|tls/i.test(detail))
    return fail('TLS_UNAVAILABLE', `TLS with ${url.host} failed (${detail}). Check whether the API is served over https:// or http://.`);
  if (code === 'ECONNRESET') return fail('UNREACHABLE', `${url.host} is unreachable (${code}). Check the base URL and the network path from the data plane.`);
  return fail('CONNECTION_FAILED', `GET ${shown(url)} failed (${detail}). Check the base URL.`);
}

function retryAfterMs(value: string | null): number {
  if (!value) return 1000;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - Date.now());
}

async function readBody(res: Response, limit: number): Promise<string | undefined> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One GET within the step's time budget. A 429 is waited out once (Retry-After), if the wait
 * fits the budget: APIs that rate-limit aggressively should still test green.
 */
async function get(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  opts: { body?: boolean; followRedirects?: boolean } = {},
): Promise<HttpResult> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await checkedFetch(url, {
        headers: { accept: 'application/json, application/yaml;q=0.9, */*;q=0.5', 'user-agent': 'datalinx-connection-test', ...headers },
        // Only requests without credentials follow redirects (and checkedFetch keeps credentials to the first origin).
        redirect: opts.followRedirects ? 'follow' : 'manual',
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
    } catch (err) {
      return { ok: false, result: explainFetchError(err, url) };
    }
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers.get('retry-after'));
      await res.body?.cancel().catch(() => undefined);
      if (attempt > 1 || Date.now() + wait >= deadline) {
        return {
          ok: false,
          result: fail(
            'RATE_LIMITED',
            `${url.host} answered 429 Too Many Requests${attempt > 1 ? ' again after waiting' : ` and asks to wait ${Math.ceil(wait / 1000)} s, longer than the test allows`}. Try again later or raise the API's rate limit.`,
          ),
        };
      }
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    if (!opts.body) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: true, res };
    }
    try {
      const body = await readBody(res, MAX_DOCUMENT_BYTES);
      if (body === undefined)
        return {
          ok: false,
          result: fail('OPENAPI_TOO_LARGE', `${shown(url)} is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB. Point to the API's OpenAPI document.`),
        };
      return { ok: true, res, body };
    } catch (err) {
      return { ok: false, result: explainFetchError(err, url) };
    }
  }
}

const missing = (message: string) => ({ error: fail('MISSING_CREDENTIALS', message) });

function credentials(t: RestTarget): { headers: Record<string, string> } | { error: StepResult } {
  switch (t.auth) {
    case 'NONE':
      return { headers: {} };
    case 'BEARER':
      return t.token
        ? { headers: { authorization: `Bearer ${t.token}` } }
        : missing('Bearer authentication is chosen but no token is set. Set the token on the connection.');
    case 'API_KEY':
      return t.apiKey
        ? { headers: { [t.apiKeyHeader ?? 'X-API-Key']: t.apiKey } }
        : missing('API key authentication is chosen but no key is set. Set the API key on the connection.');
    case 'BASIC':
      return t.username && t.password !== undefined
        ? { headers: { authorization: `Basic ${Buffer.from(`${t.username}:${t.password}`).toString('base64')}` } }
        : missing('Basic authentication needs a user name and a password. Set both on the connection.');
  }
}

/**
 * connection.test for a REST API described by OpenAPI: resolve the host to addresses the network
 * policy allows (every request, redirects included, is checked again: ./http.ts), reach it over
 * HTTP(S), check the credentials are not rejected, read the OpenAPI document and count its
 * collections. Only GET requests are sent: testing never changes anything on the API.
 */
export function restTest(t: RestTarget, fileStorageRoot: string, timeoutMs: number): ConnectorTest {
  const base = new URL(t.baseUrl);
  let anonymousStatus = 0;
  let headers: Record<string, string> = {};
  let collections = -1;

  const openApiText = async (): Promise<{ text: string; from: string } | StepResult> => {
    if (t.openApiUrl) {
      const url = new URL(t.openApiUrl);
      // Credentials go only to the API's own origin, never to a third-party host serving the document.
      const r = await get(url, url.origin === base.origin ? headers : {}, timeoutMs, { body: true, followRedirects: url.origin !== base.origin });
      if (!r.ok) return r.result;
      if (r.res.status === 401 || r.res.status === 403)
        return fail(
          'WRONG_CREDENTIALS',
          `GET ${shown(url)} answered ${r.res.status}: the OpenAPI document needs credentials the connection does not have. Check the credentials or make the document public.`,
        );
      if (r.res.status >= 300) return fail('OPENAPI_NOT_FOUND', `GET ${shown(url)} answered ${r.res.status}. Check the OpenAPI document's URL.`);
      return { text: r.body ?? '', from: shown(url) };
    }
    const path = storedFilePath(fileStorageRoot, t.workspaceId, t.openApiFileId!);
    try {
      if ((await stat(path)).size > MAX_DOCUMENT_BYTES)
        return fail(
          'OPENAPI_TOO_LARGE',
          `The uploaded OpenAPI document is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB. Upload the API's OpenAPI document.`,
        );
      return { text: await readFile(path, 'utf8'), from: 'the uploaded file' };
    } catch (err) {
      return fail(
        'FILE_NOT_FOUND',
        `The uploaded OpenAPI document is not in file storage (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Upload it again.`,
      );
    }
  };

  return {
    steps: [
      { name: 'host resolved', run: () => resolveStep(base.hostname, portOf(base), timeoutMs) },
      {
        name: 'TLS/HTTP reachable',
        run: async () => {
          const r = await get(base, {}, timeoutMs, { followRedirects: true });
          if (!r.ok) return r.result;
          anonymousStatus = r.res.status;
          return pass(`GET ${shown(base)} answered ${r.res.status} over ${base.protocol === 'https:' ? 'TLS' : 'plain HTTP'}`);
        },
      },
      {
        name: 'authenticated',
        run: async () => {
          const creds = credentials(t);
          if ('error' in creds) return creds.error;
          headers = creds.headers;
          if (t.auth === 'NONE') {
            if (anonymousStatus === 401 || anonymousStatus === 403) {
              return fail(
                'AUTH_REQUIRED',
                `The API answers ${anonymousStatus} without credentials. Choose its authentication method (bearer token, API key or basic) and set the credential.`,
              );
            }
            return { ok: true, skipped: true, message: 'no authentication configured' };
          }
          const r = await get(base, headers, timeoutMs);
          if (!r.ok) return r.result;
          const s = r.res.status;
          if (s === 401 || s === 403)
            return fail(
              'WRONG_CREDENTIALS',
              `The API rejected the credentials (GET ${shown(base)} answered ${s}). Check the ${t.auth === 'BEARER' ? 'token' : t.auth === 'API_KEY' ? `API key and its header (${t.apiKeyHeader ?? 'X-API-Key'})` : 'user name and password'}.`,
            );
          return pass(
            anonymousStatus === 401 || anonymousStatus === 403
              ? `credentials accepted (GET ${base.pathname} answered ${anonymousStatus} without them, ${s} with them)`
              : `credentials not rejected (GET ${base.pathname} answered ${s}; it needs none, so they are checked on protected endpoints only)`,
          );
        },
      },
      {
        name: 'OpenAPI document readable',
        run: async () => {
          if (!t.openApiUrl && !t.openApiFileId) {
            return { ok: true, skipped: true, message: 'no OpenAPI document configured: add its URL or upload it to discover the collections' };
          }
          const src = await openApiText();
          if ('ok' in src) return src;
          const parsed = parseOpenApi(src.text);
          if (!parsed.ok) return parsed;
          const c = countCollections(parsed.doc);
          collections = c.collections;
          return pass(`${plural(c.collections, 'collection')} found (OpenAPI ${parsed.version}, ${plural(c.paths, 'path')}, from ${src.from})`);
        },
      },
    ],
    summary: () =>
      collections >= 0 ? `API reachable; ${plural(collections, 'collection')} found.` : 'API reachable; no OpenAPI document to discover collections.',
  };
}
