import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import type { Express } from 'express';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import { API_KEY_EXCHANGE_PATH, JWKS_PATH, SESSION_COOKIE_PATH, SESSION_COOKIE_REVOKE_PATH, SESSION_EXCHANGE_PATH } from '@datalinx/contracts';
import type { Clock, Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { AuthContext } from './graphql/context';
import { IdentityManager } from './managers/identity.manager';
import { AccountManager } from './managers/account.manager';
import { SessionManager } from './managers/session.manager';
import { MfaManager } from './managers/mfa.manager';
import { PolicyManager } from './managers/policy.manager';
import { PeopleManager } from './managers/people.manager';
import { PasswordManager } from './managers/password.manager';
import { OrganizationDao } from './daos/organization.dao';
import { UserDao } from './daos/user.dao';
import { SessionDao } from './daos/session.dao';
import { WorkspaceGrantDao } from './daos/workspace-grant.dao';
import { WorkspaceRefDao } from './daos/workspace-ref.dao';
import { MfaDao } from './daos/mfa.dao';
import { LoginFailureDao } from './daos/login-failure.dao';
import { ServiceAccountDao } from './daos/service-account.dao';
import { ServiceAccountManager } from './managers/service-account.manager';
import { LoginThrottle, type AttemptLimits } from './managers/login-throttle';
import type { AccessTokenIssuer } from './tokens/access-tokens';
import type { RevocationPublisher } from './tokens/revocations';
import { InvitationDao } from './daos/invitation.dao';
import { PasswordResetDao } from './daos/password-reset.dao';
import { EmailOutboxDao } from './daos/email-outbox.dao';
import { InvitationManager } from './managers/invitation.manager';
import { PasswordResetManager } from './managers/password-reset.manager';

export const typeDefs = gql(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8'));

export interface AuthDeps {
  ds: DataSource;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  natsReady?: () => Promise<{ ok: boolean; error?: string }>;
  /**
   * Sign-in: the access-token signer (also published as the JWKS) and the revocation publisher
   * (NATS KV). Without it sign-up still works and login answers SIGN_IN_UNAVAILABLE.
   */
  tokens?: {
    issuer: AccessTokenIssuer;
    revocations: RevocationPublisher;
    /** AES-256 key (DLX_MASTER_KEY) sealing TOTP secrets at rest. */
    sealKey: Buffer;
  };
  /** Brute-force limits (default: 5 failures per account, 50 per IP, in 15 minutes). */
  attemptLimits?: AttemptLimits;
  /** The login throttle's clock. Omitted: the database's (shared by every instance); tests pass one they move. */
  throttleClock?: Clock;
  /** Called after a transaction that wrote to the outbox (kicks the relay). */
  onOutboxCommit?: () => void;
  /**
   * Invitations, password resets and the notice of a sign-up with a taken address (they need
   * `tokens.sealKey`: the e-mail bodies are sealed).
   * `relay` is kicked after a commit that queued an e-mail (index.ts starts a MailRelay; tests may
   * start one too); without it the e-mails wait in auth.email_outbox for a relay to come.
   */
  mail?: {
    relay?: { kick: () => void };
    /** Default http://localhost:3000. */
    webBaseUrl?: string;
    /** Default 168. */
    invitationTtlHours?: number;
    /** Default 30. */
    passwordResetTtlMinutes?: number;
  };
}

/** A JSON body of at most 4 KiB (the exchange request); anything else reads as undefined. */
async function readSmallJson(req: NodeJS.ReadableStream): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    size += b.length;
    if (size > 4096) return undefined;
    chunks.push(b);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A plain-HTTP POST taking one secret-bearing field of a small JSON body (an API key, a refresh
 * token, a session cookie): the value is never logged or echoed, and no answer is cached.
 */
function postSecret(app: Express, route: string, field: string, run: (value: unknown) => Promise<{ status: number; body: unknown }>): void {
  app.post(route, (req, res, next) => {
    readSmallJson(req)
      .then((body) => run(body && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined))
      .then((r) => {
        res.set('cache-control', 'no-store').status(r.status).json(r.body);
      })
      .catch(next);
  });
}

/** The session routes without a token signer (see AuthDeps.tokens). */
const SIGN_IN_UNAVAILABLE = { status: 503, body: { error: 'SIGN_IN_UNAVAILABLE' } };

/** Wires the auth subgraph: DAOs → managers → resolvers, behind the assertion check; JWKS beside it. */
export function createAuthServer(d: AuthDeps) {
  const orgs = new OrganizationDao(d.ds);
  const users = new UserDao(d.ds);
  const sessionDao = new SessionDao(d.ds);
  const grants = new WorkspaceGrantDao(d.ds);
  const workspaceRefs = new WorkspaceRefDao(d.ds);
  const mailOut = new EmailOutboxDao();
  const webBaseUrl = d.mail?.webBaseUrl ?? 'http://localhost:3000';
  const onMail = () => d.mail?.relay?.kick();
  const accounts = new AccountManager(
    d.ds,
    orgs,
    users,
    sessionDao,
    d.log,
    d.tokens?.revocations,
    d.onOutboxCommit,
    d.tokens ? { outbox: mailOut, sealKey: d.tokens.sealKey, webBaseUrl, afterMail: onMail } : null,
  );
  const mfaDao = new MfaDao(d.ds);
  const throttle = new LoginThrottle(new LoginFailureDao(d.ds), d.attemptLimits, d.throttleClock ?? null);
  const sessions = d.tokens
    ? new SessionManager(d.ds, orgs, users, sessionDao, grants, mfaDao, d.tokens.issuer, d.tokens.revocations, throttle, d.log, d.onOutboxCommit)
    : null;
  const mfa = d.tokens && sessions ? new MfaManager(d.ds, orgs, users, mfaDao, sessions, d.tokens.sealKey, throttle, d.log, d.onOutboxCommit) : null;
  const policy = new PolicyManager(d.ds, orgs, users, sessionDao, mfaDao, d.tokens?.revocations, d.log, d.onOutboxCommit);
  const serviceAccounts = new ServiceAccountManager(
    d.ds,
    new ServiceAccountDao(d.ds),
    workspaceRefs,
    d.tokens?.issuer,
    d.tokens?.revocations,
    d.log,
    d.onOutboxCommit,
  );
  const invitations = d.tokens
    ? new InvitationManager(
        d.ds,
        orgs,
        users,
        new InvitationDao(d.ds),
        workspaceRefs,
        grants,
        mailOut,
        d.tokens.sealKey,
        { webBaseUrl, ttlHours: d.mail?.invitationTtlHours ?? 168 },
        d.log,
        d.onOutboxCommit,
        onMail,
      )
    : null;
  const passwordResets = d.tokens
    ? new PasswordResetManager(
        d.ds,
        orgs,
        users,
        sessionDao,
        new PasswordResetDao(d.ds),
        mailOut,
        throttle,
        d.tokens.sealKey,
        { webBaseUrl, ttlMinutes: d.mail?.passwordResetTtlMinutes ?? 30 },
        d.tokens.revocations,
        d.log,
        d.onOutboxCommit,
        onMail,
      )
    : null;
  const people = new PeopleManager(d.ds, users, grants, workspaceRefs, sessionDao, d.log, d.tokens?.revocations, d.onOutboxCommit);
  const identity = new IdentityManager(orgs, users);
  const passwords = new PasswordManager(d.ds, orgs, users, sessionDao, sessions, throttle, d.log, d.tokens?.revocations, d.onOutboxCommit);
  const jwks = d.tokens?.issuer.jwks() ?? { keys: [] };
  return createSubgraphServer<AuthContext>({
    name: 'auth',
    typeDefs,
    resolvers: resolvers as never,
    permissions,
    verifier: d.verifier,
    log: d.log,
    readiness: {
      database: async () => checkDatabase(d.ds),
      ...(d.natsReady ? { nats: d.natsReady } : {}),
    },
    // Public by nature (only public keys): the gateway fetches it to verify access tokens.
    routes: (app) => {
      app.get(JWKS_PATH, (_req, res) => {
        res.set('cache-control', 'public, max-age=300').json(jwks);
      });
      // API key → short-lived service-account access token (the gateway calls it for X-API-Key).
      // Plain HTTP beside the JWKS, not GraphQL: the caller has no viewer yet, and the key stays
      // out of GraphQL variables and operation logs. The key is never logged or echoed.
      postSecret(app, API_KEY_EXCHANGE_PATH, 'apiKey', async (apiKey) => {
        const r = await serviceAccounts.exchange(apiKey);
        return r.ok
          ? { status: 200, body: { accessToken: r.accessToken, expiresAt: r.expiresAt.toISOString(), keyId: r.keyId } }
          : { status: 401, body: { error: r.reason } };
      });
      // Browser sessions (the gateway's httpOnly `dlx_session` cookie), same reasons: the gateway
      // calls these before it has a viewer, and refresh tokens and cookies stay out of GraphQL.
      // refresh token → cookie (the refresh token is spent):
      postSecret(app, SESSION_COOKIE_PATH, 'refreshToken', async (refreshToken) => {
        if (!sessions) return SIGN_IN_UNAVAILABLE;
        const r = await sessions.createBrowserSession(refreshToken);
        return r.ok ? { status: 200, body: { cookie: r.cookie, expiresAt: r.expiresAt.toISOString() } } : { status: 401, body: { error: r.reason } };
      });
      // cookie → short-lived access token of its session (resets the idle timer):
      postSecret(app, SESSION_EXCHANGE_PATH, 'cookie', async (cookie) => {
        if (!sessions) return SIGN_IN_UNAVAILABLE;
        const r = await sessions.exchangeBrowserSession(cookie);
        return r.ok ? { status: 200, body: { accessToken: r.accessToken, expiresAt: r.expiresAt.toISOString() } } : { status: 401, body: { error: r.reason } };
      });
      // logout of the cookie's session:
      postSecret(app, SESSION_COOKIE_REVOKE_PATH, 'cookie', async (cookie) => {
        if (!sessions) return SIGN_IN_UNAVAILABLE;
        return { status: 200, body: await sessions.revokeBrowserSession(cookie) };
      });
    },
    buildContext: (base) => ({
      ...base,
      revealed: new Set<string>(),
      identity,
      accounts,
      sessions,
      mfa,
      policy,
      serviceAccounts,
      invitations,
      passwordResets,
      people,
      passwords,
      status: () => serviceStatus(d.ds, 'auth'),
    }),
  });
}
