import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '@datalinx/common';
import { VIEWER_HEADER, type Viewer, type ViewerAssertionSigner } from '@datalinx/graphql-kit';
import { AuthenticationError, AuthUnavailableError } from './auth/errors';

export const FILES_PATH = '/files';

/** The workspace service's upload endpoint, beside its /graphql. */
export const workspaceFilesUrl = (workspaceGraphqlUrl: string) => new URL(FILES_PATH, workspaceGraphqlUrl);

const fail = (res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}) => {
  // The body may still be arriving: answer now and close, rather than reading (maybe 100 MiB of) it.
  if (!res.req.complete) res.set('connection', 'close');
  res.status(status).json({ errors: [{ message, extensions: { code, ...extra } }] });
};

/**
 * `POST /files?workspaceId=…&name=…` with the file as the raw body (CSV, JSON, JSON Lines; not
 * multipart). The gateway only authenticates the caller — the same chain as /graphql: API key,
 * session cookie (with its CSRF header), bearer token — and streams the body unchanged to the
 * workspace service's `POST /files` with a fresh viewer assertion. Everything else (workspace,
 * permission, size and type limits) is decided there, and its answer is passed back as is.
 * Refused credentials answer 401 (not GraphQL's 200: this is a plain HTTP endpoint).
 */
export function filesRoute(o: {
  target: URL;
  authenticate: (req: Request) => Promise<Viewer>;
  signer: ViewerAssertionSigner;
  log: Logger;
  timeoutMs: number;
}): RequestHandler {
  return async (req, res) => {
    let viewer: Viewer;
    try {
      viewer = await o.authenticate(req);
    } catch (err) {
      if (err instanceof AuthenticationError) {
        if (err.setCookies.length) res.append('Set-Cookie', err.setCookies);
        const status = err.status === 200 ? 401 : err.status;
        return fail(res, status, err.code, err.message, err.code === 'UNAUTHENTICATED' ? { reason: err.reason } : {});
      }
      if (!(err instanceof AuthUnavailableError)) o.log.error({ err: (err as Error).message }, 'authentication failed unexpectedly');
      return fail(res, 503, 'AUTH_UNAVAILABLE', 'Sign-in cannot be checked right now. Try again in a moment.');
    }
    if (viewer.kind === 'anonymous') return fail(res, 401, 'UNAUTHENTICATED', 'Sign in (or use an API key) to upload files.');

    const requestId =
      typeof req.headers['x-request-id'] === 'string' && /^[\w-]{8,64}$/.test(req.headers['x-request-id']) ? req.headers['x-request-id'] : randomUUID();
    const clientIp = req.ip?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    const userAgent = req.get('user-agent')?.slice(0, 256);
    const assertion = await o.signer.sign(viewer, requestId, { ...(clientIp ? { clientIp } : {}), ...(userAgent ? { userAgent } : {}) });
    const url = new URL(o.target);
    url.search = new URL(req.originalUrl, 'http://gateway').search;
    const headers: http.OutgoingHttpHeaders = { [VIEWER_HEADER]: assertion, 'x-request-id': requestId };
    if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
    if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
    else headers['transfer-encoding'] = 'chunked';

    const upstream = (url.protocol === 'https:' ? https : http).request(url, { method: 'POST', headers });
    // Idle timeout (no bytes either way), not a total: a large upload may take minutes.
    upstream.setTimeout(o.timeoutMs, () => upstream.destroy(new Error(`no progress for ${o.timeoutMs} ms`)));
    upstream.on('response', (ur) => {
      // The workspace service may answer before the body is complete (413, 415, 404): pass that on at once.
      res.status(ur.statusCode ?? 502);
      if (ur.headers['content-type']) res.set('content-type', ur.headers['content-type']);
      if (!req.complete) {
        res.set('connection', 'close');
        req.unpipe(upstream);
      }
      ur.pipe(res);
    });
    upstream.on('error', (err) => {
      if (res.headersSent) return; // the answer is already on its way; the rest of the body was refused
      o.log.warn({ service: 'workspace', err: err.message }, 'file upload could not be forwarded');
      fail(res, 502, 'SUBGRAPH_UNAVAILABLE', 'The workspace service is unavailable right now; the file was not stored. Try again in a moment.', {
        service: 'workspace',
      });
    });
    // A client that goes away mid-upload: stop the upstream request, so nothing is kept.
    req.on('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  };
}
