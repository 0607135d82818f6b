/**
 * Serves the self-hosted GraphiQL explorer bundle (built by `node gateway/scripts/build-explorer.mjs`
 * into gateway/explorer-dist/) at /explorer:
 *
 *   GET /explorer, /explorer/      index.html, never cached (it names the current hashed assets)
 *   GET /explorer/assets/<file>    hashed JS/CSS/worker files, cached for a year as immutable;
 *                                  served gzip-precompressed when the client accepts it
 *
 * Every response carries a strict Content-Security-Policy: the page may load scripts, workers,
 * styles, fonts and data only from its own origin. Two allowances, both needed by GraphiQL 5:
 *   - style-src 'unsafe-inline': Monaco and Radix UI (dialogs, tooltips) insert <style>
 *     elements at run time. No inline *script* is allowed anywhere.
 *   - font-src/img-src data: GraphiQL's stylesheet inlines its fonts (incl. Monaco's codicons)
 *     and a few icons as data: URIs.
 * Monaco's workers are same-origin script files, so no blob: is allowed.
 *
 * If the bundle has not been built, /explorer answers 503 telling the operator how to build it.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';

export interface ExplorerRouterOptions {
  /** Directory holding the built bundle (index.html + assets/). Default: gateway/explorer-dist. */
  distDir?: string;
}

/** Where the router is mounted; the bundle's URLs are built for it (see build-explorer.mjs). */
export const EXPLORER_PATH = '/explorer';

export const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const BUILD_HINT =
  'The GraphQL explorer has not been built. Run `node gateway/scripts/build-explorer.mjs` ' + '(from the repository root) and reload this page.\n';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/** Only plain file names (what esbuild writes): no slashes, no dot-files, no traversal. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function defaultDistDir(): string {
  // gateway/src/explorer.ts (jest) and gateway/dist/explorer.js (tsc) both sit one level down.
  return path.resolve(__dirname, '..', 'explorer-dist');
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function securityHeaders(res: Response): void {
  res.setHeader('Content-Security-Policy', EXPLORER_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function notBuilt(res: Response): void {
  res.status(503).setHeader('Cache-Control', 'no-store');
  res.type('text/plain; charset=utf-8').send(BUILD_HINT);
}

function acceptsGzip(req: Request): boolean {
  const accept = req.headers['accept-encoding'];
  return typeof accept === 'string' && /\bgzip\b(?!;q=0(\.0*)?\b)/.test(accept);
}

export function explorerRouter(options: ExplorerRouterOptions = {}): Router {
  const distDir = path.resolve(options.distDir ?? defaultDistDir());
  const indexFile = path.join(distDir, 'index.html');
  const assetsDir = path.join(distDir, 'assets');
  const router = Router();

  // `/explorer` and `/explorer/` (Express 5 routes are non-strict about the trailing slash).
  router.get(EXPLORER_PATH, (req, res, next) => {
    securityHeaders(res);
    if (!existsSync(indexFile)) return notBuilt(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.type('text/html; charset=utf-8');
    // `root` makes send() judge dot-segments only below distDir, so a checkout under a hidden
    // directory (e.g. ~/.cache/...) still works.
    res.sendFile('index.html', { root: distDir, lastModified: true, etag: true }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  router.get(`${EXPLORER_PATH}/assets/:file`, (req, res, next) => {
    securityHeaders(res);
    const file = req.params.file;
    if (typeof file !== 'string' || !ASSET_NAME.test(file) || file.endsWith('.gz')) {
      res.status(404).type('text/plain; charset=utf-8').send('Not found\n');
      return;
    }
    if (!existsSync(indexFile)) return notBuilt(res);
    const full = path.join(assetsDir, file);
    if (!isFile(full)) {
      res.status(404).type('text/plain; charset=utf-8').send('Not found\n');
      return;
    }
    res.setHeader('Content-Type', CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream');
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.setHeader('Vary', 'Accept-Encoding');
    let send = file;
    if (acceptsGzip(req) && isFile(`${full}.gz`)) {
      send = `${file}.gz`;
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.sendFile(send, { root: assetsDir, dotfiles: 'deny', lastModified: false, etag: true }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  return router;
}
