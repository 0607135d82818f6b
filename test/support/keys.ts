import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { ViewerAssertionSigner, ViewerAssertionVerifier, importAssertionPrivateKey, importAssertionPublicKey, type Viewer } from '@datalinx/graphql-kit';

export interface TestKeys {
  privatePem: string;
  publicPem: string;
  signer: ViewerAssertionSigner;
  verifier: ViewerAssertionVerifier;
}

/** A fresh Ed25519 gateway keypair for one test file. */
export async function makeTestKeys(): Promise<TestKeys> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    privatePem,
    publicPem,
    signer: new ViewerAssertionSigner(await importAssertionPrivateKey(privatePem)),
    verifier: new ViewerAssertionVerifier(await importAssertionPublicKey(publicPem)),
  };
}

/** An assertion that expired `agoSeconds` ago, signed with the right key. */
export async function expiredAssertion(privatePem: string, viewer: Viewer, agoSeconds = 120): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ viewer })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'dlx-viewer+jwt' })
    .setIssuer('dlx-gateway')
    .setAudience('dlx-subgraph')
    .setIssuedAt(now - agoSeconds - 30)
    .setExpirationTime(now - agoSeconds)
    .sign(await importPKCS8(privatePem, 'EdDSA'));
}
