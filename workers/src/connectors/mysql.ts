import net from 'node:net';
import mysql from 'mysql2/promise';
import type { CheckedDestination, NetworkPolicy } from '@datalinx/common';
import { fail, pass, plural, type ConnectorTest, type StepResult } from './steps';
import { classifiedFailure, portReachable, requireDestination, resolveStep } from './net';
import { explainNetworkError, noAnswer } from './failures';

export interface MysqlTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  ssl: boolean;
}

type MysqlError = Error & { code?: string; errno?: number };

/**
 * mysql2 connection options of a MySQL/MariaDB target (connection tests, discovery, sync). mysql2
 * is handed a socket (`stream`) that connects only once the network policy has resolved the host
 * and checked every address, to the checked address: mysql2 never resolves the name itself, and a
 * refusal (or a DNS failure) is the connection's error, classified by `explainMysqlError`. `host`
 * stays the configured name (TLS's servername, messages). `destination`: an address already
 * checked (connection.test's first step). TLS is the contract's one switch: encrypted, certificate
 * not verified (like PostgreSQL's `require`). `textValues`: dates and big numbers as strings, as
 * PostgreSQL's ::text gives them.
 */
export function mysqlConnectionOptions(
  t: MysqlTarget,
  o: { connectTimeoutMs: number; textValues?: boolean; destination?: CheckedDestination; policy?: NetworkPolicy },
) {
  return {
    host: t.host,
    port: t.port,
    stream: () => checkedSocket(t.host, t.port, o),
    user: t.user,
    password: t.password ?? '',
    database: t.database,
    connectTimeout: o.connectTimeoutMs,
    ssl: t.ssl ? { rejectUnauthorized: false } : undefined,
    ...(o.textValues ? { dateStrings: true, supportBigNumbers: true, bigNumberStrings: true } : {}),
  };
}

/** A socket that connects to `host`'s checked address once the policy has checked it, or fails with the refusal (or the DNS error). */
function checkedSocket(host: string, port: number, o: { connectTimeoutMs: number; destination?: CheckedDestination; policy?: NetworkPolicy }): net.Socket {
  const socket = new net.Socket();
  (o.destination ? Promise.resolve(o.destination) : requireDestination(host, port, o.connectTimeoutMs, o.policy)).then(
    (d) => {
      if (socket.destroyed) return;
      socket.setNoDelay(true); // what mysql2 sets on the sockets it opens itself
      socket.connect({ host: d.address, port: d.port });
    },
    (err: Error) => socket.destroy(err),
  );
  return socket;
}

/**
 * What a MySQL/MariaDB connection's error means, in connection tests, discovery and sync alike:
 * the network part as every connector says it (./failures.ts), then the server's and TLS's own.
 */
export function explainMysqlError(err: MysqlError, t: Pick<MysqlTarget, 'user' | 'database' | 'host' | 'port'>): StepResult {
  const network = classifiedFailure(err) ?? explainNetworkError(err, t);
  if (network) return network;
  switch (err.errno) {
    case 1045: // ER_ACCESS_DENIED_ERROR: wrong password, unknown user, or a user not allowed from this host
      return fail(
        'WRONG_PASSWORD',
        `Access denied for user "${t.user}". Check the user name and password, and that the user may connect from the data plane's host.`,
      );
    case 1049: // ER_BAD_DB_ERROR
      return fail('DATABASE_NOT_FOUND', `Database "${t.database}" does not exist on ${t.host}:${t.port}. Check the database name.`);
    case 1044: // ER_DBACCESS_DENIED_ERROR
      return fail(
        'PERMISSION_DENIED',
        `User "${t.user}" has no access to database "${t.database}". Run GRANT SELECT ON \`${t.database}\`.* TO the user, or pick a database it can read.`,
      );
    case 1142: // ER_TABLEACCESS_DENIED_ERROR
    case 1227: // ER_SPECIFIC_ACCESS_DENIED_ERROR
      return fail('PERMISSION_DENIED', `User "${t.user}" lacks a permission: ${err.message}. Grant SELECT on the database's tables.`);
    case 3159: // ER_SECURE_TRANSPORT_REQUIRED (MySQL)
      return fail('TLS_REQUIRED', 'The server accepts only encrypted (TLS) connections. Turn on SSL for this connection.');
    case 1040: // ER_CON_COUNT_ERROR
      return fail('TOO_MANY_CONNECTIONS', 'The server has no free connection slots. Try again later or raise max_connections.');
    case 1129: // ER_HOST_IS_BLOCKED
      return fail('HOST_BLOCKED', `The server blocks the data plane's host after too many failed connections. Ask the administrator to run FLUSH HOSTS.`);
  }
  // MariaDB words its require_secure_transport refusal differently and has no 3159.
  if (/secure transport|insecure transport|SSL connection is required/i.test(err.message)) {
    return fail('TLS_REQUIRED', 'The server accepts only encrypted (TLS) connections. Turn on SSL for this connection.');
  }
  if (err.code === 'HANDSHAKE_NO_SSL_SUPPORT' || /does not support secure connection/i.test(err.message)) {
    return fail('TLS_UNAVAILABLE', 'SSL was requested but the server does not support it. Turn SSL off for this connection, or enable TLS on the server.');
  }
  if (err.code === 'PROTOCOL_SEQUENCE_TIMEOUT') return noAnswer(t);
  if (/certificate|self[- ]signed|CERT_/i.test(`${err.code ?? ''} ${err.message}`)) {
    return fail('TLS_CERT_INVALID', `The server's TLS certificate was refused (${err.message}). Fix the certificate on the server.`);
  }
  return fail('CONNECTION_FAILED', `${err.message}. Check the connection settings.`);
}

/**
 * connection.test for MySQL and MariaDB: resolve to addresses the network policy allows, reach, sign in to the database, count its
 * tables. Read-only and idempotent.
 */
export function mysqlTest(t: MysqlTarget, timeoutMs: number): ConnectorTest {
  let destination: CheckedDestination | undefined;
  let conn: mysql.Connection | undefined;
  let tables = 0;
  return {
    steps: [
      {
        name: 'host resolved',
        run: async () => {
          const r = await resolveStep(t.host, t.port, timeoutMs);
          destination = r.destination;
          return r;
        },
      },
      { name: 'port reachable', run: () => portReachable(t.host, destination!.address, t.port, timeoutMs) },
      {
        name: 'authenticated',
        run: async () => {
          try {
            conn = await mysql.createConnection(mysqlConnectionOptions(t, { connectTimeoutMs: timeoutMs, destination }));
            conn.on('error', () => undefined);
            const [rows] = await conn.query({ sql: 'SELECT CURRENT_USER() AS u, VERSION() AS v', timeout: timeoutMs });
            const [row] = rows as Array<{ u: string; v: string }>;
            return pass(`signed in as ${row.u} (${/mariadb/i.test(row.v) ? 'MariaDB' : 'MySQL'} ${row.v.replace(/-MariaDB.*$/i, '')}${t.ssl ? ', TLS' : ''})`);
          } catch (err) {
            return explainMysqlError(err as MysqlError, t);
          }
        },
      },
      {
        name: 'schema readable',
        run: async () => {
          try {
            const [rows] = await conn!.query({
              sql: `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type IN ('BASE TABLE','VIEW','SYSTEM VERSIONED')`,
              timeout: timeoutMs,
            });
            tables = Number((rows as Array<{ n: number | string }>)[0].n);
            return pass(`${plural(tables, 'table')} found`);
          } catch (err) {
            return explainMysqlError(err as MysqlError, t);
          }
        },
      },
    ],
    summary: () => `Connected; ${plural(tables, 'table')} found in database "${t.database}".`,
    close: async () => {
      await conn?.end();
    },
  };
}
