import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { createLogger } from '@datalinx/common';
import { ANONYMOUS, viewerSchema, type Viewer } from '@datalinx/graphql-kit';
import { createAuthServer } from '../../services/auth/src/app';
import { AccessTokenIssuer } from '../../services/auth/src/tokens/access-tokens';
import { RevocationPublisher, openIdentityBucket } from '../../services/auth/src/tokens/revocations';
import { createGateway } from '../../gateway/src/app';
import { loadSupergraph } from '../../gateway/src/supergraph';
import { TEST_VIEWER_HEADER, type Platform } from './platform';
import { urlOf } from './http';

/**
 * The platform's auth subgraph answers sign-in fields (login, refresh, MFA) with
 * SIGN_IN_UNAVAILABLE: it runs without a token issuer. Tests that need those fields for real get
 * here a second auth server on the same database (runtime role), WITH an issuer, revocations in
 * the NATS KV bucket and a TOTP sealing key, and a second gateway over the same committed
 * supergraph that routes `auth` to it and every other subgraph to the platform's own servers,
 * with the same test-only `x-test-viewer` identity and the same assertion key.
 */
export interface SignInGateway {
  gatewayUrl: string;
  authUrl: string;
  stop: () => Promise<void>;
}

export async function startSignInGateway(p: Platform): Promise<SignInGateway> {
  const log = createLogger('sign-in-gateway-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const auth = await createAuthServer({
    ds: p.app.auth,
    verifier: p.keys.verifier,
    log,
    tokens: {
      issuer: await AccessTokenIssuer.fromPem(signingKeyPem),
      revocations: new RevocationPublisher(await openIdentityBucket(p.nats.nc)),
      sealKey: randomBytes(32),
    },
  });
  const authUrl = urlOf(await auth.listen(0, '127.0.0.1'));
  const gateway = await createGateway({
    supergraphSdl: loadSupergraph(),
    subgraphUrls: { ...p.subgraphUrls, auth: authUrl },
    signer: p.keys.signer,
    log,
    limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
    authenticate: async (req: Request): Promise<Viewer> => {
      const raw = req.headers[TEST_VIEWER_HEADER];
      return typeof raw === 'string' ? viewerSchema.parse(JSON.parse(raw)) : ANONYMOUS;
    },
  });
  const gatewayUrl = urlOf(await gateway.listen(0, '127.0.0.1'));
  return {
    gatewayUrl,
    authUrl,
    stop: async () => {
      await gateway.stop();
      await auth.stop();
    },
  };
}
