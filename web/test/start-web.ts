import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * Starts the built web app (`next start`) on a free port, pointed at the given gateway, and
 * resolves once `/healthz` answers. The app must have been built (`web/.next`); building it is
 * too slow (~20 s, ~1 GB) to do inside a test.
 */

export const WEB_DIR = path.resolve(__dirname, '..');

export interface StartWebOptions {
  /** GraphQL URL of the gateway as seen from the web server. */
  gatewayUrl: string;
  /** Port to listen on; a free one by default. */
  port?: number;
  /** Extra environment for the web process. */
  env?: Record<string, string>;
  /** How long to wait for `/healthz`, in ms. */
  readyTimeoutMs?: number;
}

export interface RunningWeb {
  /** Base URL, without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Everything the process printed so far (for failure messages). */
  output: () => string;
  stop: () => Promise<void>;
}

/** A port nothing listens on right now (the OS picked it, then we released it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not get a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export function assertWebBuilt(): void {
  if (!existsSync(path.join(WEB_DIR, '.next', 'BUILD_ID'))) {
    throw new Error(
      `The web app is not built (${path.join(WEB_DIR, '.next')} has no BUILD_ID). ` +
        'Run `npm run build --workspace web` (or `cd web && npx next build`) first.',
    );
  }
}

export async function startWeb(options: StartWebOptions): Promise<RunningWeb> {
  assertWebBuilt();
  const port = options.port ?? (await freePort());
  const host = '127.0.0.1';
  const nextBin = require.resolve('next/dist/bin/next', { paths: [WEB_DIR] });
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', host], {
    cwd: WEB_DIR,
    env: {
      ...process.env,
      ...options.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      GATEWAY_URL: options.gatewayUrl,
    },
    // Own process group, so stop() also ends anything next spawns.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const url = `http://${host}:${port}`;
  const stop = () => stopProcess(child, exited);
  try {
    await waitForReady(`${url}/healthz`, exited, options.readyTimeoutMs ?? 60_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, output: () => output, stop };
}

async function waitForReady(healthUrl: string, exited: Promise<number | null>, timeoutMs: number, output: () => string): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new Error(`next start exited with code ${exitCode} before it was ready:\n${output()}`);
    }
    try {
      const response = await fetch(healthUrl, { signal: AbortSignal.timeout(2_000) });
      if (response.ok && (await response.text()) === 'ok') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`next start did not answer ${healthUrl} within ${timeoutMs} ms:\n${output()}`);
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const killTimer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killTimer);
}
