// Keys and local secrets for a Datalinx installation:
//  - the Ed25519 keypair the gateway signs viewer assertions with (subgraphs verify with the
//    public key), PEM: SPKI (public) and PKCS8 (private);
//  - the master key for envelope encryption (DLX_MASTER_KEY, 32 random bytes, base64);
//  - the password of the embedded PostgreSQL superuser.
// Files are created once with mode 0600 in a 0700 directory and reused on every later run.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * @returns {{ publicKeyPem: string, privateKeyPem: string }}
 */
export function generateAssertionKeys() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * Throws unless the two PEMs are a matching Ed25519 pair.
 * @param {string} publicKeyPem
 * @param {string} privateKeyPem
 * @param {string} where for the error message
 */
function assertPair(publicKeyPem, privateKeyPem, where) {
  let priv;
  let pub;
  try {
    priv = crypto.createPrivateKey(privateKeyPem);
    pub = crypto.createPublicKey(publicKeyPem);
  } catch (err) {
    throw new Error(`${where}: not a valid PEM key (${/** @type {Error} */ (err).message})`);
  }
  if (priv.asymmetricKeyType !== 'ed25519' || pub.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${where}: the viewer-assertion keys must be Ed25519`);
  }
  const derived = crypto.createPublicKey(priv).export({ type: 'spki', format: 'der' });
  if (!derived.equals(pub.export({ type: 'spki', format: 'der' }))) {
    throw new Error(`${where}: the public key does not belong to the private key`);
  }
}

/**
 * Writes a file atomically with mode 0600.
 * @param {string} file
 * @param {string} content
 */
function writeSecretFile(file, content) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** @param {string} dir */
function ensureKeyDir(dir) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/**
 * The viewer-assertion keypair: from DLX_ASSERTION_PUBLIC_KEY + DLX_ASSERTION_PRIVATE_KEY when
 * both are set, otherwise from `<dir>/assertion-ed25519.{pub,key}.pem`, generated on first use.
 * @param {{ dir: string, env: NodeJS.ProcessEnv }} opts
 * @returns {{ publicKeyPem: string, privateKeyPem: string, source: string }}
 */
export function ensureAssertionKeys({ dir, env }) {
  const fromEnvPub = env.DLX_ASSERTION_PUBLIC_KEY;
  const fromEnvPriv = env.DLX_ASSERTION_PRIVATE_KEY;
  if (fromEnvPub && fromEnvPriv) {
    assertPair(fromEnvPub, fromEnvPriv, 'DLX_ASSERTION_PUBLIC_KEY/DLX_ASSERTION_PRIVATE_KEY');
    return { publicKeyPem: fromEnvPub, privateKeyPem: fromEnvPriv, source: 'environment' };
  }
  if (fromEnvPub || fromEnvPriv) {
    throw new Error('set both DLX_ASSERTION_PUBLIC_KEY and DLX_ASSERTION_PRIVATE_KEY, or neither (a keypair is then kept in the data dir)');
  }
  ensureKeyDir(dir);
  const pubFile = path.join(dir, 'assertion-ed25519.pub.pem');
  const privFile = path.join(dir, 'assertion-ed25519.key.pem');
  if (fs.existsSync(privFile) || fs.existsSync(pubFile)) {
    const privateKeyPem = fs.readFileSync(privFile, 'utf8');
    const publicKeyPem = fs.readFileSync(pubFile, 'utf8');
    assertPair(publicKeyPem, privateKeyPem, `${dir}`);
    return { publicKeyPem, privateKeyPem, source: privFile };
  }
  const keys = generateAssertionKeys();
  writeSecretFile(privFile, keys.privateKeyPem);
  writeSecretFile(pubFile, keys.publicKeyPem);
  return { ...keys, source: `${privFile} (new)` };
}

/** @returns {string} 32 random bytes, base64 */
export function generateMasterKey() {
  return crypto.randomBytes(32).toString('base64');
}

/**
 * A secret kept in `<dir>/<name>`: read it, or create it with `generate()` when absent.
 * @param {string} dir
 * @param {string} name
 * @param {() => string} generate
 * @returns {{ value: string, file: string, created: boolean }}
 */
export function ensureSecret(dir, name, generate) {
  ensureKeyDir(dir);
  const file = path.join(dir, name);
  if (fs.existsSync(file)) return { value: fs.readFileSync(file, 'utf8').trim(), file, created: false };
  const value = generate();
  writeSecretFile(file, `${value}\n`);
  return { value, file, created: true };
}

/**
 * Reads a secret that must already exist.
 * @param {string} file
 * @returns {string | null}
 */
export function readSecret(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
