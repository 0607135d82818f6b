import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { createLogger } from '@datalinx/common';
import { JWKS_PATH } from '@datalinx/contracts';
import { createAuthServer } from '../../services/auth/src/app';
import { AccessTokenIssuer } from '../../services/auth/src/tokens/access-tokens';
import { RevocationPublisher, openIdentityBucket } from '../../services/auth/src/tokens/revocations';
import { createGateway } from '../../gateway/src/app';
import { loadSupergraph } from '../../gateway/src/supergraph';
import { accessTokenVerifier, bearerAuthenticator, remoteJwks } from '../../gateway/src/auth/bearer';
import { RevocationView } from '../../gateway/src/auth/revocation-view';
import { cookieSessions } from '../../gateway/src/auth/cookie';
import { startPlatform, type Platform } from '../../test/support/platform';
import { urlOf } from '../../test/support/http';
import { deleteWorkerConsumers } from '../../test/support/worker-consumers';

/**
 * The platform as the browser meets it: the five real subgraphs on a throwaway database
 * (`startPlatform`), an auth server that signs people in (token issuer, revocations in NATS KV),
 * and a gateway with the production authenticators (the `dlx_session` cookie with its CSRF
 * header, bearer tokens) and the `/auth/session` routes. Workers are started per workspace
 * (`startWorker`), since their subject filter names it.
 */
export interface AppPlatform {
  platform: Platform;
  gatewayUrl: string;
  /** Starts the real worker process (workers/dist) for one workspace's jobs. */
  startWorker: (workspaceId: string) => void;
  stop: () => Promise<void>;
}

const WORKER = path.resolve(__dirname, '..', '..', 'workers', 'dist', 'index.js');
const LOOPBACK_ALLOWED = '127.0.0.0/8,::1/128';

export async function startAppPlatform(): Promise<AppPlatform> {
  const log = createLogger('web-e2e', process.env.TEST_LOG_LEVEL ?? 'silent');
  const platform = await startPlatform();
  const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const auth = await createAuthServer({
    ds: platform.app.auth,
    verifier: platform.keys.verifier,
    log,
    tokens: {
      issuer: await AccessTokenIssuer.fromPem(signingKeyPem),
      revocations: new RevocationPublisher(await openIdentityBucket(platform.nats.nc), log),
      sealKey: randomBytes(32),
    },
  });
  const authHttp = await auth.listen(0, '127.0.0.1');
  const authUrl = urlOf(authHttp);
  const jwksUrl = urlOf(authHttp, JWKS_PATH);
  const revocations = await RevocationView.start(platform.nats.nc, log);
  const verify = accessTokenVerifier({ jwks: remoteJwks(jwksUrl), revocations, log });
  const cookies = cookieSessions({ authUrl, verify, secure: false, log });
  const gateway = await createGateway({
    supergraphSdl: loadSupergraph(),
    subgraphUrls: { ...platform.subgraphUrls, auth: authUrl },
    signer: platform.keys.signer,
    log,
    limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
    authenticate: cookies.authenticator(bearerAuthenticator({ jwks: remoteJwks(jwksUrl), revocations, log })),
    routes: (app) => app.use(cookies.router),
  });
  const gatewayUrl = urlOf(await gateway.listen(0, '127.0.0.1'));

  const workers: ChildProcess[] = [];
  const durables: string[] = [];
  const startWorker = (workspaceId: string) => {
    const durable = `web-e2e-${workspaceId.slice(0, 8)}`;
    durables.push(durable);
    const child = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        NATS_URL: process.env.NATS_URL!,
        DLX_MASTER_KEY: platform.masterKey,
        CONNECTION_ALLOWED_NETWORKS: LOOPBACK_ALLOWED,
        WORKER_DURABLE: durable,
        WORKER_FILTER_SUBJECT: `jobs.*.*.${workspaceId}`,
        JOB_ACK_WAIT_MS: '5000',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    workers.push(child);
  };

  return {
    platform,
    gatewayUrl,
    startWorker,
    stop: async () => {
      await Promise.all(
        workers.filter((w) => w.exitCode === null && w.signalCode === null).map((w) => new Promise((resolve) => (w.once('exit', resolve), w.kill('SIGTERM')))),
      );
      for (const durable of durables) await deleteWorkerConsumers(platform.nats.jsm, durable);
      await gateway.stop();
      await revocations.stop();
      await auth.stop();
      await platform.stop();
    },
  };
}
