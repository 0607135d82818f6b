import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import { DestinationNotAllowedError, NetworkPolicy, type HostResolver } from '@datalinx/common';
import { connectPostgres, explainPgError } from '../src/connectors/postgres';
import { explainMysqlError, mysqlConnectionOptions } from '../src/connectors/mysql';
import { explainFetchError } from '../src/connectors/rest';
import { checkedFetch } from '../src/connectors/http';
import { MYSQL, mysqlReachable, postgresSource, postgresSourceSecrets } from './support/sources';

/**
 * The worker's connectors against the network policy, in process with an injected resolver: a
 * host name is resolved once, the driver connects to the address that was checked (a second DNS
 * answer cannot swap in another), TLS keeps the name, and a refused destination fails before any
 * packet — for node-postgres, mysql2 and the REST client (redirects included). Plus the one
 * classification: the same cause reads the same for PostgreSQL, MySQL and REST.
 */

/** A resolver that answers `address` for every name and records each call. */
function pinnedResolver(address: string) {
  const calls: string[] = [];
  const resolver: HostResolver = async (host) => {
    calls.push(host);
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
  return { resolver, calls };
}

/** A resolver whose first answer is 127.0.0.1 and every later one 10.1.2.3 (a rebinding DNS server). */
function rebindingResolver() {
  const calls: string[] = [];
  const resolver: HostResolver = async (host) => {
    calls.push(host);
    return [{ address: calls.length === 1 ? '127.0.0.1' : '10.1.2.3', family: 4 }];
  };
  return { resolver, calls };
}

const loopbackPolicy = (resolver: HostResolver, platformEndpoints: string[] = []) =>
  new NetworkPolicy({ allowedNetworks: ['127.0.0.0/8', '::1/128'], platformEndpoints, resolver });

/** A local HTTP server recording every request's Host header; `route` answers (default: 200 `{}`). */
async function serve(route: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, r) => r.end('{}')) {
  const hosts: string[] = [];
  const server = http.createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    route(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, hosts, close: () => new Promise((r) => server.close(r)) };
}

const pgUrl = new URL(process.env.DATABASE_URL!);
const pg = {
  ...postgresSource(decodeURIComponent(pgUrl.pathname.slice(1)) || 'postgres'),
  ...postgresSourceSecrets(),
  host: 'db.tenant.example',
  sslMode: 'prefer' as const,
};
const mysqlUp = mysqlReachable('the MySQL cases of the network policy test');

describe('connectors through the network policy', () => {
  it('PostgreSQL: the name is resolved once and node-postgres connects to the checked address', async () => {
    const { resolver, calls } = rebindingResolver();
    const { client } = await connectPostgres(
      { ...pg, port: Number(pgUrl.port || 5432) },
      { applicationName: 'datalinx-policy-test', connectTimeoutMs: 5000, policy: loopbackPolicy(resolver) },
    );
    try {
      expect((await client.query(`SELECT inet_server_addr()::text AS a`)).rows[0].a).toMatch(/^127\.0\.0\.1/);
    } finally {
      await client.end();
    }
    expect(calls).toEqual(['db.tenant.example']);
  });

  it("PostgreSQL: the platform's own database is refused before any connection (nothing to authenticate against)", async () => {
    const { resolver } = pinnedResolver('127.0.0.1');
    const policy = loopbackPolicy(resolver, [`${pgUrl.hostname}:${pgUrl.port || 5432}`]);
    const err = await connectPostgres(
      { ...pg, port: Number(pgUrl.port || 5432) },
      { applicationName: 'datalinx-policy-test', connectTimeoutMs: 5000, policy },
    ).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toMatchObject({ code: 'DESTINATION_NOT_ALLOWED' });
    expect(explainPgError(err as Error, pg)).toMatchObject({
      ok: false,
      code: 'DESTINATION_NOT_ALLOWED',
      message: expect.stringMatching(/^db\.tenant\.example \(127\.0\.0\.1\):\d+ is one of the platform's own endpoints/),
    });
  });

  (mysqlUp ? it : it.skip)('MySQL: mysql2 gets a socket to the checked address (one resolution), or the refusal as its error', async () => {
    const { resolver, calls } = rebindingResolver();
    const target = { host: 'mysql.tenant.example', port: MYSQL.port, user: MYSQL.user, password: MYSQL.password, database: 'mysql', ssl: false };
    const conn = await mysql.createConnection(mysqlConnectionOptions(target, { connectTimeoutMs: 5000, policy: loopbackPolicy(resolver) }));
    try {
      const [rows] = await conn.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await conn.end();
    }
    expect(calls).toEqual(['mysql.tenant.example']);

    const refused = await mysql
      .createConnection(mysqlConnectionOptions({ ...target, host: '169.254.169.254' }, { connectTimeoutMs: 5000, policy: loopbackPolicy(resolver) }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(refused).toMatchObject({ code: 'DESTINATION_NOT_ALLOWED' });
    expect(explainMysqlError(refused as Error, target)).toMatchObject({
      code: 'DESTINATION_NOT_ALLOWED',
      message: expect.stringMatching(/cloud metadata address/),
    });
  });

  it('REST: each request resolves once, goes to the checked address, and keeps the host name in the request', async () => {
    const api = await serve();
    try {
      const { resolver, calls } = rebindingResolver();
      const res = await checkedFetch(new URL(`http://api.tenant.example:${api.port}/v1/items`), { policy: loopbackPolicy(resolver) });
      expect([res.status, await res.json()]).toEqual([200, {}]);
      expect(calls).toEqual(['api.tenant.example']);
      expect(api.hosts).toEqual([`api.tenant.example:${api.port}`]);
    } finally {
      await api.close();
    }
  });

  it('REST: a redirect to a refused destination is refused before it is followed; credentials stay with the first origin', async () => {
    const second = await serve((req, res) => res.end(JSON.stringify({ authorization: req.headers.authorization ?? null })));
    const first = await serve((req, res) => {
      res.statusCode = 302;
      res.setHeader('location', req.url === '/metadata' ? 'http://169.254.169.254/latest/meta-data/' : `http://other.tenant.example:${second.port}/`);
      res.end();
    });
    try {
      const policy = loopbackPolicy(pinnedResolver('127.0.0.1').resolver);
      const err = await checkedFetch(new URL(`http://127.0.0.1:${first.port}/metadata`), { redirect: 'follow', policy }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(DestinationNotAllowedError);
      const followed = await checkedFetch(new URL(`http://127.0.0.1:${first.port}/elsewhere`), {
        redirect: 'follow',
        policy,
        headers: { authorization: 'Bearer secret' },
      });
      expect(await followed.json()).toEqual({ authorization: null });
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('one classification of connection failures', () => {
  const t = { host: 'db.tenant.example', port: 5432, user: 'u', database: 'd' };
  const url = new URL('http://db.tenant.example:5432/');
  const causes: Array<[string, Error]> = [
    ['an unknown host', Object.assign(new Error('getaddrinfo ENOTFOUND db.tenant.example'), { code: 'ENOTFOUND' })],
    ['nothing listening', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['no route', Object.assign(new Error('connect EHOSTUNREACH 192.0.2.1:5432'), { code: 'EHOSTUNREACH' })],
    [
      'a refused destination',
      new DestinationNotAllowedError('db.tenant.example', '10.1.2.3', 5432, { kind: 'range', range: 'private', cidr: '10.0.0.0/8' }, 'refused by the policy'),
    ],
  ];

  it.each(causes)('%s reads the same for PostgreSQL, MySQL and REST (fetch wraps it as its cause)', (_what, err) => {
    const pgWhy = explainPgError(err, t);
    expect(explainMysqlError(err, t)).toMatchObject({ code: pgWhy.code, message: pgWhy.message });
    expect(explainFetchError(Object.assign(new TypeError('fetch failed'), { cause: err }), url)).toMatchObject({ code: pgWhy.code, message: pgWhy.message });
    expect(pgWhy.code).not.toBe('CONNECTION_FAILED');
  });
});
