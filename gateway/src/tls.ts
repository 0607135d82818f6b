import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

/**
 * Makes every outgoing request of this process (node's fetch: subgraphs, the auth service's JWKS
 * and API-key exchange, the files route, readiness) verify servers against the platform CA
 * (TLS_CA_FILE, in addition to the public roots) and, with TLS_CLIENT_CERT_FILE +
 * TLS_CLIENT_KEY_FILE, present that certificate for subgraphs that require mutual TLS.
 * Certificates are always verified; TLS 1.2 is the lowest version offered.
 * Returns what it configured, for the start-up log.
 */
export function installOutgoingTls(env: NodeJS.ProcessEnv = process.env): { ca: boolean; clientCert: boolean } {
  const caFile = env.TLS_CA_FILE;
  const certFile = env.TLS_CLIENT_CERT_FILE;
  const keyFile = env.TLS_CLIENT_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('set both TLS_CLIENT_CERT_FILE and TLS_CLIENT_KEY_FILE, or neither');
  if (!caFile && !certFile) return { ca: false, clientCert: false };
  setGlobalDispatcher(
    new Agent({
      connect: {
        minVersion: 'TLSv1.2',
        rejectUnauthorized: true,
        ...(caFile ? { ca: [...rootCertificates, readFileSync(caFile, 'utf8')] } : {}),
        ...(certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : {}),
      },
    }),
  );
  return { ca: Boolean(caFile), clientCert: Boolean(certFile) };
}
