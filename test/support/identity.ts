import type http from 'node:http';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createLogger, type Clock, type Logger } from '@datalinx/common';
import { createTestDatabase, runtimeRoleUrl, type TestDatabase } from '@datalinx/db';
import { connectNats, ensureStreams, OutboxRelay, type Nats } from '@datalinx/messaging';
import { JWKS_PATH } from '@datalinx/contracts';
import type { DataSource } from 'typeorm';
import type { KV } from '@nats-io/kv';
import { decodeJwt } from 'jose';
import { authDataSource } from '../../services/auth/src/data-source';
import { migrate as migrateAuth } from '../../services/auth/src/migrate';
import { createAuthServer } from '../../services/auth/src/app';
import { AccessTokenIssuer } from '../../services/auth/src/tokens/access-tokens';
import type { AttemptLimits } from '../../services/auth/src/managers/login-throttle';
import { RevocationPublisher, openIdentityBucket } from '../../services/auth/src/tokens/revocations';
import { MailRelay } from '../../services/auth/src/mail/mail-relay';
import { hashPassword } from '../../services/auth/src/managers/passwords';
import { createGateway, type Gateway } from '../../gateway/src/app';
import { loadSupergraph } from '../../gateway/src/supergraph';
import { accessTokenVerifier, bearerAuthenticator, remoteJwks } from '../../gateway/src/auth/bearer';
import { apiKeyAuthenticator, defaultApiKeyExchangeUrl } from '../../gateway/src/auth/api-key';
import { RevocationView } from '../../gateway/src/auth/revocation-view';
import { cookieSessions, type CookieSessions } from '../../gateway/src/auth/cookie';
import { makeTestKeys, type TestKeys } from './keys';
import { postGraphQL, urlOf } from './http';

/**
 * The identity path as production wires it, in one test process: the auth subgraph (real
 * migrations, its own Ed25519 signing key, JWKS, outbox relay, revocations written to the NATS KV
 * bucket) and the real gateway with the real authenticators (X-API-Key exchanged with the auth
 * service, bearer: remote JWKS + the KV-watched revocation view). The other four subgraphs are not started: their URLs refuse connections, so
 * only auth-owned fields answer.
 */
export interface IdentityStack {
  db: TestDatabase;
  nats: Nats;
  keys: TestKeys;
  /** The auth service's access-token key (PKCS8 PEM) — for tests that forge tokens with the right key. */
  signingKeyPem: string;
  issuer: AccessTokenIssuer;
  /** The admin connection (bypasses row-level security): for inspecting and planting rows. The service itself runs as the runtime role. */
  authDs: DataSource;
  authUrl: string;
  jwksUrl: string;
  gatewayUrl: string;
  gateway: Gateway;
  revocations: RevocationView;
  /** The gateway's browser-session cookie handling (`clearCache()` makes the next cookie request exchange again). */
  cookies: CookieSessions;
  /**
   * Records a workspace of `orgId` in auth's replica (auth.workspace_ref), as the replica consumer
   * would on `workspace.workspace.created.v1` (the workspace service is not started here).
   */
  knowWorkspace: (orgId: string, workspaceId?: string) => Promise<string>;
  /** The auth service's at-rest key (TOTP secrets, e-mail bodies). */
  sealKey: Buffer;
  /** The MailRelay sending auth.email_outbox, when `mail` was given. */
  mailRelay: MailRelay | null;
  stop: () => Promise<void>;
}

/** The bucket with every put refused, as when the service loses NATS right after a commit. */
function failingKv(kv: KV): KV {
  return new Proxy(kv, {
    get: (target, prop, receiver) => (prop === 'put' ? () => Promise.reject(new Error('KV unavailable (test)')) : Reflect.get(target, prop, receiver)),
  });
}

/** A MailRelay for the stack: SMTP to `smtpUrl`, or local mode (logged to `log`) without it. */
export interface IdentityMailOptions {
  smtpUrl?: string;
  from?: string;
  /** The relay's logger (local mode logs the links here). Default: the stack's logger. */
  log?: Logger;
  webBaseUrl?: string;
  pollIntervalMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
}

export async function startIdentityStack(
  o: {
    log?: Logger;
    attemptLimits?: AttemptLimits;
    /** The login throttle's clock (default: the database's). */ throttleClock?: Clock;
    trustProxy?: boolean | number | string;
    /** `Secure` on the session cookies (default false: the stack is plain http://127.0.0.1). */ cookieSecure?: boolean;
    mail?: IdentityMailOptions;
    /** The auth service's direct KV writes fail (NATS KV down for it): revocations must still arrive through the outbox. */ kvWritesFail?: boolean;
  } = {},
): Promise<IdentityStack> {
  const natsUrl = process.env.NATS_URL;
  if (!natsUrl) throw new Error('NATS_URL is not set: run tests with `npm test`.');
  const log = o.log ?? createLogger('identity-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const db = await createTestDatabase();
  await migrateAuth(db.url);
  const keys = await makeTestKeys();
  const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const issuer = await AccessTokenIssuer.fromPem(signingKeyPem);
  const nats = await connectNats(natsUrl, 'identity-test');
  await ensureStreams(nats.jsm);
  // The service connects as the runtime role, as in production, so row-level security binds it;
  // `authDs` (the admin, which bypasses RLS) is what tests inspect and plant rows with.
  const authDs = await authDataSource(db.url, 4).initialize();
  const appDs = await authDataSource(await runtimeRoleUrl(process.env.DATABASE_URL, db.url), 4).initialize();
  const relay = new OutboxRelay(appDs, nats.js, log).start();
  const sealKey = randomBytes(32);
  const mailRelay = o.mail
    ? new MailRelay(appDs, sealKey, o.mail.log ?? log, {
        smtpUrl: o.mail.smtpUrl,
        from: o.mail.from ?? 'Datalinx <no-reply@localhost>',
        pollIntervalMs: o.mail.pollIntervalMs ?? 200,
        ...(o.mail.maxAttempts ? { maxAttempts: o.mail.maxAttempts } : {}),
        ...(o.mail.backoffBaseMs !== undefined ? { backoffBaseMs: o.mail.backoffBaseMs } : {}),
      }).start()
    : null;
  const auth = await createAuthServer({
    ds: appDs,
    verifier: keys.verifier,
    log,
    tokens: {
      issuer,
      revocations: new RevocationPublisher(o.kvWritesFail ? failingKv(await openIdentityBucket(nats.nc)) : await openIdentityBucket(nats.nc), log),
      sealKey,
    },
    ...(o.attemptLimits ? { attemptLimits: o.attemptLimits } : {}),
    ...(o.throttleClock ? { throttleClock: o.throttleClock } : {}),
    onOutboxCommit: () => relay.kick(),
    ...(mailRelay ? { mail: { relay: mailRelay, ...(o.mail?.webBaseUrl ? { webBaseUrl: o.mail.webBaseUrl } : {}) } } : {}),
  });
  const authHttp: http.Server = await auth.listen(0, '127.0.0.1');
  const authUrl = urlOf(authHttp);
  const jwksUrl = urlOf(authHttp, JWKS_PATH);
  const revocations = await RevocationView.start(nats.nc, log);
  const closed = 'http://127.0.0.1:9/graphql';
  const cookies = cookieSessions({
    authUrl,
    verify: accessTokenVerifier({ jwks: remoteJwks(jwksUrl), revocations, log }),
    secure: o.cookieSecure ?? false,
    log,
  });
  const gateway = await createGateway({
    supergraphSdl: loadSupergraph(),
    subgraphUrls: { auth: authUrl, workspace: closed, schema: closed, mapping: closed, monitoring: closed },
    signer: keys.signer,
    log,
    limits: { maxDepth: 12, maxAliases: 30, maxTokens: 5000, maxBodyBytes: 100_000 },
    subgraphTimeoutMs: 5000,
    ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
    authenticate: apiKeyAuthenticator({
      exchangeUrl: defaultApiKeyExchangeUrl(authUrl),
      verify: accessTokenVerifier({ jwks: remoteJwks(jwksUrl), revocations, log }),
      next: cookies.authenticator(bearerAuthenticator({ jwks: remoteJwks(jwksUrl), revocations, log })),
      log,
    }),
    routes: (app) => app.use(cookies.router),
    readiness: { identity: async () => (revocations.ready ? { ok: true } : { ok: false, error: 'revocation view not loaded' }) },
  });
  const gw = await gateway.listen(0, '127.0.0.1');
  return {
    db,
    nats,
    keys,
    signingKeyPem,
    issuer,
    authDs,
    authUrl,
    jwksUrl,
    gatewayUrl: urlOf(gw),
    gateway,
    revocations,
    cookies,
    knowWorkspace: async (orgId, workspaceId = randomUUID()) => {
      await authDs.query(`INSERT INTO auth.workspace_ref (workspace_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [workspaceId, orgId]);
      return workspaceId;
    },
    sealKey,
    mailRelay,
    stop: async () => {
      await gateway.stop();
      await revocations.stop();
      await auth.stop();
      await relay.stop();
      await mailRelay?.stop();
      await nats.close();
      await appDs.destroy();
      await authDs.destroy();
      await db.drop();
    },
  };
}

export interface SignUpFields {
  organizationName: string;
  slug: string;
  region: string;
  timeZone: string;
  email: string;
  displayName: string;
  password: string;
}

let n = 0;
/** Builder with defaults: a valid sign-up, unique per call. */
export function newSignUp(o: Partial<SignUpFields> = {}): SignUpFields {
  n += 1;
  const tag = `${Date.now().toString(36)}${n}${Math.floor(Math.random() * 1e6).toString(36)}`;
  return {
    organizationName: `Org ${tag}`,
    slug: `org-${tag}`,
    region: 'eu',
    timeZone: 'Europe/Berlin',
    email: `admin-${tag}@example.test`,
    displayName: 'Ada Admin',
    password: 'Correct-Horse-9-Battery',
    ...o,
  };
}

/** Sign-up answers only `ok` (the same whether or not the e-mail address had an account): the ids come from signing in. */
export const SIGN_UP = `mutation($i: SignUpInput!){ signUp(input: $i) { ok errors { code field message } } }`;
export const LOGIN = `mutation($i: LoginInput!){ login(input: $i) { accessToken expiresAt refreshToken user { id email organization { slug } } errors { code field message } } }`;
export const REFRESH = `mutation($t: String!){ refreshSession(refreshToken: $t) { accessToken expiresAt refreshToken user { id } errors { code field message } } }`;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  userId: string;
}

/** Signs up through the gateway and logs in; returns the ids (the org's from the access token's `org` claim) and tokens. */
export async function signUpAndLogin(gatewayUrl: string, o: Partial<SignUpFields> = {}): Promise<Tokens & { orgId: string; input: SignUpFields }> {
  const input = newSignUp(o);
  const su = await postGraphQL<{ signUp: { ok: boolean; errors: unknown[] } }>(gatewayUrl, SIGN_UP, { i: input });
  if (!su.body.data?.signUp.ok) throw new Error(`sign-up failed: ${JSON.stringify(su.body)}`);
  const tokens = await login(gatewayUrl, input.email, input.password);
  const orgId = decodeJwt(tokens.accessToken).org;
  if (typeof orgId !== 'string') throw new Error('the access token names no org');
  return { ...tokens, orgId, input };
}

/**
 * Another person in the org (inserted as an accepted invitation would leave them), with a
 * password; sign them in with `login`.
 */
export async function addPerson(
  s: Pick<IdentityStack, 'authDs'>,
  o: { orgId: string; orgRole: 'ADMIN' | 'MEMBER' | 'VIEWER'; password: string; email?: string },
): Promise<{ userId: string; email: string }> {
  const email = o.email ?? `${o.orgRole.toLowerCase()}-${randomUUID()}@example.test`;
  const [{ id }] = (await s.authDs.query(
    `INSERT INTO auth."user" (org_id, email, display_name, org_role, password_hash, password_changed_at) VALUES ($1, $2, $3, $4, $5, now()) RETURNING id`,
    [o.orgId, email, `${o.orgRole} person`, o.orgRole, await hashPassword(o.password)],
  )) as Array<{ id: string }>;
  return { userId: id!, email };
}

export async function login(gatewayUrl: string, email: string, password: string): Promise<Tokens> {
  const res = await postGraphQL<{ login: { accessToken: string | null; refreshToken: string | null; user: { id: string } | null; errors: unknown[] } }>(
    gatewayUrl,
    LOGIN,
    { i: { email, password } },
  );
  const l = res.body.data?.login;
  if (!l?.accessToken || !l.refreshToken || !l.user) throw new Error(`login failed: ${JSON.stringify(res.body.errors ?? l?.errors)}`);
  return { accessToken: l.accessToken, refreshToken: l.refreshToken, userId: l.user.id };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
