import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@datalinx/common';
import { VIEWER_HEADER, originOf } from '@datalinx/graphql-kit';
import { createGateway, type Gateway } from '../src/app';
import { loadSupergraph } from '../src/supergraph';
import { cookieSessions } from '../src/auth/cookie';
import { makeTestKeys, type TestKeys } from '../../test/support/keys';

/**
 * The gateway's POST /files with the production authentication chain (cookie → bearer): a
 * cookie-authenticated upload needs the CSRF header exactly as /graphql does, a request without
 * credentials is refused with 401 — and in both cases nothing reaches the workspace service.
 * (Uploads end to end, with a signed-in viewer: services/workspace/test/files.test.ts.)
 */
describe('gateway POST /files authentication', () => {
  let keys: TestKeys;
  let gateway: Gateway;
  let base: string;
  let upstream: http.Server;
  let upstreamHits = 0;

  beforeAll(async () => {
    keys = await makeTestKeys();
    // Stands in for the workspace service: counts what reaches it.
    upstream = http.createServer((req, res) => {
      upstreamHits += 1;
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ viewer: Boolean(req.headers[VIEWER_HEADER]) }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/graphql`;
    const log = createLogger('files-route-test', 'silent');
    const cookies = cookieSessions({
      authUrl: 'http://127.0.0.1:9/graphql',
      verify: async () => {
        throw new Error('not reached: the CSRF check comes first');
      },
      secure: false,
      log,
    });
    gateway = await createGateway({
      supergraphSdl: loadSupergraph(),
      subgraphUrls: { workspace: upstreamUrl },
      signer: keys.signer,
      log,
      limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
      authenticate: cookies.authenticator(async () => ({ kind: 'anonymous' })),
    });
    const h = await gateway.listen(0, '127.0.0.1');
    base = originOf(h); // https:// when `npm test` passes TLS_CERT_FILE/TLS_KEY_FILE
  });

  afterAll(async () => {
    await gateway?.stop();
    await new Promise((r) => upstream?.close(r));
  });

  const post = (headers: Record<string, string>) =>
    fetch(`${base}/files?workspaceId=00000000-0000-4000-8000-000000000000&name=a.csv`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body: 'a\n1\n',
    });

  it('refuses a cookie-authenticated upload without the matching CSRF header (403), like /graphql', async () => {
    const csrf = randomBytes(32).toString('base64url');
    const session = `dlx_cs_${randomBytes(32).toString('base64url')}`;
    for (const headers of [
      { cookie: `dlx_session=${session}; dlx_csrf=${csrf}` },
      { cookie: `dlx_session=${session}; dlx_csrf=${csrf}`, 'x-dlx-csrf': randomBytes(32).toString('base64url') },
    ]) {
      const res = await post(headers);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('CSRF_TOKEN_INVALID');
    }
    expect(upstreamHits).toBe(0);
  });

  it('refuses an upload without credentials (401) and forwards nothing', async () => {
    const res = await post({});
    expect(res.status).toBe(401);
    expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    expect(upstreamHits).toBe(0);
  });
});
