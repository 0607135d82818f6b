import type http from 'node:http';
import type https from 'node:https';
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '@datalinx/common';
import {
  ANONYMOUS,
  HSTS_HEADER_VALUE,
  VIEWER_HEADER,
  createNodeServer,
  httpLifecycle,
  serverTlsFromEnv,
  type Viewer,
  type ViewerAssertionSigner,
} from '@datalinx/graphql-kit';
import { aliasLimitRule, depthLimitRule } from './limits';
import { AuthenticationError, AuthUnavailableError } from './auth/errors';
import { FILES_PATH, filesRoute, workspaceFilesUrl } from './files';

export interface GatewayContext {
  viewer: Viewer;
  requestId: string;
  /** `req.ip` (honouring `trustProxy`), passed to subgraphs inside the signed viewer assertion. */
  clientIp?: string;
  /** The User-Agent header (informational: the session list shows it). */
  userAgent?: string;
}

export interface GatewayLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxBodyBytes: number;
}

export interface GatewayOptions {
  supergraphSdl: string;
  /** https options (default: serverTlsFromEnv(), i.e. TLS_CERT_FILE + TLS_KEY_FILE); `false` serves plain HTTP. */
  tls?: https.ServerOptions | false;
  /** Subgraph name → URL (overrides the routing URLs in the composed supergraph). */
  subgraphUrls: Record<string, string>;
  signer: ViewerAssertionSigner;
  log: Logger;
  limits: GatewayLimits;
  subgraphTimeoutMs?: number;
  /**
   * Turns the incoming request's credentials into a viewer (production: API key → session
   * cookie → bearer; default: everyone is anonymous). Throwing AuthenticationError refuses the
   * request with its status (200 unless it says otherwise), code (UNAUTHENTICATED + its reason, or
   * CSRF_TOKEN_INVALID) and Set-Cookie headers; AuthUnavailableError with 503 AUTH_UNAVAILABLE.
   */
  authenticate?: (req: Request) => Promise<Viewer>;
  /** Extra /readyz checks besides the subgraphs (e.g. the identity revocation view is loaded). */
  readiness?: Record<string, () => Promise<{ ok: boolean; error?: string }>>;
  /**
   * Express `trust proxy`: which proxies' X-Forwarded-For to believe for the client IP. Default
   * false (the socket address): only turn it on behind a proxy that overwrites the header.
   */
  trustProxy?: boolean | number | string;
  /** Extra routes mounted before /graphql (the GraphiQL explorer). */
  routes?: (app: Express) => void;
  /**
   * Runs after authentication, before GraphQL: counts the request against its workspace's API
   * requests-per-minute quota and may answer 429 QUOTA_EXCEEDED (src/quota/middleware.ts).
   */
  apiQuota?: (req: Request, res: Response, next: NextFunction) => void | Promise<void>;
}

/**
 * Signs a fresh viewer assertion for every subgraph request (the only credential subgraphs
 * accept) and forwards the request id for log correlation.
 */
class AssertingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly serviceName: string,
    url: string,
    private readonly signer: ViewerAssertionSigner,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    super({
      url,
      // Node's fetch (undici) keeps a keep-alive connection pool per subgraph origin. A subgraph
      // that cannot be reached becomes a typed error naming the service (never its address);
      // the rest of the query is still answered.
      fetcher: (async (input: string, init?: RequestInit) => {
        try {
          return await fetch(input, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
        } catch (err) {
          this.log.warn(
            { service: this.serviceName, err: (err as Error).message, cause: String((err as { cause?: unknown }).cause ?? '') },
            'subgraph unreachable',
          );
          throw new GraphQLError(`The ${this.serviceName} service is unavailable right now; the rest of the answer is complete. Try again in a moment.`, {
            extensions: { code: 'SUBGRAPH_UNAVAILABLE', service: this.serviceName },
          });
        }
      }) as never,
    });
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const viewer = context?.viewer ?? ANONYMOUS;
    const rid = context?.requestId ?? randomUUID();
    request.http?.headers.set(
      VIEWER_HEADER,
      await this.signer.sign(viewer, rid, {
        ...(context?.clientIp ? { clientIp: context.clientIp } : {}),
        ...(context?.userAgent ? { userAgent: context.userAgent } : {}),
      }),
    );
    request.http?.headers.set('x-request-id', rid);
  }
}

const PASS_THROUGH_CODES = new Set(['QUERY_TOO_DEEP', 'TOO_MANY_ALIASES', 'SUBGRAPH_UNAVAILABLE']);

function formatError(log: Logger, limits: GatewayLimits) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // Apollo wraps validation errors (code GRAPHQL_VALIDATION_FAILED); our limit rules' own code is on the original.
    const unwrapped = unwrapResolverError(error) as { extensions?: Record<string, unknown>; originalError?: { extensions?: Record<string, unknown> } };
    const original = unwrapped?.originalError?.extensions?.code ? unwrapped.originalError : unwrapped;
    const ourCode = original?.extensions?.code as string | undefined;
    if (ourCode && PASS_THROUGH_CODES.has(ourCode)) return { ...formatted, extensions: { ...original.extensions } };
    if (/Document contains more tha[nt] \d+ tokens/.test(formatted.message)) {
      return {
        message: `The query has more than ${limits.maxTokens} tokens; that is the limit. Split it into smaller queries.`,
        extensions: { code: 'TOO_MANY_TOKENS', limit: limits.maxTokens },
      };
    }
    const code = formatted.extensions?.code as string | undefined;
    if (code === 'INTERNAL_SERVER_ERROR' && !formatted.path) {
      log.error({ message: formatted.message }, 'gateway error');
      return { message: 'Internal error in the gateway. It has been logged.', extensions: { code } };
    }
    return formatted;
  };
}

export interface Gateway {
  app: Express;
  httpServer: http.Server;
  listen: (port: number, host?: string) => Promise<http.Server>;
  stop: () => Promise<void>;
}

/** The federated gateway: edge limits, viewer assertion, query planning over the supergraph. */
export async function createGateway(o: GatewayOptions): Promise<Gateway> {
  const timeoutMs = o.subgraphTimeoutMs ?? 30000;
  const gateway = new ApolloGateway({
    supergraphSdl: o.supergraphSdl,
    buildService: ({ name, url }) => {
      const target = o.subgraphUrls[name] ?? url;
      if (!target) throw new Error(`no URL configured for subgraph "${name}"`);
      return new AssertingDataSource(name, target, o.signer, timeoutMs, o.log);
    },
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', o.trustProxy ?? false);
  const httpServer = createNodeServer(app, o.tls === undefined ? serverTlsFromEnv() : o.tls);
  // Browsers that reached us over TLS keep to https for a year.
  app.use((req, res, next) => {
    if (req.secure) res.setHeader('Strict-Transport-Security', HSTS_HEADER_VALUE);
    next();
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    formatError: formatError(o.log, o.limits),
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // Our own onShutdown drains in order (http, consumers, NATS, DB); Apollo must not exit first.
    stopOnTerminationSignals: false,
    parseOptions: { maxTokens: o.limits.maxTokens },
    validationRules: [depthLimitRule(o.limits.maxDepth), aliasLimitRule(o.limits.maxAliases)],
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  const urls = Object.values(o.subgraphUrls);
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: 'gateway' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all(
      Object.entries(o.subgraphUrls).map(async ([name, url]) => {
        try {
          const r = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(2000) });
          return [name, { ok: r.ok, ...(r.ok ? {} : { error: `HTTP ${r.status}` }) }] as const;
        } catch (err) {
          return [name, { ok: false, error: (err as Error).message }] as const;
        }
      }),
    );
    for (const [name, check] of Object.entries(o.readiness ?? {})) {
      checks.push([name, await check().catch((err: Error) => ({ ok: false, error: err.message }))]);
    }
    const ok = checks.every(([, c]) => c.ok) && urls.length > 0;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', service: 'gateway', checks: Object.fromEntries(checks) });
  });
  o.routes?.(app);

  const authenticate = o.authenticate ?? (async () => ANONYMOUS);
  // Credentials are checked before GraphQL runs: a refused token gets no data at all (HTTP 200 with
  // a GraphQL error, as clients expect), and the token is never echoed or logged.
  const authenticateRequest = async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.locals.viewer = await authenticate(req);
      next();
    } catch (err) {
      if (err instanceof AuthenticationError) {
        if (err.setCookies.length) res.append('Set-Cookie', err.setCookies);
        const extensions = err.code === 'UNAUTHENTICATED' ? { code: err.code, reason: err.reason } : { code: err.code };
        res.status(err.status).json({ errors: [{ message: err.message, extensions }] });
        return;
      }
      if (!(err instanceof AuthUnavailableError)) o.log.error({ err: (err as Error).message }, 'authentication failed unexpectedly');
      res.status(503).json({ errors: [{ message: 'Sign-in cannot be checked right now. Try again in a moment.', extensions: { code: 'AUTH_UNAVAILABLE' } }] });
    }
  };
  // File uploads: authenticated like /graphql, streamed to the workspace service (raw body, no JSON limit).
  if (o.subgraphUrls.workspace) {
    app.post(FILES_PATH, filesRoute({ target: workspaceFilesUrl(o.subgraphUrls.workspace), authenticate, signer: o.signer, log: o.log, timeoutMs }));
  }
  app.use(
    '/graphql',
    express.json({ limit: o.limits.maxBodyBytes }),
    authenticateRequest,
    ...(o.apiQuota ? [o.apiQuota] : []),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => ({
        viewer: res.locals.viewer as Viewer,
        requestId:
          typeof req.headers['x-request-id'] === 'string' && /^[\w-]{8,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID(),
        ...(req.ip ? { clientIp: req.ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '') } : {}),
        ...(req.get('user-agent') ? { userAgent: req.get('user-agent')!.slice(0, 256) } : {}),
      }),
    }),
  );
  // Body-size and JSON errors from express.json, as typed GraphQL-shaped errors.
  app.use((err: Error & { type?: string; status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (err.type === 'entity.too.large') {
      res.status(413).json({
        errors: [
          {
            message: `The request body is larger than ${o.limits.maxBodyBytes} bytes.`,
            extensions: { code: 'PAYLOAD_TOO_LARGE', limit: o.limits.maxBodyBytes },
          },
        ],
      });
      return;
    }
    if (err.type === 'entity.parse.failed') {
      res.status(400).json({ errors: [{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
      return;
    }
    next(err);
  });

  return {
    app,
    httpServer,
    ...httpLifecycle(httpServer, apollo),
  };
}
