import net from 'node:net';
import { Client, type ClientConfig } from 'pg';
import type { CheckedDestination, NetworkPolicy } from '@datalinx/common';
import { fail, pass, plural, type ConnectorTest, type StepResult } from './steps';
import { classifiedFailure, portReachable, requireDestination, resolveStep } from './net';
import { explainNetworkError, noAnswer } from './failures';

export type PgSslMode = 'disable' | 'prefer' | 'require' | 'verify-full';

export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  sslMode: PgSslMode;
  /** Limits the table count to one schema (default: every schema the user can read). */
  schema?: string;
}

type PgError = Error & { code?: string };

/**
 * What a PostgreSQL connection's error means, in connection tests, discovery and sync alike: the
 * network part (policy, DNS, TCP) as every connector says it (./failures.ts), then the server's
 * and TLS's own refusals.
 */
export function explainPgError(err: PgError, t: Pick<PostgresTarget, 'user' | 'database' | 'host' | 'port'>): StepResult {
  const network = classifiedFailure(err) ?? explainNetworkError(err, t);
  if (network) return network;
  switch (err.code) {
    case '28P01':
      return fail('WRONG_PASSWORD', `Password authentication failed for user "${t.user}". Check the user name and password.`);
    case '28000':
      if (/no encryption|SSL off/i.test(err.message)) {
        return fail('TLS_REQUIRED', 'The server accepts only encrypted (TLS) connections. Set the SSL mode to "require" (or "verify-full").');
      }
      return fail(
        'NOT_AUTHORIZED',
        `The server refused user "${t.user}" for database "${t.database}": ${err.message}. Ask the database administrator to allow this user from the data plane (pg_hba.conf).`,
      );
    case '3D000':
      return fail('DATABASE_NOT_FOUND', `Database "${t.database}" does not exist on ${t.host}:${t.port}. Check the database name.`);
    case '42501':
      return fail('PERMISSION_DENIED', `User "${t.user}" lacks a permission: ${err.message}. Grant CONNECT on the database and USAGE on the schemas to read.`);
    case '53300':
      return fail('TOO_MANY_CONNECTIONS', 'The server has no free connection slots. Try again later or raise max_connections.');
    case '57P03':
      return fail('SERVER_STARTING', 'The server is starting up or shutting down. Try again in a minute.');
  }
  if (/does not support SSL/i.test(err.message)) {
    return fail(
      'TLS_UNAVAILABLE',
      'TLS was requested but the server does not support it. Set the SSL mode to "disable" (or "prefer"), or enable TLS on the server.',
    );
  }
  if (/certificate|self[- ]signed|altname|CERT_/i.test(`${err.code ?? ''} ${err.message}`)) {
    return fail(
      'TLS_CERT_INVALID',
      `The server's TLS certificate could not be verified (${err.message}). Fix the certificate, or use SSL mode "require" to encrypt without verifying it.`,
    );
  }
  if (/timeout|timed out/i.test(err.message)) return noAnswer(t);
  return fail('CONNECTION_FAILED', `${err.message}. Check the connection settings.`);
}

/** libpq's sslMode as node-postgres TLS options. */
function sslOption(mode: PgSslMode): ClientConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      // Encrypted, certificate not verified: what libpq's `require` means.
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/**
 * TLS options for a connection to the host's checked address: SNI and certificate verification
 * (verify-full) use the configured host name; an IP host is verified as the IP (SNI carries no IPs).
 */
function sslFor(mode: PgSslMode, host: string): ClientConfig['ssl'] {
  const ssl = sslOption(mode);
  return typeof ssl === 'object' && !net.isIP(host) ? { ...ssl, servername: host } : ssl;
}

export interface PgConnectOptions {
  /** application_name: who is connecting, as the server's pg_stat_activity shows it. */
  applicationName: string;
  connectTimeoutMs: number;
  /** statement_timeout and the client's query timeout of the session; none when left out. */
  queryTimeoutMs?: number;
  /** The target's address as the network policy checked it (connection.test's first step); resolved and checked here when left out. */
  destination?: CheckedDestination;
  /** The policy to check against (default: the worker's, ./net.ts). */
  policy?: NetworkPolicy;
}

/**
 * node-postgres settings of a PostgreSQL target (a source, an external warehouse, a connection
 * under test), TLS as libpq's sslMode means it. No password is sent as the empty one, never as
 * a fallback to the worker's own PGPASSWORD.
 */
function pgClientConfig(t: PostgresTarget, address: string, o: PgConnectOptions): ClientConfig {
  return {
    host: address,
    port: t.port,
    user: t.user,
    password: t.password ?? '',
    database: t.database,
    ssl: sslFor(t.sslMode, t.host),
    connectionTimeoutMillis: o.connectTimeoutMs,
    ...(o.queryTimeoutMs !== undefined ? { statement_timeout: o.queryTimeoutMs, query_timeout: o.queryTimeoutMs } : {}),
    application_name: o.applicationName,
  };
}

/**
 * Connects to a PostgreSQL target, a tenant's (a source, an external warehouse, a connection under
 * test): the host is resolved once and its addresses checked by the network policy before any
 * packet is sent, and node-postgres connects to the checked address (TLS verifies the configured
 * host name). sslMode `prefer` is libpq's: TLS when the server offers it, otherwise a plain
 * connection (`tls` says which). The client ignores 'error' events: a dropped connection surfaces
 * as the failing query, never as an uncaught event. A failed attempt's client is closed; the
 * error is thrown as node-postgres (or the policy) gives it (see `explainPgError`).
 */
export async function connectPostgres(t: PostgresTarget, o: PgConnectOptions): Promise<{ client: Client; tls: boolean }> {
  const destination = o.destination ?? (await requireDestination(t.host, t.port, o.connectTimeoutMs, o.policy));
  const config = pgClientConfig(t, destination.address, o);
  const attempt = async (ssl: ClientConfig['ssl']) => {
    const c = new Client({ ...config, ssl });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return c;
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
  };
  try {
    return { client: await attempt(config.ssl), tls: Boolean(config.ssl) };
  } catch (err) {
    if (t.sslMode !== 'prefer' || !/does not support SSL/i.test((err as Error).message)) throw err;
    return { client: await attempt(false), tls: false };
  }
}

/**
 * connection.test for PostgreSQL: resolve the host to addresses the network policy allows, reach
 * the port, authenticate, read the catalog. Read-only, so running it again is harmless (idempotent).
 */
export function postgresTest(t: PostgresTarget, timeoutMs: number): ConnectorTest {
  let destination: CheckedDestination | undefined;
  let client: Client | undefined;
  let tables = 0;
  let tlsNote = '';

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
            const connected = await connectPostgres(t, {
              applicationName: 'datalinx-connection-test',
              connectTimeoutMs: timeoutMs,
              queryTimeoutMs: timeoutMs,
              destination,
            });
            client = connected.client;
            tlsNote = connected.tls ? ', TLS' : t.sslMode === 'prefer' ? ', unencrypted (the server offers no TLS)' : ', unencrypted';
            const [row] = (await client.query(`SELECT current_user AS u, current_setting('server_version') AS v`)).rows;
            return pass(`signed in as ${row.u} (PostgreSQL ${row.v}${tlsNote})`);
          } catch (err) {
            return explainPgError(err as PgError, t);
          }
        },
      },
      {
        name: 'schema readable',
        run: async () => {
          try {
            if (t.schema) {
              const { rows } = await client!.query(
                `SELECT n.oid IS NOT NULL AS exists, CASE WHEN n.oid IS NULL THEN false ELSE has_schema_privilege(n.oid, 'USAGE') END AS usable
                   FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = $1`,
                [t.schema],
              );
              if (!rows[0].exists)
                return fail('SCHEMA_NOT_FOUND', `Schema "${t.schema}" does not exist in database "${t.database}". Check the schema name (case matters).`);
              if (!rows[0].usable)
                return fail(
                  'PERMISSION_DENIED',
                  `User "${t.user}" may not use schema "${t.schema}". Run GRANT USAGE ON SCHEMA "${t.schema}" TO "${t.user}" (and SELECT on its tables).`,
                );
            }
            // information_schema.tables lists only tables the user holds a privilege on: the readable ones.
            const { rows } = await client!.query(
              `SELECT count(*)::int AS n FROM information_schema.tables
                WHERE table_type IN ('BASE TABLE','VIEW')
                  AND ($1::text IS NULL AND table_schema NOT IN ('pg_catalog','information_schema') AND table_schema NOT LIKE 'pg\\_toast%' OR table_schema = $1)`,
              [t.schema ?? null],
            );
            tables = rows[0].n;
            return pass(`${plural(tables, 'table')} found`);
          } catch (err) {
            return explainPgError(err as PgError, t);
          }
        },
      },
    ],
    summary: () => `Connected; ${plural(tables, 'table')} found${t.schema ? ` in schema "${t.schema}"` : ''}.`,
    close: async () => {
      await client?.end();
    },
  };
}
