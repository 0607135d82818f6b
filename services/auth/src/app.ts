import { readFileSync } from 'node:fs';
import path from 'node:path';
import gql from 'graphql-tag';
import type { DataSource } from 'typeorm';
import { checkDatabase, serviceStatus } from '@datalinx/db';
import { createSubgraphServer, type ViewerAssertionVerifier } from '@datalinx/graphql-kit';
import { API_KEY_EXCHANGE_PATH, JWKS_PATH } from '@datalinx/contracts';
import type { Logger } from '@datalinx/common';
import { resolvers } from './graphql/resolvers';
import { permissions } from './graphql/permissions';
import type { AuthContext } from './graphql/context';
import { IdentityManager } from './managers/identity.manager';
import { AccountManager } from './managers/account.manager';
import { SessionManager } from './managers/session.manager';
import { MfaManager } from './managers/mfa.manager';
import { PolicyManager } from './managers/policy.manager';
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
  /** Called after a transaction that wrote to the outbox (kicks the relay). */
  onOutboxCommit?: () => void;
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

/** Wires the auth subgraph: DAOs → managers → resolvers, behind the assertion check; JWKS beside it. */
export function createAuthServer(d: AuthDeps) {
  const orgs = new OrganizationDao(d.ds);
  const users = new UserDao(d.ds);
  const sessionDao = new SessionDao(d.ds);
  const grants = new WorkspaceGrantDao(d.ds);
  const workspaceRefs = new WorkspaceRefDao(d.ds);
  const accounts = new AccountManager(d.ds, orgs, users, sessionDao, d.log, d.tokens?.revocations, d.onOutboxCommit);
  const mfaDao = new MfaDao(d.ds);
  const throttle = new LoginThrottle(new LoginFailureDao(d.ds), d.attemptLimits);
  const sessions = d.tokens ? new SessionManager(d.ds, orgs, users, sessionDao, grants, mfaDao, d.tokens.issuer, d.tokens.revocations, throttle, d.log, d.onOutboxCommit) : null;
  const mfa = d.tokens && sessions ? new MfaManager(d.ds, orgs, users, mfaDao, sessions, d.tokens.sealKey, throttle, d.log, d.onOutboxCommit) : null;
  const policy = new PolicyManager(d.ds, orgs, users, sessionDao, mfaDao, d.tokens?.revocations, d.log, d.onOutboxCommit);
  const serviceAccounts = new ServiceAccountManager(d.ds, new ServiceAccountDao(d.ds), workspaceRefs, d.tokens?.issuer, d.tokens?.revocations, d.log, d.onOutboxCommit);
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
      app.post(API_KEY_EXCHANGE_PATH, (req, res, next) => {
        readSmallJson(req)
          .then((body) => serviceAccounts.exchange(body && typeof body === 'object' ? (body as { apiKey?: unknown }).apiKey : undefined))
          .then((r) => {
            res.set('cache-control', 'no-store');
            if (r.ok) res.json({ accessToken: r.accessToken, expiresAt: r.expiresAt.toISOString(), keyId: r.keyId });
            else res.status(401).json({ error: r.reason });
          })
          .catch(next);
      });
    },
    buildContext: (base) => {
      const revealed = new Set<string>();
      return {
        ...base,
        revealed,
        identity: new IdentityManager(base.viewer, orgs, users, revealed),
        accounts,
        sessions,
        mfa,
        policy,
        serviceAccounts,
        status: () => serviceStatus(d.ds, 'auth'),
      };
    },
  });
}
