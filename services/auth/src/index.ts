import { createLogger, loadEnvOrExit, onShutdown, parseKey } from '@datalinx/common';
import { ViewerAssertionVerifier, importAssertionPublicKey } from '@datalinx/graphql-kit';
import { connectNats, ensureStreams, natsReadiness, OutboxRelay, startWorkspaceReplica } from '@datalinx/messaging';
import { envSchema } from './env';
import { authDataSource } from './data-source';
import { createAuthServer } from './app';
import { WorkspaceRefDao } from './daos/workspace-ref.dao';
import { AccessTokenIssuer } from './tokens/access-tokens';
import { RevocationPublisher, openIdentityBucket } from './tokens/revocations';
import { MailRelay } from './mail/mail-relay';

async function main() {
  const env = loadEnvOrExit('auth', envSchema);
  const log = createLogger('auth', env.LOG_LEVEL);
  const ds = await authDataSource(env.DATABASE_URL, env.DB_POOL_MAX, env.DB_STATEMENT_TIMEOUT_MS).initialize();
  const nats = await connectNats(env.NATS_URL, 'auth', log);
  await ensureStreams(nats.jsm);
  const verifier = new ViewerAssertionVerifier(await importAssertionPublicKey(env.DLX_ASSERTION_PUBLIC_KEY));
  const issuer = await AccessTokenIssuer.fromPem(env.DLX_AUTH_SIGNING_KEY, env.ACCESS_TOKEN_TTL_S);
  const revocations = new RevocationPublisher(await openIdentityBucket(nats.nc), log.child({ component: 'RevocationPublisher' }));
  const relay = new OutboxRelay(ds, nats.js, log.child({ component: 'outbox-relay' }), { pollIntervalMs: env.OUTBOX_POLL_INTERVAL_MS }).start();
  // Replicates which org owns each workspace (workspace.workspace.created.v1 → auth.workspace_ref):
  // service accounts, invitations and grants may only name the org's own workspaces.
  const workspaceRefs = new WorkspaceRefDao(ds);
  const workspaces = await startWorkspaceReplica({
    js: nats.js,
    jsm: nats.jsm,
    log,
    durable: env.AUTH_WORKSPACE_EVENTS_DURABLE,
    record: (orgId, workspaceId) => workspaceRefs.upsert(orgId, workspaceId),
  });
  const sealKey = parseKey(env.DLX_MASTER_KEY);
  // Invitation, password-reset and sign-up-notice e-mails (auth.email_outbox): SMTP when SMTP_URL is set, else
  // local mode (logged with their link). The URL's credentials are never logged.
  const mailRelay = new MailRelay(ds, sealKey, log.child({ component: 'mail-relay' }), { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM }).start();
  const server = await createAuthServer({
    ds,
    verifier,
    log,
    natsReady: natsReadiness(nats.nc),
    tokens: { issuer, revocations, sealKey },
    attemptLimits: { maxPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT, maxPerIp: env.LOGIN_MAX_FAILURES_PER_IP, windowSeconds: env.LOGIN_FAILURE_WINDOW_S },
    onOutboxCommit: () => relay.kick(),
    mail: {
      relay: mailRelay,
      webBaseUrl: env.WEB_BASE_URL,
      invitationTtlHours: env.INVITATION_TTL_HOURS,
      passwordResetTtlMinutes: env.PASSWORD_RESET_TTL_MINUTES,
    },
  });
  await server.listen(env.AUTH_PORT);
  log.info({ port: env.AUTH_PORT, kid: issuer.kid }, 'auth subgraph listening');
  onShutdown(log, [
    { name: 'http', close: () => server.stop() },
    { name: 'workspace-events consumer', close: () => workspaces.stop() },
    { name: 'outbox-relay', close: () => relay.stop() },
    { name: 'mail-relay', close: () => mailRelay.stop() },
    { name: 'nats', close: () => nats.close() },
    { name: 'database', close: () => ds.destroy() },
  ]);
}

main().catch((err) => {
  process.stderr.write(`auth failed to start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
