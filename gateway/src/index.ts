import https from 'node:https';
import { createLogger, loadEnvOrExit, onShutdown } from '@datalinx/common';
import { ViewerAssertionSigner, importAssertionPrivateKey } from '@datalinx/graphql-kit';
import { connectNats } from '@datalinx/messaging';
import { envSchema, SUBGRAPH_URL_VARS } from './env';
import { createGateway } from './app';
import { loadSupergraph } from './supergraph';
import { explorerRouter } from './explorer';
import { accessTokenVerifier, bearerAuthenticator, defaultJwksUrl, remoteJwks } from './auth/bearer';
import { apiKeyAuthenticator, defaultApiKeyExchangeUrl } from './auth/api-key';
import { RevocationView } from './auth/revocation-view';
import { cookieSessions } from './auth/cookie';
import { ApiLimitView } from './quota/api-limit-view';
import { ApiRateLimiter } from './quota/api-rate-limiter';
import { apiQuotaMiddleware } from './quota/middleware';
import { installOutgoingTls } from './tls';

async function main() {
  const env = loadEnvOrExit('gateway', envSchema);
  const log = createLogger('gateway', env.LOG_LEVEL);
  const outgoingTls = installOutgoingTls();
  const signer = new ViewerAssertionSigner(await importAssertionPrivateKey(env.DLX_ASSERTION_PRIVATE_KEY), env.DLX_ASSERTION_KEY_ID);
  const subgraphUrls = Object.fromEntries(Object.entries(SUBGRAPH_URL_VARS).map(([name, v]) => [name, env[v]]));
  const nats = await connectNats(env.NATS_URL, 'gateway', log);
  const revocations = await RevocationView.start(nats.nc, log);
  const apiLimits = await ApiLimitView.start(nats.nc, log, { defaultLimit: env.QUOTA_DEFAULT_API_REQUESTS_PER_MINUTE });
  const apiCounter = await ApiRateLimiter.open(nats.nc);
  const jwksUrl = env.AUTH_JWKS_URL ?? defaultJwksUrl(env.AUTH_URL);
  const jwks = remoteJwks(jwksUrl);
  const verify = accessTokenVerifier({ jwks, revocations, log });
  const cookies = cookieSessions({ authUrl: env.AUTH_URL, verify, secure: env.GATEWAY_COOKIE_SECURE, log });
  const gateway = await createGateway({
    supergraphSdl: loadSupergraph(env.SUPERGRAPH_PATH),
    subgraphUrls,
    signer,
    log,
    subgraphTimeoutMs: env.GATEWAY_SUBGRAPH_TIMEOUT_MS,
    trustProxy: env.GATEWAY_TRUST_PROXY,
    limits: {
      maxDepth: env.GATEWAY_MAX_DEPTH,
      maxAliases: env.GATEWAY_MAX_ALIASES,
      maxTokens: env.GATEWAY_MAX_TOKENS,
      maxBodyBytes: env.GATEWAY_MAX_BODY_BYTES,
    },
    // X-API-Key, then the browser's dlx_session cookie (without Authorization), then Bearer.
    authenticate: apiKeyAuthenticator({
      exchangeUrl: defaultApiKeyExchangeUrl(env.AUTH_URL),
      verify,
      next: cookies.authenticator(bearerAuthenticator({ jwks, revocations, log })),
      log,
    }),
    readiness: {
      identity: async () => (revocations.ready ? { ok: true } : { ok: false, error: 'revocation view not loaded' }),
      quotas: async () => (apiLimits.ready ? { ok: true } : { ok: false, error: 'API limit view not loaded' }),
    },
    apiQuota: apiQuotaMiddleware({ limits: apiLimits, counter: apiCounter, log }),
    routes: (app) => {
      app.use(cookies.router);
      app.use(explorerRouter({}));
    },
  });
  await gateway.listen(env.GATEWAY_PORT, env.GATEWAY_BIND_ADDRESS);
  log.info(
    {
      port: env.GATEWAY_PORT,
      host: env.GATEWAY_BIND_ADDRESS,
      tls: gateway.httpServer instanceof https.Server,
      subgraphs: subgraphUrls,
      jwks: jwksUrl,
      subgraphCa: outgoingTls.ca,
      clientCert: outgoingTls.clientCert,
    },
    'gateway listening',
  );
  onShutdown(log, [
    { name: 'http', close: () => gateway.stop() },
    { name: 'identity-watch', close: () => revocations.stop() },
    { name: 'quota-watch', close: () => apiLimits.stop() },
    { name: 'nats', close: () => nats.close() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`gateway failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
