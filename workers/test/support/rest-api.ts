import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local API on 127.0.0.1 (a free port): `doc` at /api/openapi.json, `route` answering every other
 * request as JSON (200; 404 with `{}` when it returns undefined). Returns the REST_API connection
 * config for it (no auth, the OpenAPI document at its URL) and `close`, for a `finally`.
 */
export async function serveApi(doc: object, route: (u: URL) => unknown): Promise<{ config: object; close: () => Promise<unknown> }> {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    res.setHeader('content-type', 'application/json');
    const body = u.pathname === '/api/openapi.json' ? doc : route(u);
    if (body === undefined) res.statusCode = 404;
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  return { config: { type: 'REST_API', baseUrl: base, auth: 'NONE', openApiUrl: `${base}/openapi.json` }, close: () => new Promise((r) => server.close(r)) };
}

/**
 * The OpenAPI document of a shop API with one collection, GET /customers, paged by `page` (from 1)
 * and `per_page` (at most 10), answering an array of `Customer`s: objects with `properties`, of
 * which id and name are required. Serve the pages with `customersPage`.
 */
export function customersDoc(properties: Record<string, object>) {
  return {
    openapi: '3.0.3',
    info: { title: 'shop', version: '1' },
    paths: {
      '/customers': {
        get: {
          parameters: [
            { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 } },
            { name: 'per_page', in: 'query', schema: { type: 'integer', maximum: 10 } },
          ],
          responses: {
            '200': { description: 'ok', content: { 'application/json': { schema: { type: 'array', items: { $ref: '#/components/schemas/Customer' } } } } },
          },
        },
      },
    },
    components: { schemas: { Customer: { type: 'object', required: ['id', 'name'], properties } } },
  };
}

/** The page of `customers` a GET /customers request asks for, paged as customersDoc says (5 a page unless per_page asks for up to 10). */
export function customersPage<T>(customers: T[], u: URL): T[] {
  const page = Number(u.searchParams.get('page') ?? 1);
  const per = Math.min(Number(u.searchParams.get('per_page') ?? 5), 10);
  return customers.slice((page - 1) * per, page * per);
}
