// nats-server with JetStream, started under the supervisor. Readiness is proven end to end: we
// speak the NATS protocol over TCP and ask the JetStream API for account info
// ($JS.API.INFO), so "ready" means JetStream answers, not only that the port is open.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import crypto from 'node:crypto';
import { isPortInUse } from './net.mjs';
import { sleep, terminateGroup } from './proc.mjs';
import { tail } from './log.mjs';

/** The tool description for ensureSystemTools. */
export const NATS_TOOL = {
  name: 'nats-server',
  bin: process.env.NATS_SERVER_BIN || 'nats-server',
  debianPackage: 'nats-server',
  why: 'message broker with JetStream; or set NATS_URL to an existing one',
  otherwise: 'elsewhere: https://github.com/nats-io/nats-server/releases (2.9+; macOS: brew install nats-server), then put it on PATH or set NATS_SERVER_BIN',
};

/**
 * One JetStream probe: connect, CONNECT, request $JS.API.INFO, wait for the reply.
 * @param {number} port
 * @param {number} timeoutMs
 * @param {string} [serverName] when set, the server must announce this name (so we never
 *   mistake another nats-server on the port for ours)
 * @param {string} [caFile] the CA to verify the server's certificate with, when the server
 *   requires TLS (its INFO says tls_required): the probe then upgrades the connection
 * @returns {Promise<{ ok: true, info: Record<string, unknown> } | { ok: false, reason: string }>}
 */
export function probeJetStream(port, timeoutMs = 3000, serverName, caFile) {
  return new Promise((resolve) => {
    const plain = net.connect({ port, host: '127.0.0.1' });
    /** @type {net.Socket} */
    let sock = plain;
    let buf = Buffer.alloc(0);
    let sentRequest = false;
    let done = false;
    /** @param {{ ok: true, info: Record<string, unknown> } | { ok: false, reason: string }} r */
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      plain.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'no JetStream answer' }), timeoutMs);
    /** @param {net.Socket} s */
    const listen = (s) => {
      s.on('error', (err) => finish({ ok: false, reason: /** @type {NodeJS.ErrnoException} */ (err).code ?? err.message }));
      s.on('close', () => finish({ ok: false, reason: 'connection closed' }));
      s.on('data', onData);
    };
    const sendRequest = () =>
      sock.write(
        'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"name":"datalinx-probe"}\r\n' +
          'SUB _INBOX.datalinx_probe 1\r\n' +
          'PUB $JS.API.INFO _INBOX.datalinx_probe 0\r\n\r\n',
      );
    listen(plain);
    /** @param {Buffer} chunk */
    function onData(chunk) {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.subarray(0, eol).toString('utf8');
        if (line.startsWith('MSG ') || line.startsWith('HMSG ')) {
          const parts = line.split(' ');
          const size = Number(parts[parts.length - 1]);
          if (buf.length < eol + 2 + size + 2) return; // wait for the whole payload
          const payload = buf.subarray(eol + 2, eol + 2 + size).toString('utf8');
          buf = buf.subarray(eol + 2 + size + 2);
          if (line.startsWith('HMSG ')) {
            finish({ ok: false, reason: payload.includes('503') ? 'JetStream not enabled (no responders)' : payload.trim() });
            return;
          }
          try {
            const info = JSON.parse(payload);
            if (info.error) finish({ ok: false, reason: `JetStream: ${info.error.description ?? JSON.stringify(info.error)}` });
            else finish({ ok: true, info });
          } catch {
            finish({ ok: false, reason: 'unparseable JetStream reply' });
          }
          return;
        }
        buf = buf.subarray(eol + 2);
        if (line.startsWith('INFO ') && !sentRequest) {
          if (serverName) {
            let name = '';
            try {
              name = JSON.parse(line.slice(5)).server_name ?? '';
            } catch {
              // unparseable INFO: treated as a foreign server below
            }
            if (name !== serverName) {
              finish({ ok: false, reason: `another NATS server (${name || 'unnamed'}) answers on port ${port}` });
              return;
            }
          }
          sentRequest = true;
          /** @type {{ tls_required?: boolean }} */
          let announced = {};
          try {
            announced = JSON.parse(line.slice(5));
          } catch {
            // checked above when it matters
          }
          if (announced.tls_required) {
            if (!caFile) {
              finish({ ok: false, reason: `the NATS server on port ${port} requires TLS` });
              return;
            }
            // The rest of the conversation goes over TLS, verified against our CA.
            plain.removeAllListeners('data');
            buf = Buffer.alloc(0);
            sock = tls.connect({ socket: plain, host: '127.0.0.1', ca: fs.readFileSync(caFile), minVersion: 'TLSv1.2' }, sendRequest);
            listen(sock);
            return;
          }
          sendRequest();
        } else if (line === 'PING') {
          sock.write('PONG\r\n');
        } else if (line.startsWith('-ERR')) {
          finish({ ok: false, reason: line });
          return;
        }
      }
    }
  });
}

/**
 * @typedef {{ url: string, port: number, storeDir: string, pid: number, logFile: string }} RunningNats
 */

/**
 * Starts `nats-server -js -a 127.0.0.1 -p <port> -sd <storeDir>` and waits until JetStream
 * answers. Stopped by the supervisor after the children (SIGTERM = graceful, then SIGKILL).
 * @param {{
 *   bin: string,
 *   port: number,
 *   portEnvVar?: string,
 *   storeDir: string,
 *   logFile: string,
 *   sup: import('./supervisor.mjs').Supervisor,
 *   tls?: { certFile: string, keyFile: string, caFile: string },
 * }} opts `portEnvVar` names the variable that changes the port, for the error message; `tls`:
 *   the server requires TLS 1.2+ with this certificate (the URL is then `tls://…`)
 * @returns {Promise<RunningNats>}
 */
export async function startNats({ bin, port, portEnvVar, storeDir, logFile, sup, tls: tlsFiles }) {
  if (await isPortInUse(port)) {
    throw new Error(`port ${port} (nats-server) is already in use${portEnvVar ? ` — choose another with ${portEnvVar}=<port>` : ''}`);
  }
  fs.mkdirSync(path.dirname(storeDir), { recursive: true });
  if (!fs.existsSync(storeDir)) fs.mkdirSync(storeDir, { mode: 0o700 });
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const logFd = fs.openSync(logFile, 'a');
  fs.writeSync(logFd, `\n--- datalinx: starting nats-server on port ${port} at ${new Date().toISOString()}\n`);
  // A unique server name lets the readiness probe tell our server from any other on the port.
  const serverName = `datalinx-${crypto.randomBytes(6).toString('hex')}`;
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', serverName];
  if (tlsFiles) {
    // Every client must speak TLS, verified against our CA (nats-server's own minimum is TLS 1.2).
    const conf = path.join(storeDir, 'tls.conf');
    const q = (/** @type {string} */ f) => JSON.stringify(path.resolve(f));
    fs.writeFileSync(
      conf,
      `tls {\n  cert_file: ${q(tlsFiles.certFile)}\n  key_file: ${q(tlsFiles.keyFile)}\n  ca_file: ${q(tlsFiles.caFile)}\n  timeout: 5\n}\n`,
      { mode: 0o600 },
    );
    args.push('-c', conf);
  }
  const { managed } = sup.startInfra(
    { name: 'nats-server', cmd: bin, args },
    {
      stdio: ['ignore', logFd, logFd],
      stop: async (m) => {
        await terminateGroup(m.pid, { graceMs: 15_000 });
      },
    },
  );
  fs.closeSync(logFd);

  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    if (managed.exit) {
      throw new Error(
        `nats-server exited during start-up (${managed.exit.signal ?? `exit code ${managed.exit.code}`}). Last log lines (${logFile}):\n${tail(logFile, 10)}`,
      );
    }
    if (sup.isStopping) throw new Error('shutting down');
    const probe = await probeJetStream(port, 2000, serverName, tlsFiles?.caFile);
    if (probe.ok) break;
    last = probe.reason;
    if (Date.now() > deadline) throw new Error(`nats-server JetStream not ready within 30s (${last}). Log: ${logFile}`);
    await sleep(150);
  }
  return { url: `${tlsFiles ? 'tls' : 'nats'}://127.0.0.1:${port}`, port, storeDir, pid: managed.pid, logFile };
}
