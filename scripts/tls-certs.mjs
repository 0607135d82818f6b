// `node scripts/tls-certs.mjs <dir> [dns-name …]`: the local CA and a server certificate for
// localhost, 127.0.0.1, ::1 and the given names in <dir> (created once, reused; renewed when it
// expires within 30 days or misses a name). docker-compose.yml's `certs` service runs it with
// the compose service names. Prints the three file paths.
import { ensureLocalCertificates } from './lib/tls.mjs';

const [dir, ...hosts] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node scripts/tls-certs.mjs <dir> [dns-name ...]\n');
  process.exit(2);
}
try {
  const c = ensureLocalCertificates({ dir, hosts });
  process.stdout.write(`${c.created ? 'created' : 'reused'}: TLS_CA_FILE=${c.caFile} TLS_CERT_FILE=${c.certFile} TLS_KEY_FILE=${c.keyFile}\n`);
} catch (err) {
  process.stderr.write(`${/** @type {Error} */ (err).message}\n`);
  process.exit(1);
}
