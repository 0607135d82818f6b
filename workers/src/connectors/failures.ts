import { DestinationNotAllowedError } from '@datalinx/common';
import { fail, type StepResult } from './steps';

/**
 * The one classification of connection failures: connection tests, discovery and sync (PostgreSQL,
 * MySQL/MariaDB, REST) turn an error into a code and a message that says what to do here, so the
 * same cause reads the same wherever it happens. Driver-specific errors (authentication, TLS,
 * catalog) are explained by `explainPgError` / `explainMysqlError` / the REST connector, which
 * call this first.
 */

/** A failure as a connection reports it, and whether trying again later may help (a sync retries those). */
export type ConnectFailure = StepResult & { ok: false; code: string; transient: boolean };

/** Where the connection went, as the user configured it (never the resolved address: that may change). */
export interface ConnectTarget {
  host: string;
  port: number;
}

type NetError = Error & { code?: string; errno?: number | string; cause?: unknown };

/** Failures a retry cannot fix: the settings (or the server's configuration, or the operator's policy) must change first. */
const PERMANENT = new Set([
  'DESTINATION_NOT_ALLOWED',
  'WRONG_PASSWORD',
  'WRONG_CREDENTIALS',
  'AUTH_REQUIRED',
  'NOT_AUTHORIZED',
  'TLS_REQUIRED',
  'TLS_UNAVAILABLE',
  'TLS_CERT_INVALID',
  'DATABASE_NOT_FOUND',
  'PERMISSION_DENIED',
  'HOST_BLOCKED',
]);

const failure = (code: string, message: string, transient = !PERMANENT.has(code)): ConnectFailure => ({ ...fail(code, message), ok: false, code, transient });

/** The error's system code, looked up through `cause` (fetch and some drivers wrap the socket's error). */
function systemCode(err: unknown): string | undefined {
  for (let e = err as NetError | undefined, depth = 0; e && depth < 4; e = e.cause as NetError | undefined, depth++) {
    if (e instanceof DestinationNotAllowedError) return e.code;
    if (
      typeof e.code === 'string' &&
      /^(E[A-Z]+|EAI_[A-Z]+|UND_ERR_[A-Z_]+|ERR_TLS_[A-Z_]+|CERT_[A-Z_]+|[A-Z_]*CERT[A-Z_]*|SELF_SIGNED_[A-Z_]+|UNABLE_TO_[A-Z_]+|DEPTH_ZERO_SELF_SIGNED_CERT)$/.test(
        e.code,
      )
    )
      return e.code;
  }
  return undefined;
}

function policyRefusal(err: unknown): DestinationNotAllowedError | undefined {
  for (let e = err as NetError | undefined, depth = 0; e && depth < 4; e = e.cause as NetError | undefined, depth++) {
    if (e instanceof DestinationNotAllowedError) return e;
  }
  return undefined;
}

/** HOST_NOT_FOUND as every connector says it. ENOTFOUND (no such name) is permanent; EAI_AGAIN (DNS answered nothing) may pass. */
export const hostNotFound = (host: string, code: string): ConnectFailure =>
  failure(
    'HOST_NOT_FOUND',
    `Could not resolve host "${host}" (${code}). Check the host name for typos and that it is reachable from the data plane.`,
    code === 'EAI_AGAIN',
  );

export const connectionRefused = (t: ConnectTarget): ConnectFailure =>
  failure('CONNECTION_REFUSED', `Nothing is listening on ${t.host}:${t.port} (connection refused). Check the port and that the server runs.`);

export const unreachable = (t: ConnectTarget, why: string): ConnectFailure =>
  failure('UNREACHABLE', `${t.host}:${t.port} is unreachable (${why}). Check the host, the port and the network path from the data plane.`);

/** TIMEOUT: nothing (or no complete answer) came back in time, whether at the TCP connect or in the protocol's handshake. */
export const noAnswer = (t: ConnectTarget): ConnectFailure =>
  failure(
    'TIMEOUT',
    `${t.host}:${t.port} did not answer in time. Check that the server runs and is not overloaded, and that a firewall lets the data plane in; then try again.`,
  );

export const destinationNotAllowed = (err: DestinationNotAllowedError): ConnectFailure => failure('DESTINATION_NOT_ALLOWED', err.message, false);

/**
 * The network part of a connection failure: the policy's refusal, DNS, TCP. Undefined when the
 * error is not a network one (the driver's explainer then names it).
 */
export function explainNetworkError(err: unknown, t: ConnectTarget): ConnectFailure | undefined {
  const refused = policyRefusal(err);
  if (refused) return destinationNotAllowed(refused);
  const code = systemCode(err);
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
    case 'EAI_FAIL':
      return hostNotFound(t.host, code);
    case 'ECONNREFUSED':
      return connectionRefused(t);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return unreachable(t, code);
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return noAnswer(t);
  }
  // AbortSignal.timeout's reason (possibly the cause of an AbortError), node-postgres's connect timeout.
  for (let e = err as NetError | undefined, depth = 0; e && depth < 4; e = e.cause as NetError | undefined, depth++) {
    if (e.name === 'TimeoutError' || /^(timeout expired|Connection terminated due to connection timeout)$/i.test(String(e.message))) return noAnswer(t);
  }
  return undefined;
}

/** A classified failure thrown where the caller wants an exception (sync): its code and message as connection.test reports them. */
export class ConnectionFailure extends Error {
  override readonly name = 'ConnectionFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export const isPermanentConnectCode = (code: string) => PERMANENT.has(code);
