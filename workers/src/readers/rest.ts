/**
 * REST reader: the collections of an API described by OpenAPI 3 (or Swagger 2) become tables, and
 * each is read page by page. Pagination follows, in this order: an RFC 8288 (5988)
 * `Link: <…>; rel="next"` header; a next cursor / next URL in the response body (`next_cursor`,
 * `next`, `nextPageToken`, … at the top or under `meta`/`pagination`/`links`); the page-number or
 * offset parameters the operation declares (until an empty page or `has_more: false`).
 * Credentials are sent to the base URL's origin only (a next link elsewhere stops the read);
 * redirects are not followed. Every request goes through the network policy (../connectors/http.ts):
 * a refused destination or an unknown host fails the read at once with connection.test's code. 429 is waited out (Retry-After in seconds or as an HTTP date) and
 * 5xx / network errors are retried with exponential backoff, a bounded number of times.
 */
import { readFile, stat } from 'node:fs/promises';
import { storedFilePath } from '@datalinx/contracts';
import { parseOpenApi } from '../connectors/openapi';
import { checkedFetch } from '../connectors/http';
import { explainNetworkError } from '../connectors/failures';
import {
  checkAborted,
  ProblemLog,
  ReaderError,
  type ColumnShape,
  type ColumnType,
  type OnMalformed,
  type Problem,
  type ReadOptions,
  type Row,
  type SourceReader,
  type TableShape,
} from './types';
import { classifyJson, convertJson, widen } from './values';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface RestReaderOptions {
  baseUrl: string;
  auth: 'NONE' | 'BEARER' | 'API_KEY' | 'BASIC';
  apiKeyHeader?: string;
  username?: string;
  /** The connection's secrets (token, apiKey, password). */
  secrets?: { token?: string; apiKey?: string; password?: string };
  /** The OpenAPI document (JSON or YAML text, or already parsed). */
  document: string | Json;
  onMalformed?: OnMalformed;
  onProblem?: (p: Problem) => void;
  /** Items asked for per page when the operation has a page-size parameter (default 100, capped by its `maximum`). */
  pageSize?: number;
  /** Retries of one request after 429, 5xx or a network error (default 5). */
  maxRetries?: number;
  /** The longest Retry-After waited out (default 120 s); longer fails with RATE_LIMITED. */
  maxRetryAfterMs?: number;
  /** First backoff after a 5xx or network error, doubled each retry (default 500 ms). */
  backoffMs?: number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Bounds a pagination that never ends (default 100 000 pages). */
  maxPages?: number;
  /** Bounds one response body (default 64 MiB). */
  maxBodyBytes?: number;
}

const ITEM_KEYS = ['data', 'items', 'results', 'records', 'entries', 'values', 'content', 'rows', 'list'];
const CURSOR_PARAMS = [
  'cursor',
  'after',
  'page_token',
  'pageToken',
  'next_token',
  'nextToken',
  'starting_after',
  'continuation',
  'continuation_token',
  'next_cursor',
  'since_id',
];
const PAGE_PARAMS = ['page', 'page_number', 'pageNumber', 'pageNo'];
const SIZE_PARAMS = ['per_page', 'page_size', 'pageSize', 'perPage', 'size', 'limit', 'count', 'take'];
const OFFSET_PARAMS = ['offset', 'skip', 'start', 'from'];
const NEXT_FIELDS = ['next_cursor', 'nextCursor', 'next_page_token', 'nextPageToken', 'next_token', 'nextToken', 'next_page', 'nextPage', 'next'];
const NEXT_HOLDERS = ['meta', 'pagination', 'paging', 'links', '_links', 'page_info', 'pageInfo'];

interface Collection {
  table: TableShape;
  path: string;
  /** Envelope property holding the items (undefined: the body is the array, or detect at runtime). */
  itemsKey?: string;
  declaredColumns: boolean;
  query: Set<string>;
  pageParam?: { name: string; start: number };
  sizeParam?: { name: string; max?: number };
  offsetParam?: string;
  cursorParam?: string;
}

function resolve(doc: Json, v: unknown, depth = 0): unknown {
  if (!isObj(v) || typeof v.$ref !== 'string' || depth > 20) return v;
  if (!v.$ref.startsWith('#/')) return undefined;
  let cur: unknown = doc;
  for (const part of v.$ref.slice(2).split('/')) cur = isObj(cur) ? cur[decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return resolve(doc, cur, depth + 1);
}

/** A schema with `$ref`s and `allOf` resolved at its top level. */
function schemaOf(doc: Json, s: unknown, depth = 0): Json | undefined {
  const r = resolve(doc, s);
  if (!isObj(r)) return undefined;
  if (Array.isArray(r.allOf) && depth < 10) {
    const merged: Json = { ...r, properties: { ...(isObj(r.properties) ? r.properties : {}) }, required: [...(Array.isArray(r.required) ? r.required : [])] };
    for (const part of r.allOf) {
      const p = schemaOf(doc, part, depth + 1);
      if (!p) continue;
      Object.assign(merged.properties as Json, isObj(p.properties) ? p.properties : {});
      (merged.required as unknown[]).push(...(Array.isArray(p.required) ? p.required : []));
      if (!merged.type && p.type) merged.type = p.type;
    }
    return merged;
  }
  return r;
}

function successSchema(doc: Json, op: Json): Json | undefined {
  const responses = resolve(doc, op.responses);
  if (!isObj(responses)) return undefined;
  const code = Object.keys(responses)
    .filter((c) => /^2(\d\d|XX)$/i.test(c))
    .sort()[0];
  const res = code ? resolve(doc, responses[code]) : undefined;
  if (!isObj(res)) return undefined;
  if (res.schema) return schemaOf(doc, res.schema);
  if (!isObj(res.content)) return undefined;
  const media = Object.keys(res.content).find((m) => /json/i.test(m)) ?? Object.keys(res.content)[0];
  const content = media ? resolve(doc, res.content[media]) : undefined;
  return isObj(content) ? schemaOf(doc, content.schema) : undefined;
}

const types = (s: Json): string[] => (Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : []);
const isArraySchema = (s: Json | undefined) => !!s && (types(s).includes('array') || 'items' in s);

function columnType(doc: Json, raw: unknown): ColumnType {
  const s = schemaOf(doc, raw);
  if (!s) return 'jsonb';
  const t = types(s).filter((x) => x !== 'null')[0];
  switch (t) {
    case 'integer':
      return s.format === 'int32' ? 'integer' : 'bigint';
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'string':
      return s.format === 'date' ? 'date' : s.format === 'date-time' ? 'timestamptz' : 'text';
    case undefined:
      return isObj(s.properties) || 'items' in s || Array.isArray(s.oneOf) || Array.isArray(s.anyOf) ? 'jsonb' : 'text';
    default:
      return 'jsonb';
  }
}

function columnsOf(doc: Json, item: Json | undefined): ColumnShape[] {
  if (!item || !isObj(item.properties)) return [];
  const required = new Set(Array.isArray(item.required) ? (item.required as string[]) : []);
  return Object.entries(item.properties).map(([name, p]) => {
    const s = schemaOf(doc, p) ?? {};
    return { name, type: columnType(doc, p), nullable: !required.has(name) || s.nullable === true || types(s).includes('null') };
  });
}

function tableName(path: string, taken: Set<string>): string {
  const segments = path.split('/').filter((s) => s && !s.startsWith('{'));
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'collection';
  let name = clean(segments[segments.length - 1] ?? 'root');
  if (taken.has(name)) name = clean(segments.join('_'));
  let n = 2;
  const base = name;
  while (taken.has(name)) name = `${base}_${n++}`;
  taken.add(name);
  return name;
}

/** The `rel="next"` target of an RFC 8288 Link header. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
}

/** A Retry-After value in milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, fallback: number): number {
  if (!value) return fallback;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallback : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function bodyNext(body: unknown): string | undefined {
  if (!isObj(body)) return undefined;
  const pick = (o: Json): string | undefined => {
    for (const f of NEXT_FIELDS) {
      let v = o[f];
      if (isObj(v) && typeof v.href === 'string') v = v.href;
      if (typeof v === 'string' && v !== '') return v;
      if (typeof v === 'number') return String(v);
    }
    return undefined;
  };
  const top = pick(body);
  if (top) return top;
  for (const h of NEXT_HOLDERS)
    if (isObj(body[h])) {
      const v = pick(body[h] as Json);
      if (v) return v;
    }
  return undefined;
}

function hasMoreFalse(body: unknown): boolean {
  if (!isObj(body)) return false;
  for (const o of [body, ...NEXT_HOLDERS.map((h) => body[h])]) {
    if (!isObj(o)) continue;
    for (const f of ['has_more', 'hasMore', 'has_next', 'hasNext', 'hasNextPage', 'has_next_page']) if (o[f] === false) return true;
  }
  return false;
}

/** The credentials of a connection as request headers (sent to the API's own origin only). */
export function authHeaders(o: Pick<RestReaderOptions, 'auth' | 'apiKeyHeader' | 'username' | 'secrets'>): Record<string, string> {
  const s = o.secrets ?? {};
  switch (o.auth) {
    case 'NONE':
      return {};
    case 'BEARER':
      if (!s.token) throw new ReaderError('MISSING_CREDENTIALS', 'Bearer authentication is chosen but no token is set.');
      return { authorization: `Bearer ${s.token}` };
    case 'API_KEY':
      if (!s.apiKey) throw new ReaderError('MISSING_CREDENTIALS', 'API key authentication is chosen but no key is set.');
      return { [o.apiKeyHeader ?? 'X-API-Key']: s.apiKey };
    case 'BASIC':
      if (!o.username || s.password === undefined) throw new ReaderError('MISSING_CREDENTIALS', 'Basic authentication needs a user name and a password.');
      return { authorization: `Basic ${Buffer.from(`${o.username}:${s.password}`).toString('base64')}` };
  }
}

export class RestReader implements SourceReader {
  private readonly log: ProblemLog;
  private readonly base: URL;
  private collections?: Map<string, Collection>;

  constructor(private readonly opts: RestReaderOptions) {
    this.log = new ProblemLog(opts.onMalformed ?? 'SKIP_AND_REPORT', 'REST_RECORD_INVALID', opts.onProblem);
    this.base = new URL(opts.baseUrl);
  }

  get problems(): Problem[] {
    return this.log.problems;
  }
  get problemCount(): number {
    return this.log.count;
  }

  /** The URL of an API path under the base URL (which may carry a path prefix). */
  private urlOf(path: string): URL {
    const u = new URL(this.base.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    return u;
  }

  /** One GET with retries; the parsed JSON body and the response. */
  private async get(url: URL, signal?: AbortSignal): Promise<{ res: Response; body: unknown }> {
    if (url.origin !== this.base.origin)
      throw new ReaderError(
        'PAGINATION_OFF_ORIGIN',
        `The next page is on ${url.origin}, not on the API's origin ${this.base.origin}: credentials are not sent there, so the read stops.`,
      );
    const maxRetries = this.opts.maxRetries ?? 5;
    const backoff = this.opts.backoffMs ?? 500;
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const shown = `${url.pathname}${url.search}`;
    for (let attempt = 0; ; attempt++) {
      checkAborted(signal);
      let res: Response;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        res = await checkedFetch(url, {
          headers: { accept: 'application/json', 'user-agent': 'datalinx-sync', ...authHeaders(this.opts) },
          redirect: 'manual',
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof ReaderError) throw err;
        // The one classification of connection failures (connection tests, discovery, sync say the same).
        const why = explainNetworkError(err, {
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
        });
        if (why && !why.transient) throw new ReaderError(why.code, why.message);
        if (attempt >= maxRetries) {
          if (why) throw new ReaderError(why.code, `${why.message} (GET ${shown}, ${attempt + 1} attempts)`);
          throw new ReaderError(
            'HTTP_FAILED',
            `GET ${shown} failed ${attempt + 1} times (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}).`,
          );
        }
        await sleep(backoff * 2 ** attempt, signal);
        continue;
      }
      const status = res.status;
      if (status === 429 || status >= 500) {
        await res.body?.cancel().catch(() => undefined);
        const wait =
          status === 429 || res.headers.has('retry-after') ? retryAfterMs(res.headers.get('retry-after'), backoff * 2 ** attempt) : backoff * 2 ** attempt;
        if (attempt >= maxRetries)
          throw new ReaderError(status === 429 ? 'RATE_LIMITED' : 'HTTP_SERVER_ERROR', `GET ${shown} answered ${status} ${attempt + 1} times; giving up.`);
        if (wait > (this.opts.maxRetryAfterMs ?? 120_000))
          throw new ReaderError('RATE_LIMITED', `GET ${shown} answered ${status} and asks to wait ${Math.ceil(wait / 1000)} s, longer than allowed.`);
        await sleep(wait, signal);
        continue;
      }
      if (status === 401 || status === 403) {
        await res.body?.cancel().catch(() => undefined);
        throw new ReaderError(
          this.opts.auth === 'NONE' ? 'AUTH_REQUIRED' : 'WRONG_CREDENTIALS',
          `GET ${shown} answered ${status}: check the connection's credentials.`,
        );
      }
      if (status < 200 || status >= 300) {
        await res.body?.cancel().catch(() => undefined);
        throw new ReaderError(
          status >= 300 && status < 400 ? 'REDIRECT_NOT_FOLLOWED' : 'HTTP_ERROR',
          `GET ${shown} answered ${status}${status < 400 ? ' (redirects of credentialed requests are not followed: use the final URL as the base URL)' : ''}.`,
        );
      }
      const limit = this.opts.maxBodyBytes ?? 64 * 1024 * 1024;
      const chunks: Uint8Array[] = [];
      let size = 0;
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          size += chunk.length;
          if (size > limit) throw new ReaderError('RESPONSE_TOO_LARGE', `GET ${shown} returned more than ${limit} bytes.`);
          chunks.push(chunk);
        }
      }
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        return { res, body: text === '' ? null : JSON.parse(text) };
      } catch (err) {
        throw new ReaderError('RESPONSE_NOT_JSON', `GET ${shown} did not return JSON (${(err as Error).message}).`);
      }
    }
  }

  async discover(): Promise<TableShape[]> {
    if (this.collections) return [...this.collections.values()].map((c) => c.table);
    let doc: Json;
    if (typeof this.opts.document === 'string') {
      const parsed = parseOpenApi(this.opts.document);
      if (!parsed.ok) throw new ReaderError(parsed.code, parsed.message);
      doc = parsed.doc;
    } else doc = this.opts.document;
    if (!isObj(doc.paths)) throw new ReaderError('OPENAPI_INVALID', 'The OpenAPI document has no "paths".');
    const collections = new Map<string, Collection>();
    const taken = new Set<string>();
    for (const [path, rawItem] of Object.entries(doc.paths as Json)) {
      if (path.includes('{')) continue; // needs a path parameter: not a collection we can list
      const item = resolve(doc, rawItem);
      const op = isObj(item) ? resolve(doc, item.get) : undefined;
      if (!isObj(item) || !isObj(op)) continue;
      const schema = successSchema(doc, op);
      let itemsKey: string | undefined;
      let itemSchema: Json | undefined;
      if (schema) {
        if (isArraySchema(schema)) itemSchema = schemaOf(doc, schema.items);
        else if (isObj(schema.properties)) {
          const props = schema.properties;
          const arrays = Object.keys(props).filter((k) => isArraySchema(schemaOf(doc, props[k])));
          itemsKey = arrays.find((k) => ITEM_KEYS.includes(k)) ?? arrays[0];
          if (!itemsKey) continue; // a single object, not a collection
          itemSchema = schemaOf(doc, schemaOf(doc, props[itemsKey])!.items);
        } else continue;
      }
      const params = [...(Array.isArray(item.parameters) ? item.parameters : []), ...(Array.isArray(op.parameters) ? op.parameters : [])]
        .map((p) => resolve(doc, p))
        .filter((p): p is Json => isObj(p) && p.in === 'query' && typeof p.name === 'string');
      const query = new Set(params.map((p) => p.name as string));
      const param = (names: string[]) => params.find((p) => names.includes(p.name as string));
      const page = param(PAGE_PARAMS);
      const size = param(SIZE_PARAMS);
      const offset = param(OFFSET_PARAMS);
      const cursor = param(CURSOR_PARAMS);
      const pageSchema = page ? schemaOf(doc, page.schema) : undefined;
      const sizeSchema = size ? schemaOf(doc, size.schema) : undefined;
      const columns = columnsOf(doc, itemSchema);
      const name = tableName(path, taken);
      collections.set(name, {
        table: { name, columns, ...(columns.some((c) => c.name === 'id' && !c.nullable) ? { primaryKey: ['id'] } : {}) },
        path,
        itemsKey,
        declaredColumns: columns.length > 0,
        query,
        pageParam: page
          ? {
              name: page.name as string,
              start: typeof pageSchema?.minimum === 'number' && pageSchema.minimum === 0 ? 0 : typeof pageSchema?.default === 'number' ? pageSchema.default : 1,
            }
          : undefined,
        sizeParam: size ? { name: size.name as string, max: typeof sizeSchema?.maximum === 'number' ? sizeSchema.maximum : undefined } : undefined,
        offsetParam: offset?.name as string | undefined,
        cursorParam: cursor?.name as string | undefined,
      });
    }
    // Collections without a declared item schema: columns from their first page.
    for (const c of collections.values()) {
      if (c.declaredColumns) continue;
      const { body } = await this.get(this.firstUrl(c));
      const items = this.itemsOf(c, body) ?? [];
      const stats = new Map<string, { type: ColumnType | null; nonNull: number }>();
      for (const it of items) {
        if (!isObj(it)) continue;
        for (const [k, v] of Object.entries(it)) {
          const s = stats.get(k) ?? { type: null, nonNull: 0 };
          const t = classifyJson(v);
          if (t) {
            s.type = widen(s.type, t);
            s.nonNull++;
          }
          stats.set(k, s);
        }
      }
      c.table.columns = [...stats].map(([name, s]) => ({ name, type: s.type ?? 'text', nullable: s.nonNull < items.length }));
    }
    this.collections = collections;
    return [...collections.values()].map((c) => c.table);
  }

  private firstUrl(c: Collection): URL {
    const url = this.urlOf(c.path);
    const size = Math.min(this.opts.pageSize ?? 100, c.sizeParam?.max ?? Infinity);
    if (c.sizeParam) url.searchParams.set(c.sizeParam.name, String(size));
    if (c.pageParam) url.searchParams.set(c.pageParam.name, String(c.pageParam.start));
    else if (c.offsetParam) url.searchParams.set(c.offsetParam, '0');
    return url;
  }

  private itemsOf(c: Collection, body: unknown): unknown[] | undefined {
    if (Array.isArray(body)) return body;
    if (!isObj(body)) return undefined;
    if (c.itemsKey) return Array.isArray(body[c.itemsKey]) ? (body[c.itemsKey] as unknown[]) : undefined;
    const key = ITEM_KEYS.find((k) => Array.isArray(body[k])) ?? Object.keys(body).find((k) => Array.isArray(body[k]));
    return key ? (body[key] as unknown[]) : undefined;
  }

  async *read(table: string, options: ReadOptions = {}): AsyncGenerator<Row[]> {
    await this.discover();
    const c = this.collections!.get(table);
    if (!c) throw new ReaderError('TABLE_NOT_FOUND', `No collection "${table}" in the OpenAPI document.`);
    const batchRows = options.batchRows ?? 1000;
    const maxPages = this.opts.maxPages ?? 100_000;
    const seen = new Set<string>();
    let url: URL | undefined = this.firstUrl(c);
    let page = c.pageParam?.start ?? 0;
    let offset = 0;
    let ordinal = 0;
    let batch: Row[] = [];
    let previous = '';
    for (let pages = 0; url; pages++) {
      if (pages >= maxPages) throw new ReaderError('PAGINATION_TOO_LONG', `More than ${maxPages} pages of ${c.path}: stopping.`);
      if (seen.has(url.href))
        throw new ReaderError('PAGINATION_LOOP', `The API sent ${url.pathname}${url.search} as the next page again: the pagination loops.`);
      seen.add(url.href);
      const current: URL = url;
      const { res, body } = await this.get(current, options.signal);
      const items = this.itemsOf(c, body);
      if (!items)
        throw new ReaderError(
          'RESPONSE_SHAPE',
          `GET ${current.pathname}${current.search} returned no list of items${c.itemsKey ? ` (expected an array in "${c.itemsKey}")` : ''}.`,
        );
      // An API that clamps the page number (or ignores it) answers the same page again: that is the end.
      const fingerprint = items.length > 0 ? `${items.length}:${JSON.stringify(items[0])}:${JSON.stringify(items[items.length - 1])}` : '';
      if (fingerprint !== '' && fingerprint === previous) break;
      previous = fingerprint;
      for (const it of items) {
        ordinal++;
        const row = this.rowOf(c, it, ordinal, table);
        if (!row) continue;
        batch.push(row);
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
      // The next page.
      url = undefined;
      const link = nextLink(res.headers.get('link'));
      const next = link ?? (hasMoreFalse(body) ? undefined : bodyNext(body));
      if (next !== undefined && link === undefined && !c.cursorParam && c.pageParam && /^\d+$/.test(next)) {
        // {"next": 3}: the next page's number.
        page = Number(next);
        url = new URL(current.href);
        url.searchParams.set(c.pageParam.name, next);
      } else if (next !== undefined) {
        if (link !== undefined || /^(https?:)?\/\//i.test(next) || next.startsWith('/') || next.startsWith('?')) url = new URL(next, current);
        else {
          url = new URL(current.href);
          url.searchParams.set(c.cursorParam ?? 'cursor', next);
        }
      } else if (items.length > 0 && !hasMoreFalse(body)) {
        if (c.pageParam) {
          url = new URL(current.href);
          url.searchParams.set(c.pageParam.name, String(++page));
        } else if (c.offsetParam) {
          offset += items.length;
          url = new URL(current.href);
          url.searchParams.set(c.offsetParam, String(offset));
        }
      }
      if (seen.size > 10_000) seen.clear();
    }
    if (batch.length > 0) yield batch;
  }

  private rowOf(c: Collection, it: unknown, ordinal: number, table: string): Row | undefined {
    const raw = () => JSON.stringify(it) ?? String(it);
    if (!isObj(it)) {
      this.log.report(table, ordinal, `${Array.isArray(it) ? 'an array' : it === null ? 'null' : typeof it}, not an object`, raw());
      return undefined;
    }
    const row: Row = {};
    for (const col of c.table.columns) {
      const conv = convertJson(it[col.name], col.type);
      if (!conv.ok) {
        this.log.report(table, ordinal, `value ${JSON.stringify(it[col.name]).slice(0, 50)} of "${col.name}" is not ${col.type}`, raw());
        return undefined;
      }
      row[col.name] = conv.value;
    }
    return row;
  }
}

/** Max size of an OpenAPI document, as the connection test. */
const MAX_DOCUMENT_BYTES = 10 * 1024 * 1024;

/**
 * The OpenAPI document of a REST connection: fetched from `openApiUrl` through the network policy
 * (credentials only when it is on the API's origin) or read from the uploaded file.
 */
export async function loadOpenApiDocument(
  t: { baseUrl: string; openApiUrl?: string; openApiFileId?: string; workspaceId: string },
  headers: Record<string, string>,
  fileStorageRoot: string,
  timeoutMs = 30_000,
): Promise<string> {
  if (t.openApiUrl) {
    const url = new URL(t.openApiUrl);
    const same = url.origin === new URL(t.baseUrl).origin;
    const res = await checkedFetch(url, {
      headers: { accept: 'application/json, application/yaml;q=0.9', ...(same ? headers : {}) },
      redirect: same ? 'manual' : 'follow',
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((err: Error) => {
      const why = explainNetworkError(err, {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
      });
      throw why ? new ReaderError(why.code, why.message) : new ReaderError('OPENAPI_NOT_FOUND', `GET ${url.origin}${url.pathname} failed (${err.message}).`);
    });
    if (!res.ok) throw new ReaderError('OPENAPI_NOT_FOUND', `GET ${url.origin}${url.pathname} answered ${res.status}.`);
    const text = await res.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new ReaderError('OPENAPI_TOO_LARGE', 'The OpenAPI document is larger than 10 MB.');
    return text;
  }
  if (!t.openApiFileId) throw new ReaderError('OPENAPI_NOT_FOUND', 'The connection has no OpenAPI document: add its URL or upload it.');
  const path = storedFilePath(fileStorageRoot, t.workspaceId, t.openApiFileId);
  try {
    if ((await stat(path)).size > MAX_DOCUMENT_BYTES) throw new ReaderError('OPENAPI_TOO_LARGE', 'The uploaded OpenAPI document is larger than 10 MB.');
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ReaderError) throw err;
    throw new ReaderError(
      'FILE_NOT_FOUND',
      `The uploaded OpenAPI document is not in file storage (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
    );
  }
}
