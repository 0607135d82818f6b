import net from 'node:net';
import { NetworkPolicy, type CheckedDestination } from '@datalinx/common';
import { explainNetworkError, hostNotFound, noAnswer, type ConnectFailure } from './failures';
import { fail, pass, type StepResult } from './steps';

/**
 * The outbound network policy of this worker process (CONNECTION_ALLOWED_NETWORKS,
 * DLX_PLATFORM_ENDPOINTS and NATS_URL; see ../env.ts), set once at start-up. Every connection a
 * tenant's configuration causes goes through it; until it is set, nothing special-purpose (loopback,
 * private, link-local…) is allowed.
 */
let policy = new NetworkPolicy();

export function setNetworkPolicy(p: NetworkPolicy): void {
  policy = p;
}

export const networkPolicy = (): NetworkPolicy => policy;

/** A destination's checked address, or the classified reason there is none. */
export type Destination = { ok: true; destination: CheckedDestination } | { ok: false; failure: ConnectFailure };

/**
 * Resolves `host` once and checks every address against the policy before any packet is sent to
 * it. The connection must then go to `destination.address` (TLS keeps `host` as its servername).
 */
export async function resolveDestination(host: string, port: number, timeoutMs: number, p: NetworkPolicy = policy): Promise<Destination> {
  const name = host.replace(/^\[|\]$/g, '');
  try {
    const destination = await withTimeout(p.resolve(name, port), timeoutMs);
    if (!destination)
      return {
        ok: false,
        failure: {
          ...fail('TIMEOUT', `Resolving "${name}" took longer than ${timeoutMs} ms. Check the DNS servers of the data plane, then try again.`),
          ok: false,
          code: 'TIMEOUT',
          transient: true,
        },
      };
    return { ok: true, destination };
  } catch (err) {
    const why = explainNetworkError(err, { host: name, port });
    if (why) return { ok: false, failure: why };
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ok: false, failure: hostNotFound(name, code) };
  }
}

/** The same as `resolveDestination`, thrown: the classified failure as an error carrying its code. */
export async function requireDestination(host: string, port: number, timeoutMs: number, p: NetworkPolicy = policy): Promise<CheckedDestination> {
  const r = await resolveDestination(host, port, timeoutMs, p);
  if (!r.ok) throw Object.assign(new Error(r.failure.message), { code: r.failure.code, classified: r.failure });
  return r.destination;
}

/** The classified failure `requireDestination` threw, if `err` is one. */
export const classifiedFailure = (err: unknown): ConnectFailure | undefined => (err as { classified?: ConnectFailure } | undefined)?.classified;

/**
 * connection.test's first step: the host resolved (once) to addresses the network policy allows.
 * The step's destination is what the later steps connect to.
 */
export async function resolveStep(host: string, port: number, timeoutMs: number): Promise<StepResult & { destination?: CheckedDestination }> {
  const r = await resolveDestination(host, port, timeoutMs);
  if (!r.ok) return r.failure;
  const d = r.destination;
  return {
    ...pass(
      net.isIP(d.host)
        ? `${d.host} is an IP address the data plane may connect to`
        : `${d.host} resolved to ${d.address}, an address the data plane may connect to`,
    ),
    destination: d,
  };
}

/** The TCP step of connection.test, to the address the first step checked (`host` names it in messages). */
export function portReachable(host: string, address: string, port: number, timeoutMs: number): Promise<StepResult> {
  return new Promise<StepResult>((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (r: StepResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done(noAnswer({ host, port })));
    socket.once('connect', () => done(pass(`${host}:${port} accepts connections`)));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(
        explainNetworkError(err, { host, port }) ??
          fail(
            'UNREACHABLE',
            `${host}:${port} is unreachable (${err.code ?? err.message}). Check the host, the port and the network path from the data plane.`,
          ),
      ),
    );
  });
}

/** Resolves to undefined when `p` takes longer than `ms` (the work itself is not cancelled). */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
