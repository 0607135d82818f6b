// Small helpers for reading the runners' environment.

/** Node >= 20.19 (package.json engines); say so plainly instead of failing somewhere later. */
export function checkNodeVersion() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node.js ${process.versions.node} is too old: Datalinx needs Node.js 20.19 or newer`);
  }
}

/**
 * Reads a TCP port from the environment.
 * @param {string} name env var
 * @param {number} fallback
 * @param {string[]} problems collects every problem so they are reported at once
 */
export function readPort(name, fallback, problems) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    problems.push(`${name}=${raw} is not a TCP port (1-65535)`);
    return fallback;
  }
  return n;
}

/** @param {string | undefined} v */
export const truthy = (v) => Boolean(v) && !['0', 'false', 'no', 'off'].includes(String(v).toLowerCase());

/**
 * A URL with its password replaced by ****, for printing user-supplied connection strings.
 * @param {string} url
 */
export function maskUrl(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:****@');
  }
}
