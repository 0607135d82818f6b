// Ports and readiness probes.
import net from 'node:net';
import { sleep } from './proc.mjs';

/**
 * @param {number} port
 * @param {string} host
 * @returns {Promise<'free' | 'in-use' | 'unsupported'>}
 */
function tryListen(port, host) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (/** @type {NodeJS.ErrnoException} */ err) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve('in-use');
      else resolve('unsupported');
    });
    server.listen({ port, host, ipv6Only: false, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/**
 * True when something listens on the port (on any local address). Binding the dual-stack
 * wildcard `::` fails if 127.0.0.1, ::1 or 0.0.0.0 already hold the port.
 * @param {number} port
 */
export async function isPortInUse(port) {
  const wildcard = await tryListen(port, '::');
  if (wildcard === 'in-use') return true;
  if (wildcard === 'unsupported' && (await tryListen(port, '0.0.0.0')) === 'in-use') return true;
  return (await tryListen(port, '127.0.0.1')) === 'in-use';
}

/**
 * @typedef {{ port: number, envVar: string, what: string }} PortClaim
 */

/**
 * Checks every port at once and throws one error naming each busy port and the env var that
 * moves it.
 * @param {PortClaim[]} claims
 */
export async function assertPortsFree(claims) {
  const problems = [];
  const seen = new Map();
  for (const c of claims) {
    const other = seen.get(c.port);
    if (other) {
      problems.push(`port ${c.port} is configured twice: ${other.envVar} (${other.what}) and ${c.envVar} (${c.what})`);
      continue;
    }
    seen.set(c.port, c);
    if (await isPortInUse(c.port)) {
      problems.push(`port ${c.port} (${c.what}) is already in use — stop what holds it or choose another port with ${c.envVar}=<port>`);
    }
  }
  if (problems.length > 0) throw new Error(`Port problems:\n  - ${problems.join('\n  - ')}`);
}

/**
 * A port the OS reports free on 127.0.0.1 right now.
 * @returns {Promise<number>}
 */
export function getFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls a URL until it answers with an accepted status.
 * @param {string} url
 * @param {{
 *   timeoutMs: number,
 *   accept?: (status: number) => boolean,
 *   abort?: () => string | null,
 * }} opts `abort` returns a reason to give up early (e.g. the process died)
 */
export async function waitForHttp(url, { timeoutMs, accept = (s) => s === 200, abort }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(`gave up waiting for ${url}: ${reason}`);
    try {
      const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer().catch(() => undefined);
      if (accept(res.status)) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      const cause = /** @type {{ cause?: { code?: string } }} */ (err).cause;
      last = cause?.code ?? /** @type {Error} */ (err).message;
    }
    if (Date.now() >= deadline) throw new Error(`${url} not ready after ${Math.round(timeoutMs / 1000)}s (last: ${last})`);
    await sleep(250);
  }
}
