import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { Client } from 'pg';
import type { ConnectionTestJobV1 } from '@datalinx/contracts';
import type { RunReporter } from '../run-reporter';

export interface StepResult {
  ok: boolean;
  message: string;
  code?: string;
}

type Step = { name: string; run: () => Promise<StepResult> };

/** What a PostgreSQL error means for the person testing the connection. */
export function explainPgError(err: Error & { code?: string }, target: { user: string; database: string; host: string; port: number }): StepResult {
  switch (err.code) {
    case '28P01':
      return { ok: false, code: 'WRONG_PASSWORD', message: `Password authentication failed for user "${target.user}". Check the password.` };
    case '28000':
      if (/no encryption|SSL off/i.test(err.message)) {
        return { ok: false, code: 'TLS_REQUIRED', message: 'The server requires an encrypted (TLS) connection. Add ?sslmode=require to the connection string.' };
      }
      return { ok: false, code: 'NOT_AUTHORIZED', message: `The server refused user "${target.user}" for database "${target.database}": ${err.message}` };
    case '3D000':
      return { ok: false, code: 'DATABASE_NOT_FOUND', message: `Database "${target.database}" does not exist on ${target.host}:${target.port}.` };
    case '42501':
      return { ok: false, code: 'PERMISSION_DENIED', message: `User "${target.user}" lacks permission: ${err.message}` };
    case '53300':
      return { ok: false, code: 'TOO_MANY_CONNECTIONS', message: 'The server has no free connection slots. Try again later or raise max_connections.' };
    default:
      if (/does not support SSL/i.test(err.message)) {
        return { ok: false, code: 'TLS_UNAVAILABLE', message: 'TLS was requested but the server does not support it. Remove sslmode=require or enable TLS on the server.' };
      }
      if (/timeout/i.test(err.message)) return { ok: false, code: 'TIMEOUT', message: `The server did not answer in time: ${err.message}` };
      return { ok: false, code: 'CONNECTION_FAILED', message: err.message };
  }
}

/**
 * connection.test for PostgreSQL: resolve the host, reach the port, authenticate, read the
 * catalog. Each step is reported on RUNS as it finishes; the first failure stops the test and
 * says precisely what went wrong. Read-only, so running it again is harmless (idempotent).
 */
export async function testPostgresConnection(
  job: ConnectionTestJobV1,
  connectionString: string,
  report: RunReporter,
): Promise<{ ok: boolean; summary: string; error?: { code: string; message: string } }> {
  const url = new URL(connectionString);
  const target = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    database: decodeURIComponent(url.pathname.replace(/^\//, '')),
  };
  const timeoutMs = job.payload.timeoutMs;
  let address = target.host;
  let client: Client | undefined;
  let tables = 0;

  const steps: Step[] = [
    {
      name: 'host resolved',
      run: async () => {
        if (net.isIP(target.host)) return { ok: true, message: `${target.host} is an IP address` };
        try {
          const r = await lookup(target.host);
          address = r.address;
          return { ok: true, message: `${target.host} resolved to ${r.address}` };
        } catch (err) {
          return { ok: false, code: 'HOST_NOT_FOUND', message: `Could not resolve host "${target.host}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the host name.` };
        }
      },
    },
    {
      name: 'port reachable',
      run: () =>
        new Promise<StepResult>((resolve) => {
          const socket = net.connect({ host: address, port: target.port });
          const done = (r: StepResult) => {
            socket.destroy();
            resolve(r);
          };
          socket.setTimeout(timeoutMs, () => done({ ok: false, code: 'UNREACHABLE', message: `${target.host}:${target.port} did not answer within ${timeoutMs} ms (firewall or wrong host?).` }));
          socket.once('connect', () => done({ ok: true, message: `${target.host}:${target.port} accepts connections` }));
          socket.once('error', (err: NodeJS.ErrnoException) =>
            done({
              ok: false,
              code: err.code === 'ECONNREFUSED' ? 'CONNECTION_REFUSED' : 'UNREACHABLE',
              message: err.code === 'ECONNREFUSED' ? `Nothing is listening on ${target.host}:${target.port} (connection refused). Check the port and that the server runs.` : `${target.host}:${target.port} is unreachable: ${err.code ?? err.message}`,
            }),
          );
        }),
    },
    {
      name: 'authenticated',
      run: async () => {
        client = new Client({ connectionString, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, query_timeout: timeoutMs, application_name: 'datalinx-connection-test' });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const [row] = (await client.query(`SELECT current_user AS u, current_setting('server_version') AS v`)).rows;
          return { ok: true, message: `signed in as ${row.u} (PostgreSQL ${row.v})` };
        } catch (err) {
          return explainPgError(err as Error & { code?: string }, target);
        }
      },
    },
    {
      name: 'schema readable',
      run: async () => {
        try {
          const { rows } = await client!.query(
            `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') AND table_type IN ('BASE TABLE','VIEW')`,
          );
          tables = rows[0].n;
          return { ok: true, message: `${tables} table${tables === 1 ? '' : 's'} found` };
        } catch (err) {
          return explainPgError(err as Error & { code?: string }, target);
        }
      },
    },
  ];

  try {
    for (const step of steps) {
      const started = performance.now();
      const r = await step.run();
      await report.step(step.name, r.ok ? 'SUCCESS' : 'FAILURE', r.message, Math.round(performance.now() - started));
      if (!r.ok) return { ok: false, summary: `${step.name}: failed`, error: { code: r.code ?? 'FAILED', message: r.message } };
    }
    return { ok: true, summary: `Connected; ${tables} table${tables === 1 ? '' : 's'} found.` };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
