// The local certificate authority and the certificate every Datalinx process serves (and, for
// mutual TLS, presents as a client) on one machine: `<dir>/ca.pem` (the CA certificate every
// client verifies against: TLS_CA_FILE), `<dir>/ca.key.pem` (its key, used only here),
// `<dir>/server.pem` + `<dir>/server.key.pem` (TLS_CERT_FILE, TLS_KEY_FILE) for localhost,
// 127.0.0.1 and ::1. ECDSA P-256, made with the `openssl` command (node has no X.509 builder).
// Created once with mode 0600 in a 0700 directory and reused; the server certificate is renewed
// when it expires within 30 days or no longer names every host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

/** The `openssl` command for ensureSystemTools (Debian/Ubuntu package `openssl`). */
export const OPENSSL_TOOL = {
  name: 'openssl',
  bin: 'openssl',
  debianPackage: 'openssl',
  why: 'creates the local certificate authority for internal TLS',
  otherwise: 'elsewhere: install OpenSSL 1.1.1+ (macOS: brew install openssl), or set TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE',
};

const HOSTS = { dns: ['localhost'], ip: ['127.0.0.1', '::1'] };

/**
 * @param {string[]} extraDns more DNS names (e.g. docker-compose service names)
 * @returns {{ dns: string[], ip: string[] }}
 */
const hostsWith = (extraDns) => ({ dns: [...new Set([...HOSTS.dns, ...extraDns])], ip: HOSTS.ip });
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * Whether internal TLS is on: DLX_INTERNAL_TLS=off turns it off (TLS terminated by a mesh).
 * @param {NodeJS.ProcessEnv} env
 */
export function internalTlsEnabled(env) {
  const v = (env.DLX_INTERNAL_TLS ?? 'on').trim().toLowerCase();
  if (['off', 'false', '0', 'no'].includes(v)) return false;
  if (['on', 'true', '1', 'yes', ''].includes(v)) return true;
  throw new Error(`DLX_INTERNAL_TLS must be "on" or "off" (got "${env.DLX_INTERNAL_TLS}")`);
}

/**
 * @param {string[]} args
 * @param {string} cwd
 */
function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = /** @type {Error & { stderr?: Buffer, code?: string }} */ (err);
    if (e.code === 'ENOENT')
      throw new Error(
        'the `openssl` command is missing: install it (Debian/Ubuntu: apt-get install -y openssl) or set TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE',
      );
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/**
 * Not expiring soon; for the server certificate (`caPem` given): signed by that CA and naming every host.
 * @param {string} file
 * @param {Buffer} [caPem]
 * @param {{ dns: string[], ip: string[] }} [hosts]
 */
function certUsable(file, caPem, hosts = HOSTS) {
  try {
    const cert = new crypto.X509Certificate(fs.readFileSync(file));
    if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    if (!caPem) return true;
    if (!cert.verify(new crypto.X509Certificate(caPem).publicKey)) return false;
    return hosts.dns.every((h) => cert.checkHost(h) === h) && hosts.ip.every((ip) => cert.checkIP(ip) !== undefined);
  } catch {
    return false;
  }
}

/**
 * The CA and the localhost certificate in `dir`, created or renewed as needed. `hosts`: more DNS
 * names the certificate must carry (docker-compose service names).
 * @param {{ dir: string, hosts?: string[] }} o
 * @returns {{ caFile: string, certFile: string, keyFile: string, created: boolean }}
 */
export function ensureLocalCertificates({ dir, hosts: extraDns = [] }) {
  const hosts = hostsWith(extraDns);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const caFile = path.join(dir, 'ca.pem');
  const caKeyFile = path.join(dir, 'ca.key.pem');
  const certFile = path.join(dir, 'server.pem');
  const keyFile = path.join(dir, 'server.key.pem');
  let created = false;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dlx-tls-'));
  try {
    if (!fs.existsSync(caKeyFile) || !certUsable(caFile)) {
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key.pem'], work);
      openssl(
        [
          'req',
          '-x509',
          '-new',
          '-key',
          'ca.key.pem',
          '-sha256',
          '-days',
          '3650',
          '-subj',
          `/O=Datalinx/CN=Datalinx local CA ${os.hostname()}`,
          '-addext',
          'basicConstraints=critical,CA:TRUE,pathlen:0',
          '-addext',
          'keyUsage=critical,keyCertSign,cRLSign',
          '-out',
          'ca.pem',
        ],
        work,
      );
      install(path.join(work, 'ca.key.pem'), caKeyFile);
      install(path.join(work, 'ca.pem'), caFile);
      fs.rmSync(certFile, { force: true });
      created = true;
    }
    if (!fs.existsSync(keyFile) || !certUsable(certFile, fs.readFileSync(caFile), hosts)) {
      const san = [...hosts.dns.map((h) => `DNS:${h}`), ...hosts.ip.map((ip) => `IP:${ip}`)].join(',');
      fs.writeFileSync(
        path.join(work, 'ext.cnf'),
        `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`,
      );
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'key.sec1.pem'], work);
      // PKCS8: PostgreSQL, nats-server and node all read it.
      openssl(['pkcs8', '-topk8', '-nocrypt', '-in', 'key.sec1.pem', '-out', 'server.key.pem'], work);
      openssl(['req', '-new', '-key', 'server.key.pem', '-subj', '/O=Datalinx/CN=localhost', '-out', 'server.csr'], work);
      openssl(
        [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          caFile,
          '-CAkey',
          caKeyFile,
          '-CAcreateserial',
          '-CAserial',
          path.join(work, 'ca.srl'),
          '-sha256',
          '-days',
          '825',
          '-extfile',
          'ext.cnf',
          '-out',
          'server.pem',
        ],
        work,
      );
      install(path.join(work, 'server.key.pem'), keyFile);
      install(path.join(work, 'server.pem'), certFile);
      created = true;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const f of [caFile, caKeyFile, certFile, keyFile]) fs.chmodSync(f, 0o600);
  return { caFile, certFile, keyFile, created };
}

/**
 * @param {string} from
 * @param {string} to
 */
function install(from, to) {
  const tmp = `${to}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, fs.readFileSync(from), { mode: 0o600 });
  fs.renameSync(tmp, to);
}

/**
 * The certificate files to use: TLS_CERT_FILE + TLS_KEY_FILE + TLS_CA_FILE from the environment
 * when all three are set (an operator's own PKI), otherwise the local CA in `dir`.
 * @param {{ dir: string, env: NodeJS.ProcessEnv }} o
 * @returns {{ caFile: string, certFile: string, keyFile: string, source: string }}
 */
export function resolveCertificates({ dir, env }) {
  const given = [env.TLS_CERT_FILE, env.TLS_KEY_FILE, env.TLS_CA_FILE];
  if (given.every(Boolean)) {
    for (const f of given) if (!fs.existsSync(/** @type {string} */ (f))) throw new Error(`TLS file ${f} does not exist`);
    return {
      caFile: /** @type {string} */ (env.TLS_CA_FILE),
      certFile: /** @type {string} */ (env.TLS_CERT_FILE),
      keyFile: /** @type {string} */ (env.TLS_KEY_FILE),
      source: 'TLS_CERT_FILE/TLS_KEY_FILE/TLS_CA_FILE',
    };
  }
  if (given.some(Boolean)) throw new Error('set all of TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE, or none (a local CA is then kept in the data dir)');
  const c = ensureLocalCertificates({ dir });
  return { ...c, source: `${dir}${c.created ? ' (new)' : ''}` };
}
