import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import https from 'node:https';
import { Client } from 'pg';
import gql from 'graphql-tag';
import { allow } from 'graphql-shield';
import { createLogger } from '@datalinx/common';
import { ANONYMOUS, VIEWER_HEADER, createSubgraphServer, serverTlsFromEnv } from '@datalinx/graphql-kit';
import { natsTlsState } from '@datalinx/messaging';
import { startPlatform, type Platform } from './support/platform';
import { makeTestKeys } from './support/keys';
import { urlOf } from './support/http';

/**
 * Encryption in transit: `npm test` creates a throwaway CA and localhost certificate and passes
 * TLS_CA_FILE / TLS_CERT_FILE / TLS_KEY_FILE, exactly as `npm start` does for the platform. Every
 * subgraph must then refuse TLS 1.1 and plain HTTP, accept TLS 1.2 and 1.3 with a certificate that
 * verifies against the CA, and the services' own PostgreSQL and NATS connections must be TLS.
 * DLX_INTERNAL_TLS=off (TLS terminated by a mesh) is the one case where this file has nothing to check.
 */
const tlsOff = /^(off|false|0|no)$/i.test(process.env.DLX_INTERNAL_TLS ?? '');
const describeTls = tlsOff ? describe.skip : describe;

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which creates the test CA and certificate`);
  return v;
};

type Handshake = { ok: true; protocol: string | null; authorized: boolean; authorizationError?: Error } | { ok: false; error: string };

/** One TLS handshake with 127.0.0.1:port; resolves with its outcome (never rejects). */
function handshake(port: number, o: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(env('TLS_CA_FILE')), ...o });
    socket.once('secureConnect', () => {
      resolve({
        ok: true,
        protocol: socket.getProtocol(),
        authorized: socket.authorized,
        ...(socket.authorizationError ? { authorizationError: socket.authorizationError } : {}),
      });
      socket.end();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: `${err.code ?? ''} ${err.message}` }));
  });
}

/** What a server answers to a plain-text HTTP request (empty when it closes without an HTTP answer). */
function plainHttp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
  });
}

const portOf = (url: string) => Number(new URL(url).port);

describeTls('TLS on every hop of the control plane', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform();
  }, 120_000);
  afterAll(async () => {
    await p?.stop();
  });

  const SUBGRAPHS = ['auth', 'workspace', 'schema', 'mapping', 'monitoring'] as const;

  test.each(SUBGRAPHS)('%s: TLS 1.1 refused, TLS 1.2 and 1.3 accepted with a certificate of the platform CA, plain HTTP refused', async (name) => {
    const url = p.subgraphUrls[name]!;
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    const port = portOf(url);

    // Offered even by a client that would accept anything down to TLS 1.0 with any cipher.
    const old = await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(old.ok).toBe(false);

    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const h = await handshake(port, { minVersion: version, maxVersion: version });
      // Verified (rejectUnauthorized is node's default): the chain ends at TLS_CA_FILE and the certificate names 127.0.0.1.
      expect(h).toEqual({ ok: true, protocol: version, authorized: true });
    }

    const plain = await plainHttp(port);
    expect(plain).not.toMatch(/^HTTP\//);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    // The same server over https answers (so the refusals above are about TLS, not a dead port).
    const ok = await fetch(`https://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
  });

  test("a certificate not signed by the platform CA is refused by the platform's clients", async () => {
    const port = portOf(p.subgraphUrls.auth!);
    const h = await handshake(port, { ca: tls.rootCertificates.join('\n') });
    expect(h.ok).toBe(false);
  });

  test('the gateway serves TLS 1.2+ with HSTS and reaches every subgraph over https', async () => {
    expect(p.gatewayUrl).toMatch(/^https:\/\//);
    const port = portOf(p.gatewayUrl);
    expect((await handshake(port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).ok).toBe(false);
    expect(await plainHttp(port)).not.toMatch(/^HTTP\//);
    const res = await fetch(new URL('/readyz', p.gatewayUrl));
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
    // /readyz asks each subgraph over its https URL: all ready means all five TLS hops work.
    const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
    for (const name of SUBGRAPHS) expect(body.checks[name]).toEqual({ ok: true });
  });

  test("the services' own PostgreSQL connections are TLS (pg_stat_ssl), and the server refuses a plain one", async () => {
    const url = env('DATABASE_URL');
    if (!/sslmode=verify-full/.test(url)) {
      // A DATABASE_URL given to `npm test` is used as it is: nothing to assert about a server we did not start.
      console.warn(`DATABASE_URL has no sslmode=verify-full: the PostgreSQL TLS check needs the PostgreSQL that \`npm test\` starts`);
      return;
    }
    for (const ds of Object.values(p.app)) {
      const [row] = await ds.query(`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`);
      expect(row.ssl).toBe(true);
      expect(['TLSv1.2', 'TLSv1.3']).toContain(row.version);
    }
    const plainUrl = new URL(p.appUrl);
    plainUrl.search = '';
    const plain = new Client({ connectionString: plainUrl.toString(), ssl: false });
    await expect(plain.connect()).rejects.toThrow(/no encryption|pg_hba/);
    await plain.end().catch(() => undefined);
  });

  test("the services' NATS connection is TLS", async () => {
    if (!/^tls:\/\//.test(env('NATS_URL'))) {
      console.warn('NATS_URL is not a tls:// URL: the NATS TLS check needs the nats-server that `npm test` starts');
      return;
    }
    const state = natsTlsState(p.nats.nc);
    expect(state.tls).toBe(true);
    expect(['TLSv1.2', 'TLSv1.3']).toContain(state.protocol);
    expect(p.nats.nc.info?.tls_required).toBe(true);
  });
});

describeTls('mutual TLS on a subgraph (TLS_REQUIRE_CLIENT_CERT=true)', () => {
  test('a client without a certificate is refused in the handshake, before any GraphQL runs; one with a certificate of the CA gets through', async () => {
    const keys = await makeTestKeys();
    let resolved = 0;
    const server = await createSubgraphServer({
      name: 'mtls-probe',
      // An entity, as every subgraph has (shield guards Query._entities).
      typeDefs: gql`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Probe @key(fields: "id") {
          id: ID!
        }
        type Query {
          ping: String
        }
      `,
      resolvers: {
        Query: {
          ping: () => {
            resolved += 1;
            return 'pong';
          },
        },
      },
      permissions: { Query: { ping: allow } },
      verifier: keys.verifier,
      log: createLogger('mtls-probe', 'silent'),
      readiness: {},
      buildContext: (base) => base,
      tls: serverTlsFromEnv({ ...process.env, TLS_REQUIRE_CLIENT_CERT: 'true' }),
    });
    const h = await server.listen(0, '127.0.0.1');
    try {
      const port = portOf(urlOf(h));
      const ca = fs.readFileSync(env('TLS_CA_FILE'));
      const assertion = await keys.signer.sign(ANONYMOUS, 'req-mtls-1');
      const body = JSON.stringify({ query: '{ ping }' });
      const post = (extra: https.RequestOptions) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = https.request(
            {
              host: '127.0.0.1',
              port,
              path: '/graphql',
              method: 'POST',
              ca,
              headers: { 'content-type': 'application/json', [VIEWER_HEADER]: assertion },
              agent: false,
              ...extra,
            },
            (res) => {
              let text = '';
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });

      // TLS 1.2: the server's refusal ends the handshake itself.
      const noCert12 = await handshake(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
      expect(noCert12.ok).toBe(false);
      // TLS 1.3 (the client may finish its side first): the request never gets an HTTP answer.
      await expect(post({})).rejects.toThrow(/certificate|alert|socket hang up|ECONNRESET/i);
      expect(resolved).toBe(0);

      const withCert = await post({ cert: fs.readFileSync(env('TLS_CERT_FILE')), key: fs.readFileSync(env('TLS_KEY_FILE')) });
      expect(withCert.status).toBe(200);
      expect(JSON.parse(withCert.text)).toEqual({ data: { ping: 'pong' } });
      expect(resolved).toBe(1);
    } finally {
      await server.stop();
    }
  });
});
