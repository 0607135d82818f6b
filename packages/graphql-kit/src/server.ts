import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { applyMiddleware } from 'graphql-middleware';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { IRules } from 'graphql-shield';
import type { Logger } from '@datalinx/common';
import { AssertionError, VIEWER_HEADER, type ViewerAssertionVerifier } from './viewer';
import { createShield } from './shield';
import { inputGuard } from './input-guard';
import { makeFormatError } from './errors';
import type { RequestContext } from './context';
import { TLS_CIPHERS } from './tls';

export { HSTS_HEADER_VALUE, TLS_CIPHERS } from './tls';

/**
 * The https options of a server: from TLS_CERT_FILE + TLS_KEY_FILE (PEM) unless DLX_INTERNAL_TLS
 * is off; undefined (plain HTTP) when they are not set. With TLS_REQUIRE_CLIENT_CERT=true a
 * client must present a certificate signed by TLS_CA_FILE, checked during the handshake (a
 * client without one never reaches HTTP, let alone GraphQL).
 */
export function serverTlsFromEnv(env: NodeJS.ProcessEnv = process.env): https.ServerOptions | undefined {
  if (/^(off|false|0|no)$/i.test((env.DLX_INTERNAL_TLS ?? '').trim())) return undefined;
  const { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_CA_FILE: caFile } = env;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new Error('set both TLS_CERT_FILE and TLS_KEY_FILE, or neither');
  const requireClientCert = env.TLS_REQUIRE_CLIENT_CERT === 'true';
  if (requireClientCert && !caFile) throw new Error('TLS_REQUIRE_CLIENT_CERT=true needs TLS_CA_FILE (the CA that signs client certificates)');
  return {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    minVersion: 'TLSv1.2',
    ciphers: TLS_CIPHERS,
    honorCipherOrder: true,
    ...(requireClientCert ? { ca: readFileSync(caFile!), requestCert: true, rejectUnauthorized: true } : {}),
  };
}

/**
 * The node server for an express app: https with `tls` (default: serverTlsFromEnv()), plain
 * http with `tls: false`. A plain HTTP request to a TLS port fails the handshake and is closed.
 */
export function createNodeServer(app: Express, tls: https.ServerOptions | false | undefined = serverTlsFromEnv()): http.Server {
  const server = tls ? https.createServer(tls, app) : http.createServer(app);
  server.keepAliveTimeout = 65_000; // longer than a client pool's idle timeout (the gateway's)
  return server;
}

/** `https://127.0.0.1:<port>` or `http://…` for a listening server (for URLs a process hands others). */
export function originOf(server: http.Server, host = '127.0.0.1'): string {
  const { port } = server.address() as { port: number };
  return `${server instanceof https.Server ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export type ReadinessCheck = () => Promise<{ ok: boolean; error?: string }>;

export interface SubgraphServerOptions<C extends RequestContext> {
  name: string;
  typeDefs: DocumentNode;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  resolvers: GraphQLResolverMap<any>;
  permissions: IRules;
  verifier: ViewerAssertionVerifier;
  log: Logger;
  /** Named dependency checks for /readyz (database, nats, …). */
  readiness: Record<string, ReadinessCheck>;
  /** Adds the service's own per-request state (managers, DataLoaders) to the base context. */
  buildContext: (base: RequestContext) => C | Promise<C>;
  maxBodyBytes?: number;
  /**
   * Extra public routes mounted before /graphql, outside the viewer-assertion check (e.g. the auth
   * service's JWKS). Whatever is mounted here is reachable without going through the gateway.
   */
  routes?: (app: Express) => void;
  /** https options (default: serverTlsFromEnv()); `false` serves plain HTTP. */
  tls?: https.ServerOptions | false;
}

export interface SubgraphServer {
  app: Express;
  schema: GraphQLSchema;
  listen: (port: number, host?: string) => Promise<http.Server>;
  stop: () => Promise<void>;
}

/**
 * The schema with the argument guard and shield applied, in that order (the first middleware is
 * the outermost): shield and the resolvers only ever see guarded arguments (see input-guard.ts).
 * Exported for tests that check every root field has a rule.
 */
export function buildShieldedSchema(typeDefs: DocumentNode, resolvers: GraphQLResolverMap<unknown>, permissions: IRules): GraphQLSchema {
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);
  return applyMiddleware(schema, inputGuard(schema), createShield(permissions));
}

/**
 * Subgraph server factory: express with /healthz (alive), /readyz (dependencies reachable) and
 * /graphql, where every request must carry a valid viewer assertion (401 otherwise, before
 * GraphQL runs — `_service` and `_entities` included).
 */
export async function createSubgraphServer<C extends RequestContext>(o: SubgraphServerOptions<C>): Promise<SubgraphServer> {
  const schema = buildShieldedSchema(o.typeDefs, o.resolvers, o.permissions);
  const app = express();
  app.disable('x-powered-by');
  const httpServer = createNodeServer(app, o.tls === undefined ? serverTlsFromEnv() : o.tls);
  const apollo = new ApolloServer<C>({
    schema,
    formatError: makeFormatError(o.log),
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // Our own onShutdown drains in order (http, consumers, NATS, DB); Apollo must not exit first.
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer }), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', service: o.name });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, { ok: boolean; error?: string }> = {};
    await Promise.all(
      Object.entries(o.readiness).map(async ([k, check]) => {
        checks[k] = await check().catch((err: Error) => ({ ok: false, error: err.message }));
      }),
    );
    const ok = Object.values(checks).every((c) => c.ok);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', service: o.name, checks });
  });

  o.routes?.(app);

  const assertion = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const header = req.headers[VIEWER_HEADER];
      const { viewer, requestId, clientIp, userAgent } = await o.verifier.verify(Array.isArray(header) ? header[0] : header);
      res.locals.viewer = viewer;
      res.locals.clientIp = clientIp;
      res.locals.userAgent = userAgent;
      res.locals.requestId = requestId ?? randomUUID();
      next();
    } catch (err) {
      const reason = err instanceof AssertionError ? err.reason : 'invalid';
      o.log.warn({ reason, ip: req.ip }, 'rejected request without a valid viewer assertion');
      res.status(401).json({
        errors: [{ message: (err as Error).message, extensions: { code: 'UNAUTHENTICATED', reason: `ASSERTION_${reason.toUpperCase()}` } }],
      });
    }
  };

  app.use(
    '/graphql',
    assertion,
    express.json({ limit: o.maxBodyBytes ?? 1_000_000 }),
    expressMiddleware(apollo, {
      context: async ({ res }) => {
        const requestId = res.locals.requestId as string;
        const clientIp = res.locals.clientIp as string | undefined;
        const userAgent = res.locals.userAgent as string | undefined;
        return o.buildContext({
          viewer: res.locals.viewer,
          requestId,
          log: o.log.child({ requestId }),
          ...(clientIp ? { clientIp } : {}),
          ...(userAgent ? { userAgent } : {}),
        });
      },
    }),
  );

  return {
    app,
    schema,
    ...httpLifecycle(httpServer, apollo),
  };
}

/**
 * `listen` (resolves once bound, rejects on EADDRINUSE and friends) and `stop` (Apollo first, then
 * the HTTP server) for an Apollo Server on a node HTTP server: shared by subgraphs and the gateway.
 */
export function httpLifecycle(httpServer: http.Server, apollo: { stop(): Promise<void> }) {
  return {
    listen: (port: number, host = '0.0.0.0') =>
      new Promise<http.Server>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve(httpServer);
        });
      }),
    stop: async () => {
      await apollo.stop();
      if (httpServer.listening) await new Promise<void>((r) => httpServer.close(() => r()));
    },
  };
}
