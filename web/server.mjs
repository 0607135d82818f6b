// The web app over TLS: next's request handler (the built app in .next, as `next start` serves
// it) on a node https server, because `next start` itself only speaks plain HTTP. npm start runs
// this when the web app is bound beyond loopback (DLX_BIND_ADDRESS); on loopback it runs
// `next start`.
//
// Environment: PORT (default 3000), HOSTNAME (default 127.0.0.1), TLS_CERT_FILE and TLS_KEY_FILE
// (PEM, required), and everything the app itself reads (GATEWAY_URL, …). TLS 1.2+ with a modern
// cipher list; every answer carries HSTS; plain HTTP on this port fails the handshake.
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import next from 'next';
// The platform's one TLS server policy (the subgraphs and the gateway serve with the same), built with the packages.
import { HSTS_HEADER_VALUE, TLS_CIPHERS } from '../packages/graphql-kit/dist/tls.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.PORT || 3000);
const hostname = process.env.HOSTNAME || '127.0.0.1';
const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } = process.env;
if (!certFile || !keyFile) {
  console.error('web/server.mjs serves TLS only: set TLS_CERT_FILE and TLS_KEY_FILE (or run `next start` for plain HTTP on loopback)');
  process.exit(1);
}

const app = next({ dev: false, dir, hostname, port });
await app.prepare();
const handle = app.getRequestHandler();
const server = https.createServer(
  { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true },
  (req, res) => {
    res.setHeader('Strict-Transport-Security', HSTS_HEADER_VALUE);
    void handle(req, res);
  },
);
server.keepAliveTimeout = 65_000;
server.listen(port, hostname, () => console.log(`web app listening on https://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
