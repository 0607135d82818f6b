import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing with additional data (a sealed value opens only with the AAD it was sealed
 * with). The key is 32 bytes, given base64-encoded. The workspace service's envelope encryption
 * (a data key per workspace, wrapped by the master key) and the secrets a job carries to the data
 * plane (sealed with the master key, AAD naming the job) are both built on it.
 */
export interface Sealed {
  alg: 'A256GCM';
  iv: string;
  tag: string;
  data: string;
}

export function parseKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('key must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  return key;
}

export function seal(key: Buffer, plaintext: string, aad = ''): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(Buffer.from(aad));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { alg: 'A256GCM', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function unseal(key: Buffer, sealed: Sealed, aad = ''): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  if (aad) decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
}
