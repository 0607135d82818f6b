import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { fail, pass, type StepResult } from './steps';

/**
 * The network steps every server connector shares. They run before the driver so a failure is
 * named precisely (no DNS answer, nothing listening, a firewall dropping packets) instead of
 * surfacing as a driver's generic connection error.
 */
export async function resolveHost(host: string, timeoutMs: number): Promise<StepResult & { address?: string }> {
  if (net.isIP(host)) return { ...pass(`${host} is an IP address`), address: host };
  try {
    const r = await withTimeout(lookup(host), timeoutMs);
    if (!r) return fail('TIMEOUT', `Resolving "${host}" took longer than ${timeoutMs} ms. Check the DNS servers of the data plane, then try again.`);
    return { ...pass(`${host} resolved to ${r.address}`), address: r.address };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return fail('HOST_NOT_FOUND', `Could not resolve host "${host}" (${code}). Check the host name for typos and that it is reachable from the data plane.`);
  }
}

export function portReachable(host: string, address: string, port: number, timeoutMs: number): Promise<StepResult> {
  return new Promise<StepResult>((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (r: StepResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () =>
      done(fail('UNREACHABLE', `${host}:${port} did not answer within ${timeoutMs} ms. Check the host and port, and that a firewall allows the data plane in.`)),
    );
    socket.once('connect', () => done(pass(`${host}:${port} accepts connections`)));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(
        err.code === 'ECONNREFUSED'
          ? // Kept apart from UNREACHABLE (connection.test v1 reports it so): the host answered, so the port or the server is wrong.
            fail('CONNECTION_REFUSED', `Nothing is listening on ${host}:${port} (connection refused). Check the port and that the server runs.`)
          : fail('UNREACHABLE', `${host}:${port} is unreachable (${err.code ?? err.message}). Check the host, the port and the network path from the data plane.`),
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
