/**
 * The reader layer against real inputs: files written to a temporary directory and a real local
 * HTTP server serving an OpenAPI-described API (no mocks).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CsvReader } from '../src/readers/csv';
import { JsonReader } from '../src/readers/json';
import { loadOpenApiDocument, nextLink, RestReader, retryAfterMs } from '../src/readers/rest';
import { MalformedInputError, ReaderError, type Row, type SourceReader, type TableShape } from '../src/readers/types';
import { customersDoc, customersPage } from './support/rest-api';
import { NetworkPolicy } from '@datalinx/common';
import { setNetworkPolicy } from '../src/connectors/net';
import { LOOPBACK_ALLOWED } from './support/worker-process';

// The readers run in this process: its network policy allows loopback, where the test APIs listen (as test workers do).
beforeAll(() => setNetworkPolicy(new NetworkPolicy({ allowedNetworks: LOOPBACK_ALLOWED.split(',') })));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'dlx-readers-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

async function readAll(reader: SourceReader, table: string, batchRows = 1000): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const batch of reader.read(table, { batchRows })) {
    expect(batch.length).toBeLessThanOrEqual(batchRows);
    rows.push(...batch);
  }
  return rows;
}

const cols = (t: TableShape) => Object.fromEntries(t.columns.map((c) => [c.name, `${c.type}${c.nullable ? '?' : ''}`]));

describe('CSV reader', () => {
  it('reads a UTF-8 file with a BOM, semicolons, quoted newlines and a header, inferring types', async () => {
    const file = write(
      'bom.csv',
      '\uFEFFid;name;amount;active;joined;seen_at;big;note;zip\r\n' +
        '1;"Müller; Anna";12.50;true;2024-01-31;2024-01-31T10:00:00Z;9007199254740993;"line1\nline2";01234\r\n' +
        '2;Bob;7;false;2024-02-29;2024-02-29 08:30:00;5;;99999\r\n' +
        '3;"Zoë ""Z""";;TRUE;2024-03-01;2024-03-01T00:00:00+02:00;-12;plain;10115\r\n',
    );
    const reader = new CsvReader({ path: file, table: 'people' });
    const [shape] = await reader.discover();
    expect(reader.detected).toMatchObject({ encoding: 'utf-8', bomBytes: 3, delimiter: ';', quote: '"', header: true });
    expect(cols(shape)).toEqual({
      id: 'integer',
      name: 'text',
      amount: 'numeric?',
      active: 'boolean',
      joined: 'date',
      seen_at: 'timestamptz',
      big: 'bigint',
      note: 'text?',
      zip: 'text',
    });
    const rows = await readAll(reader, 'people', 2);
    expect(rows).toEqual([
      {
        id: 1,
        name: 'Müller; Anna',
        amount: '12.50',
        active: true,
        joined: '2024-01-31',
        seen_at: '2024-01-31T10:00:00Z',
        big: '9007199254740993',
        note: 'line1\nline2',
        zip: '01234',
      },
      { id: 2, name: 'Bob', amount: '7', active: false, joined: '2024-02-29', seen_at: '2024-02-29T08:30:00Z', big: '5', note: null, zip: '99999' },
      {
        id: 3,
        name: 'Zoë "Z"',
        amount: null,
        active: true,
        joined: '2024-03-01',
        seen_at: '2024-03-01T00:00:00+02:00',
        big: '-12',
        note: 'plain',
        zip: '10115',
      },
    ]);
    expect(reader.problems).toEqual([]);
  });

  it('detects a file without a header and names its columns', async () => {
    const file = write('noheader.csv', '1|2024-01-01|x\n2|2024-01-02|y\n');
    const reader = new CsvReader({ path: file, table: 't' });
    const [shape] = await reader.discover();
    expect(reader.detected).toMatchObject({ delimiter: '|', header: false });
    expect(cols(shape)).toEqual({ column_1: 'integer', column_2: 'date', column_3: 'text' });
    expect(await readAll(reader, 't')).toEqual([
      { column_1: 1, column_2: '2024-01-01', column_3: 'x' },
      { column_1: 2, column_2: '2024-01-02', column_3: 'y' },
    ]);
  });

  // Line 7 has one field too many; line 12 opens a quote that is never closed.
  const MALFORMED = [
    'id,name,qty', // 1
    '1,a,1',
    '2,b,2',
    '3,c,3',
    '4,"d, with comma",4', // 5
    '5,e,5',
    '6,f,6,extra', // 7
    '7,g,7',
    '8,h,8',
    '9,i,9', // 10
    '10,j,10',
    '11,"k,11', // 12
    '12,l,12',
    '13,m,13',
    '14,n,14', // 15
  ].join('\n');
  const DATA_ROWS = 14;

  it('reads the good rows of a malformed CSV and reports each bad line with its number', async () => {
    const reader = new CsvReader({ path: write('bad.csv', `${MALFORMED}\n`), table: 'bad', onMalformed: 'SKIP_AND_REPORT' });
    const rows = await readAll(reader, 'bad', 4);
    expect(rows.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14]);
    expect(rows[3]).toEqual({ id: 4, name: 'd, with comma', qty: 4 });
    expect(reader.problems.map((p) => [p.line, p.raw])).toEqual([
      [7, '6,f,6,extra'],
      [12, '11,"k,11'],
    ]);
    expect(reader.problems[0].reason).toMatch(/4 field\(s\) where the header has 3/);
    expect(reader.problems[1].reason).toMatch(/never closed/);
    expect(rows.length + reader.problemCount).toBe(DATA_ROWS);
  });

  it('recovers from an open quote that a later line closes: the bad line is reported, the lines after it are read', async () => {
    const text = ['id,name,qty', '1,a,1', '2,"b,2', '3,c,3', '4,"d",4', '5,e,5'].join('\n');
    const reader = new CsvReader({ path: write('bad2.csv', text), table: 'bad2' });
    const rows = await readAll(reader, 'bad2');
    expect(rows.map((r) => r.id)).toEqual([1, 3, 4, 5]);
    expect(reader.problems.map((p) => p.line)).toEqual([3]);
    expect(rows.length + reader.problemCount).toBe(5);
  });

  it('fails a FAIL-mode read with a typed error naming the first bad line', async () => {
    const reader = new CsvReader({ path: write('bad-fail.csv', MALFORMED), table: 'bad', onMalformed: 'FAIL' });
    const seen: Row[] = [];
    const err = await (async () => {
      for await (const b of reader.read('bad')) seen.push(...b);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedInputError);
    expect(err).toMatchObject({ code: 'CSV_MALFORMED', table: 'bad', line: 7, raw: '6,f,6,extra' });
    expect((err as Error).message).toMatch(/line 7/);
    expect(seen.length).toBeLessThan(6);
  });

  it('reads a Latin-1 file (not valid UTF-8) with the right characters', async () => {
    const file = write('latin1.csv', Buffer.from('name,city,amount\nJosé,Zürich,1.5\nFrançoise,Besançon,2\n', 'latin1'));
    const reader = new CsvReader({ path: file, table: 'l' });
    await reader.discover();
    expect(reader.detected?.encoding).toBe('latin1');
    expect(await readAll(reader, 'l')).toEqual([
      { name: 'José', city: 'Zürich', amount: '1.5' },
      { name: 'Françoise', city: 'Besançon', amount: '2' },
    ]);
  });

  it('streams a large file in bounded batches, with line numbers right to the end', async () => {
    const lines = ['n,label'];
    for (let i = 1; i <= 20000; i++) lines.push(i === 15000 ? `${i},"broken` : `${i},"label ${i}"`);
    lines.push('20001,last');
    const reader = new CsvReader({ path: write('big.csv', lines.join('\r\n')), table: 'big' });
    const rows = await readAll(reader, 'big', 500);
    expect(rows.length).toBe(20000);
    expect(rows[rows.length - 1]).toEqual({ n: 20001, label: 'last' });
    expect(reader.problems.map((p) => p.line)).toEqual([15001]);
  });
});

describe('CSV reader: other encodings and aborting', () => {
  it('reads UTF-16LE (BOM) with tab delimiters and reports a bad line by its number', async () => {
    const text = 'code\tlabel\r\nA1\tÄpfel\r\nB2\tBirnen\textra\r\nC3\t"Kirschen\r\nund mehr"\r\nD4\tDatteln\r\n';
    const reader = new CsvReader({ path: write('utf16.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])), table: 'u' });
    const rows = await readAll(reader, 'u');
    expect(reader.detected).toMatchObject({ encoding: 'utf-16le', delimiter: '\t', header: true });
    expect(rows).toEqual([
      { code: 'A1', label: 'Äpfel' },
      { code: 'C3', label: 'Kirschen\r\nund mehr' },
      { code: 'D4', label: 'Datteln' },
    ]);
    expect(reader.problems.map((p) => [p.line, p.raw])).toEqual([[3, 'B2\tBirnen\textra']]);
  });

  it('stops when its signal is aborted', async () => {
    const lines = ['n'];
    for (let i = 0; i < 50000; i++) lines.push(String(i));
    const reader = new CsvReader({ path: write('abort.csv', lines.join('\n')), table: 'a' });
    const ac = new AbortController();
    let batches = 0;
    const err = await (async () => {
      for await (const _b of reader.read('a', { batchRows: 100, signal: ac.signal })) {
        if (++batches === 3) ac.abort(new Error('stop here'));
      }
    })().catch((e: Error) => e);
    expect(err).toEqual(new Error('stop here'));
    expect(batches).toBeLessThan(50);
  });
});

describe('JSON reader', () => {
  it('streams a JSON array larger than one chunk, with line numbers across chunks', async () => {
    const records: string[] = [];
    for (let i = 1; i <= 3000; i++)
      records.push(i === 2500 ? '{"id": 2500, "name": "oops" "x"}' : JSON.stringify({ id: i, name: `record ${i} ${'x'.repeat(40)}`, tags: [i % 7] }));
    const reader = new JsonReader({ path: write('big.json', `{"meta": {"n": 3000}, "records": [\n${records.join(',\n')}\n]}`), table: 'big', format: 'JSON' });
    const rows = await readAll(reader, 'big', 256);
    expect(rows.length).toBe(2999);
    expect(rows[2998]).toMatchObject({ id: 3000 });
    expect(reader.problems.map((p) => p.line)).toEqual([2501]);
    expect(await readAll(reader, 'big__tags')).toHaveLength(2999);
  });

  it('flattens nested objects into columns and arrays into child tables keyed by the parent id', async () => {
    const doc = {
      data: [
        {
          id: 10,
          name: 'A',
          address: { city: 'X', geo: { lat: 1.5 } },
          tags: ['a', 'b'],
          lines: [
            { sku: 's1', qty: 2 },
            { sku: 's2', qty: 1, opts: [{ k: 'x' }] },
          ],
        },
        { id: 11, name: 'B', address: null, tags: [], lines: [{ sku: 's3', qty: 5 }], placed: '2024-05-01T10:00:00Z' },
      ],
    };
    const reader = new JsonReader({ path: write('orders.json', JSON.stringify(doc, null, 2)), table: 'orders', format: 'JSON' });
    const shapes = await reader.discover();
    expect(shapes.map((s) => s.name)).toEqual(['orders', 'orders__tags', 'orders__lines', 'orders__lines__opts']);
    const [orders, tags, lines, opts] = shapes;
    expect(cols(orders)).toEqual({ id: 'integer', name: 'text', address__city: 'text?', address__geo__lat: 'numeric?', placed: 'timestamptz?' });
    expect(orders.primaryKey).toEqual(['id']);
    expect(tags.parent).toEqual({ table: 'orders', parentKey: 'id', column: '_dlx_parent_id' });
    expect(cols(tags)).toEqual({ _dlx_parent_id: 'integer', _dlx_index: 'integer', value: 'text' });
    expect(cols(lines)).toEqual({ _dlx_parent_id: 'integer', _dlx_index: 'integer', _dlx_id: 'text', sku: 'text', qty: 'integer' });
    expect(opts.parent).toEqual({ table: 'orders__lines', parentKey: '_dlx_id', column: '_dlx_parent_id' });

    expect(await readAll(reader, 'orders')).toEqual([
      { id: 10, name: 'A', address__city: 'X', address__geo__lat: '1.5', placed: null },
      { id: 11, name: 'B', address__city: null, address__geo__lat: null, placed: '2024-05-01T10:00:00Z' },
    ]);
    expect(await readAll(reader, 'orders__tags')).toEqual([
      { _dlx_parent_id: 10, _dlx_index: 0, value: 'a' },
      { _dlx_parent_id: 10, _dlx_index: 1, value: 'b' },
    ]);
    expect(await readAll(reader, 'orders__lines')).toEqual([
      { _dlx_parent_id: 10, _dlx_index: 0, _dlx_id: '10.0', sku: 's1', qty: 2 },
      { _dlx_parent_id: 10, _dlx_index: 1, _dlx_id: '10.1', sku: 's2', qty: 1 },
      { _dlx_parent_id: 11, _dlx_index: 0, _dlx_id: '11.0', sku: 's3', qty: 5 },
    ]);
    expect(await readAll(reader, 'orders__lines__opts')).toEqual([{ _dlx_parent_id: '10.1', _dlx_index: 0, k: 'x' }]);
  });

  it('keys child rows by the record ordinal when there is no unique id, and reports a bad element with its line', async () => {
    const text = '[\n  {"id": 1, "xs": [1, 2]},\n  {"id": 1, "xs": [3],},\n  {"id": 1, "xs": [4]}\n]\n';
    const reader = new JsonReader({ path: write('noid.json', text), table: 'r', format: 'JSON' });
    const [r] = await reader.discover();
    expect(cols(r)).toEqual({ _dlx_ordinal: 'bigint', id: 'integer' });
    expect(await readAll(reader, 'r')).toEqual([
      { _dlx_ordinal: '1', id: 1 },
      { _dlx_ordinal: '3', id: 1 },
    ]);
    expect(reader.problems).toEqual([{ table: 'r', line: 3, reason: expect.stringMatching(/not valid JSON/), raw: '{"id": 1, "xs": [3],}' }]);
    expect(await readAll(reader, 'r__xs')).toEqual([
      { _dlx_parent_id: '1', _dlx_index: 0, value: 1 },
      { _dlx_parent_id: '1', _dlx_index: 1, value: 2 },
      { _dlx_parent_id: '3', _dlx_index: 0, value: 4 },
    ]);
  });

  it('reads JSON Lines, reporting bad lines by number (and FAIL mode stops on the first)', async () => {
    const text = '{"id": 1, "v": "a"}\n{"id": 2, "v": }\n\n[1, 2]\n{"id": 5, "v": "e", "meta": {"ok": true}}\n';
    const path_ = write('events.jsonl', text);
    const reader = new JsonReader({ path: path_, table: 'events', format: 'JSONL' });
    const rows = await readAll(reader, 'events');
    expect(rows).toEqual([
      { id: 1, v: 'a', meta__ok: null },
      { id: 5, v: 'e', meta__ok: true },
    ]);
    expect(reader.problems.map((p) => [p.line, p.raw])).toEqual([
      [2, '{"id": 2, "v": }'],
      [4, '[1, 2]'],
    ]);
    expect(reader.problems[1].reason).toMatch(/an array, not a JSON object/);
    const strict = new JsonReader({ path: path_, table: 'events', format: 'JSONL', onMalformed: 'FAIL' });
    await expect(readAll(strict, 'events')).rejects.toMatchObject({ name: 'MalformedInputError', code: 'JSONL_MALFORMED', line: 2 });
  });

  it('fails cleanly on a JSON document whose structure is broken', async () => {
    const reader = new JsonReader({ path: write('broken.json', '[{"a": 1}, {"a": [2}]'), table: 'b', format: 'JSON' });
    await expect(reader.discover()).rejects.toMatchObject({ code: 'JSON_MALFORMED', line: 1 });
    const shape = new JsonReader({ path: write('scalar.json', '{"a": 1}'), table: 'b', format: 'JSON' });
    await expect(shape.discover()).rejects.toMatchObject({ code: 'JSON_SHAPE' });
  });
});

// ------------------------------------------------------------------ REST

const TOKEN = 'secret-token-123';

/** The shop API of customersDoc (GET /customers paged by page and per_page), plus a cursor-paged, a Link-paged and a non-list path. */
const shop = customersDoc({
  id: { type: 'integer', format: 'int32' },
  name: { type: 'string' },
  balance: { type: 'number' },
  vip: { type: 'boolean' },
  since: { type: 'string', format: 'date' },
});
const openApi = {
  ...shop,
  paths: {
    ...shop.paths,
    '/customers/{id}': {
      get: {
        parameters: [{ name: 'id', in: 'path', required: true }],
        responses: { '200': { description: 'one', content: { 'application/json': { schema: { $ref: '#/components/schemas/Customer' } } } } },
      },
    },
    '/orders': {
      get: {
        parameters: [{ $ref: '#/components/parameters/Cursor' }, { name: 'limit', in: 'query', schema: { type: 'integer' } }],
        responses: { '200': { $ref: '#/components/responses/OrderPage' } },
      },
    },
    '/events': {
      get: {
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer' } }],
        responses: {
          '200': {
            description: 'events',
            headers: { Link: { schema: { type: 'string' } } },
            content: {
              'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Event' } } } } },
            },
          },
        },
      },
    },
    '/status': {
      get: {
        responses: {
          '200': { description: 'not a list', content: { 'application/json': { schema: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
        },
      },
    },
  },
  components: {
    parameters: { Cursor: { name: 'cursor', in: 'query', schema: { type: 'string' } } },
    responses: {
      OrderPage: {
        description: 'a page of orders',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: { data: { type: 'array', items: { $ref: '#/components/schemas/Order' } }, next_cursor: { type: 'string', nullable: true } },
            },
          },
        },
      },
    },
    schemas: {
      ...shop.components.schemas,
      Order: {
        allOf: [
          { $ref: '#/components/schemas/Base' },
          {
            type: 'object',
            properties: { total: { type: 'number' }, placed_at: { type: 'string', format: 'date-time' }, items: { type: 'array', items: { type: 'object' } } },
          },
        ],
      },
      Base: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
      Event: { type: 'object', required: ['id'], properties: { id: { type: 'string' }, kind: { type: 'string' } } },
    },
  },
};

interface Api {
  url: string;
  requests: { path: string; auth: string | undefined; status: number }[];
  close: () => Promise<void>;
}

function startApi(opts: { offOriginNext?: string } = {}): Promise<Api> {
  const customers = Array.from({ length: 23 }, (_, i) => ({
    id: i + 1,
    name: `c${i + 1}`,
    balance: i + 0.25,
    vip: i % 2 === 0,
    since: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
  }));
  const orders = Array.from({ length: 25 }, (_, i) => ({
    id: 100 + i,
    total: `${i}.50`,
    placed_at: `2024-06-01T00:00:${String(i).padStart(2, '0')}Z`,
    items: [{ sku: `s${i}` }],
  }));
  const events = Array.from({ length: 17 }, (_, i) => ({ id: `e${i}`, kind: i % 3 === 0 ? 'click' : 'view' }));
  const requests: Api['requests'] = [];
  let rateLimited = false;
  let failed = false;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ path: `${u.pathname}${u.search}`, auth: req.headers.authorization, status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/api/openapi.json') return json(200, openApi);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: 'unauthorized' });
    if (u.pathname === '/api/customers') return json(200, customersPage(customers, u));
    if (u.pathname === '/api/orders') {
      const start = Number((u.searchParams.get('cursor') ?? 'o0').slice(1));
      const limit = Number(u.searchParams.get('limit') ?? 10);
      // The second page is rate limited once.
      if (start > 0 && !rateLimited) {
        rateLimited = true;
        return json(429, { error: 'slow down' }, { 'retry-after': '1' });
      }
      const next = start + limit < orders.length ? `o${start + limit}` : null;
      return json(200, { data: orders.slice(start, start + limit), next_cursor: next });
    }
    if (u.pathname === '/api/events') {
      const token = u.searchParams.get('page_token') ?? 't0';
      const start = Number(token.slice(1));
      if (start === 12 && !failed) {
        failed = true;
        return json(503, { error: 'try again' });
      }
      const limit = Number(u.searchParams.get('limit') ?? 10);
      const headers: Record<string, string> = {};
      if (start + 6 < events.length)
        headers.link = `<${opts.offOriginNext && start === 6 ? opts.offOriginNext : ''}/api/events?limit=${limit}&page_token=t${start + 6}>; rel="next", </api/events?page_token=t0>; rel="first"`;
      return json(200, { items: events.slice(start, start + 6) }, headers);
    }
    return json(404, { error: 'not found' });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve({ url, requests, close: () => new Promise((r) => server.close(() => r())) });
    }),
  );
}

describe('REST reader', () => {
  it('discovers the collections of the OpenAPI document and reads each, whatever its pagination, exactly once and in order', async () => {
    const api = await startApi();
    try {
      const document = await loadOpenApiDocument(
        { baseUrl: `${api.url}/api`, openApiUrl: `${api.url}/api/openapi.json`, workspaceId: 'w' },
        { authorization: `Bearer ${TOKEN}` },
        dir,
      );
      const reader = new RestReader({ baseUrl: `${api.url}/api`, auth: 'BEARER', secrets: { token: TOKEN }, document, pageSize: 10, backoffMs: 50 });
      const shapes = await reader.discover();
      expect(shapes.map((s) => s.name)).toEqual(['customers', 'orders', 'events']);
      expect(cols(shapes[0])).toEqual({ id: 'integer', name: 'text', balance: 'numeric?', vip: 'boolean?', since: 'date?' });
      expect(shapes[0].primaryKey).toEqual(['id']);
      expect(cols(shapes[1])).toEqual({ id: 'bigint', total: 'numeric?', placed_at: 'timestamptz?', items: 'jsonb?' });

      const customers = await readAll(reader, 'customers', 7);
      expect(customers.map((c) => c.id)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
      expect(customers[0]).toEqual({ id: 1, name: 'c1', balance: '0.25', vip: true, since: '2024-01-01' });
      // per_page capped by the declared maximum (10): pages 1, 2, 3 and the empty page 4.
      expect(api.requests.filter((r) => r.path.startsWith('/api/customers')).map((r) => r.path)).toEqual(
        [1, 2, 3, 4].map((p) => `/api/customers?per_page=10&page=${p}`),
      );

      const t0 = Date.now();
      const orders = await readAll(reader, 'orders');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950); // Retry-After: 1 waited out
      expect(orders.map((o) => o.id)).toEqual(Array.from({ length: 25 }, (_, i) => String(100 + i)));
      expect(orders[3]).toEqual({ id: '103', total: '3.50', placed_at: '2024-06-01T00:00:03Z', items: [{ sku: 's3' }] });
      expect(api.requests.filter((r) => r.path.startsWith('/api/orders')).map((r) => `${r.status} ${r.path}`)).toEqual([
        '200 /api/orders?limit=10',
        '429 /api/orders?limit=10&cursor=o10',
        '200 /api/orders?limit=10&cursor=o10',
        '200 /api/orders?limit=10&cursor=o20',
      ]);

      const events = await readAll(reader, 'events');
      expect(events.map((e) => e.id)).toEqual(Array.from({ length: 17 }, (_, i) => `e${i}`));
      expect(api.requests.filter((r) => r.path.startsWith('/api/events')).map((r) => `${r.status} ${r.path}`)).toEqual([
        '200 /api/events?limit=10',
        '200 /api/events?limit=10&page_token=t6',
        '503 /api/events?limit=10&page_token=t12',
        '200 /api/events?limit=10&page_token=t12',
      ]);
      // Every API request carried the token (only the public document was fetched without it... and with it: same origin).
      expect(api.requests.every((r) => r.auth === `Bearer ${TOKEN}`)).toBe(true);
      expect(reader.problems).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('REST reader: safety and the other pagination styles', () => {
  it('parses Link headers and Retry-After values', () => {
    expect(nextLink('<https://a.test/x?page=1>; rel="first", <https://a.test/x?page=3>; rel="next", <https://a.test/x?page=9>; rel="last"')).toBe(
      'https://a.test/x?page=3',
    );
    expect(nextLink('</items?after=abc>; rel="prev next"')).toBe('/items?after=abc');
    expect(nextLink('<https://a.test/x?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
    expect(retryAfterMs('3', 0)).toBe(3000);
    const inTenSeconds = retryAfterMs(new Date(Date.now() + 10_000).toUTCString(), 0);
    expect(inTenSeconds).toBeGreaterThan(8000);
    expect(inTenSeconds).toBeLessThanOrEqual(10_000);
    expect(retryAfterMs('not a date', 1234)).toBe(1234);
  });

  it('never sends credentials to another origin: a next link elsewhere stops the read', async () => {
    const elsewhere: string[] = [];
    const other = http.createServer((req, res) => {
      elsewhere.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.end('{"items": []}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const api = await startApi({ offOriginNext: `http://127.0.0.1:${(other.address() as AddressInfo).port}` });
    try {
      const reader = new RestReader({ baseUrl: `${api.url}/api`, auth: 'BEARER', secrets: { token: TOKEN }, document: JSON.stringify(openApi), backoffMs: 10 });
      await expect(readAll(reader, 'events')).rejects.toMatchObject({ code: 'PAGINATION_OFF_ORIGIN' });
      expect(elsewhere).toEqual([]);
      const wrong = new RestReader({ baseUrl: `${api.url}/api`, auth: 'BEARER', secrets: { token: 'nope' }, document: JSON.stringify(openApi) });
      const err = await readAll(wrong, 'customers').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReaderError);
      expect(err).toMatchObject({ code: 'WRONG_CREDENTIALS' });
      await expect(
        new RestReader({ baseUrl: api.url, auth: 'BASIC', username: 'u', secrets: {}, document: JSON.stringify(openApi) }).read('customers').next(),
      ).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' });
      await expect(
        new RestReader({ baseUrl: api.url, auth: 'API_KEY', secrets: {}, document: JSON.stringify(openApi) }).read('customers').next(),
      ).rejects.toMatchObject({ code: 'MISSING_CREDENTIALS' });
    } finally {
      await api.close();
      await new Promise((r) => other.close(r));
    }
  });

  it('pages by offset with an API key from a YAML document, waits out a Retry-After date, and reports records that do not fit', async () => {
    const yaml = [
      'openapi: 3.1.0',
      'info: { title: Items, version: "1" }',
      'paths:',
      '  /items:',
      '    get:',
      '      parameters:',
      '        - { name: offset, in: query, schema: { type: integer } }',
      '        - { name: limit, in: query, schema: { type: integer } }',
      '      responses:',
      '        "200":',
      '          description: ok',
      '          content:',
      '            application/json:',
      '              schema:',
      '                type: object',
      '                properties:',
      '                  results: { type: array, items: { $ref: "#/components/schemas/Item" } }',
      '                  has_more: { type: boolean }',
      'components:',
      '  schemas:',
      '    Item:',
      '      type: object',
      '      required: [id]',
      '      properties:',
      '        id: { type: integer }',
      '        price: { type: [number, "null"] }',
    ].join('\n');
    const items = Array.from({ length: 12 }, (_, i) => ({ id: i + 1, price: i === 6 ? 'free' : i * 2 }));
    const seen: string[] = [];
    let limited = false;
    const server = http.createServer((req, res) => {
      const u = new URL(req.url!, 'http://x');
      seen.push(`${req.headers['x-shop-key'] === 'k-1' ? 'key' : 'nokey'} ${u.search}`);
      if (req.headers['x-shop-key'] !== 'k-1') return res.writeHead(403).end();
      const offset = Number(u.searchParams.get('offset'));
      if (offset === 5 && !limited) {
        limited = true;
        return res.writeHead(429, { 'retry-after': new Date(Date.now() + 1000).toUTCString() }).end();
      }
      const limit = Number(u.searchParams.get('limit'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: items.slice(offset, offset + limit), has_more: offset + limit < items.length }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const reader = new RestReader({ baseUrl: base, auth: 'API_KEY', apiKeyHeader: 'X-Shop-Key', secrets: { apiKey: 'k-1' }, document: yaml, pageSize: 5 });
      const [shape] = await reader.discover();
      expect(cols(shape)).toEqual({ id: 'bigint', price: 'numeric?' });
      const rows = await readAll(reader, 'items');
      expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5', '6', '8', '9', '10', '11', '12']);
      expect(reader.problems).toEqual([{ table: 'items', line: 7, reason: 'value "free" of "price" is not numeric', raw: '{"id":7,"price":"free"}' }]);
      expect(rows.length + reader.problemCount).toBe(items.length);
      expect(seen).toEqual(['key ?limit=5&offset=0', 'key ?limit=5&offset=5', 'key ?limit=5&offset=5', 'key ?limit=5&offset=10']);
      const strict = new RestReader({
        baseUrl: base,
        auth: 'API_KEY',
        apiKeyHeader: 'X-Shop-Key',
        secrets: { apiKey: 'k-1' },
        document: yaml,
        pageSize: 5,
        onMalformed: 'FAIL',
      });
      await expect(readAll(strict, 'items')).rejects.toMatchObject({ name: 'MalformedInputError', code: 'REST_RECORD_INVALID', line: 7 });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('REST reader: clamped pages', () => {
  it('stops page-number pagination when the API answers the same (clamped) page again', async () => {
    const doc = {
      openapi: '3.0.0',
      paths: {
        '/things': {
          get: {
            parameters: [{ name: 'page', in: 'query' }],
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' } } } } } },
              },
            },
          },
        },
      },
    };
    const pages: string[] = [];
    const server = http.createServer((req, res) => {
      const page = Math.min(Number(new URL(req.url!, 'http://x').searchParams.get('page')), 2); // page 3 answers page 2
      pages.push(String(page));
      res.end(JSON.stringify(page === 1 ? [{ n: 1 }, { n: 2 }] : [{ n: 3 }]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const reader = new RestReader({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth: 'NONE', document: doc });
      expect((await readAll(reader, 'things')).map((r) => r.n)).toEqual(['1', '2', '3']); // integer without a format: bigint
      expect(pages).toEqual(['1', '2', '2']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
