/**
 * End-to-end test of the self-hosted GraphiQL explorer: builds the bundle into a temp dir, serves
 * it with explorerRouter next to a real Apollo Server at /graphql (a tiny schema defined here:
 * this tests the explorer, not the gateway), drives Debian's chromium with playwright-core,
 * runs a query from the editor and checks the answer, the CSP, and that nothing left the origin.
 *
 * Needs chromium: `apt-get install -y chromium` (or CHROMIUM_PATH). Screenshot: /tmp/explorer.png.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EXPLORER_CSP, explorerRouter } from '../src/explorer';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BUILD_SCRIPT = path.resolve(__dirname, '..', 'scripts', 'build-explorer.mjs');
const SCREENSHOT = '/tmp/explorer.png';

const typeDefs = /* GraphQL */ `
  type Query {
    "A greeting, to check that the explorer reaches the server."
    hello(name: String): String!
    "Whether the request carried the dlx_session cookie (credentials: 'include')."
    sawSessionCookie: Boolean!
  }
`;
interface Ctx {
  cookie: string;
}
const resolvers = {
  Query: {
    hello: (_: unknown, args: { name?: string | null }) => `Hello, ${args.name ?? 'explorer'}!`,
    sawSessionCookie: (_: unknown, __: unknown, ctx: Ctx) => /(^|;\s*)dlx_session=/.test(ctx.cookie),
  },
};

let distDir: string;
let apollo: ApolloServer<Ctx>;
let server: Server;
let origin: string;
let browser: Browser;
const graphqlRequests: { headers: Record<string, string | string[] | undefined> }[] = [];

/** Polls `get` until `ok` accepts its value (or fails after `timeoutMs`, naming `what`). */
async function eventually<T>(get: () => T | Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
}

beforeAll(async () => {
  // A fresh build in a temp dir: the test never depends on (or disturbs) gateway/explorer-dist.
  // Under a dot-directory on purpose: serving must not trip over hidden path segments above it.
  distDir = mkdtempSync(path.join(os.tmpdir(), '.explorer-dist-'));
  execFileSync(process.execPath, [BUILD_SCRIPT, '--outdir', distDir], { stdio: 'pipe' });

  apollo = new ApolloServer<Ctx>({ typeDefs, resolvers });
  await apollo.start();
  const app = express();
  app.use(explorerRouter({ distDir }));
  app.use(
    '/graphql',
    express.json(),
    (req, _res, next) => {
      graphqlRequests.push({ headers: req.headers });
      next();
    },
    expressMiddleware(apollo, { context: async ({ req }) => ({ cookie: req.headers.cookie ?? '' }) }),
  );
  server = await listen(app);
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await apollo?.stop();
  if (distDir) rmSync(distDir, { recursive: true, force: true });
});

describe('explorer router (HTTP)', () => {
  test('serves index.html at /explorer and /explorer/ with a strict CSP and no caching', async () => {
    for (const url of ['/explorer', '/explorer/']) {
      const res = await fetch(origin + url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toContain('<div id="graphiql">');
      expect(html).not.toMatch(/<script>|<style>|https?:\/\//); // nothing inline, nothing remote
    }
  });

  test('serves hashed assets with content types, immutable caching and gzip', async () => {
    const manifest = JSON.parse(readFileSync(path.join(distDir, 'manifest.json'), 'utf8')) as {
      main: { js: string; css: string };
      workers: Record<'editor' | 'json' | 'graphql', string>;
    };
    const expectations: [string, string][] = [
      [manifest.main.js, 'text/javascript; charset=utf-8'],
      [manifest.main.css, 'text/css; charset=utf-8'],
      [manifest.workers.graphql, 'text/javascript; charset=utf-8'],
    ];
    for (const [url, type] of expectations) {
      expect(url).toMatch(/^\/explorer\/assets\/[\w.-]+-[A-Z0-9]{8}\.(js|css)$/);
      const res = await fetch(origin + url); // node's fetch asks for gzip and inflates it
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('content-security-policy')).toBe(EXPLORER_CSP);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    const plain = await fetch(origin + manifest.main.css, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toContain('.graphiql-container');
  });

  test('404s unknown or malformed asset names', async () => {
    for (const url of [
      '/explorer/assets/nope-ABCDEFGH.js',
      '/explorer/assets/..%2Fmanifest.json',
      '/explorer/assets/..%2F..%2Fpackage.json',
      '/explorer/assets/.hidden',
    ]) {
      const res = await fetch(origin + url);
      expect(res.status).toBe(404);
    }
  });

  test('answers 503 with the build command when the bundle is missing', async () => {
    const app = express();
    app.use(explorerRouter({ distDir: path.join(os.tmpdir(), 'no-such-explorer-dist') }));
    const s = await listen(app);
    try {
      const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      for (const url of ['/explorer', '/explorer/', '/explorer/assets/main-ABCDEFGH.js']) {
        const res = await fetch(base + url);
        expect(res.status).toBe(503);
        expect(await res.text()).toContain('node gateway/scripts/build-explorer.mjs');
      }
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});

describe('explorer in chromium', () => {
  let page: Page;
  const requests: string[] = [];
  const workers: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`chromium not found at ${CHROMIUM}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1400, height: 800 } });
    await context.addCookies([
      { name: 'dlx_session', value: 'test-session', url: origin, httpOnly: true },
      // The gateway's CSRF cookie (readable by scripts): the explorer echoes it in x-dlx-csrf.
      { name: 'dlx_csrf', value: 'test-csrf-token', url: origin },
    ]);
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('worker', (w) => workers.push(w.url()));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // Warnings count too: GraphiQL reports e.g. a broken prettier bundle only as a warning.
      if (['error', 'warning'].includes(m.type()) || /Content Security Policy/i.test(m.text())) {
        problems.push(`console.${m.type()}: ${m.text()}`);
      }
    });
    // Runs through CDP, so the page's CSP does not apply to it: records CSP violations. (A string,
    // so this file type-checks without the DOM lib.)
    await page.addInitScript({
      content: `window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) =>
          window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));`,
    });
  }, 60_000);

  test('runs a query typed into the editor and shows the answer', async () => {
    await page.goto(`${origin}/explorer`);
    // The query editor is Monaco; wait until it is live and the schema was introspected.
    const editor = page.locator('.graphiql-query-editor .monaco-editor');
    await editor.waitFor({ state: 'visible', timeout: 30_000 });
    await eventually(
      () => graphqlRequests.length,
      (n) => n > 0,
      'the schema introspection request',
    );

    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // One line: Monaco auto-closes `{ ( "` and then types over its own closers, so the text lands
    // exactly as written (a newline would auto-indent and leave the closer behind).
    await page.keyboard.insertText('query Greeting($name: String) { hello(name: $name) sawSessionCookie }');

    // Variables go in their own (JSON, json.worker) editor below the query.
    await page.locator('.graphiql-editor-tools').getByRole('button', { name: 'Variables' }).click();
    const variables = page.locator('section.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor');
    await variables.waitFor({ state: 'visible', timeout: 15_000 });
    await variables.click();
    await page.keyboard.insertText('{"name": "Datalinx"}');

    await page.locator('.graphiql-execute-button').click();

    // Monaco renders spaces as U+00A0.
    const result = page.locator('.result-window');
    const text = await eventually(
      async () => (await result.innerText()).replace(/\u00a0/g, ' '),
      (t) => t.includes('"hello"'),
      'the result pane to show the answer',
    );
    expect(text).toContain('"hello": "Hello, Datalinx!"');
    expect(text).toContain('"sawSessionCookie": true');
  }, 90_000);

  test('shows the docs and the query-builder explorer for the schema', async () => {
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click();
    await eventually(
      () => docs.innerText(),
      (t) => t.includes('sawSessionCookie'),
      'the docs to list Query fields',
    );
    expect(await docs.innerText()).toContain('Whether the request carried the dlx_session cookie');

    await page.getByRole('button', { name: /show graphiql explorer/i }).click();
    const explorer = page.locator('.graphiql-explorer-root');
    await explorer.waitFor({ state: 'visible', timeout: 15_000 });
    await eventually(
      () => explorer.innerText(),
      (t) => t.includes('sawSessionCookie'),
      'the explorer to list fields',
    );

    // Prettify (prettier, bundled) reformats the one-line query.
    await page.getByRole('button', { name: /prettify/i }).click();
    const query = page.locator('.graphiql-query-editor .view-lines');
    await eventually(
      () => query.innerText(),
      (t) => t.split('\n').length >= 4,
      'the prettified query',
    );
    await page.screenshot({ path: SCREENSHOT });
  }, 60_000);

  test('validates the query against the schema in the monaco-graphql worker', async () => {
    // Diagnostics come from the language service in graphql.worker: a squiggle under an unknown
    // field proves the worker loaded (same-origin, under the CSP) and received the schema.
    await eventually(
      () => workers,
      (w) => w.some((u) => /graphql\.worker-/.test(u)),
      'the graphql worker',
    );
    const editor = page.locator('.graphiql-query-editor .monaco-editor');
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText('{ hello noSuchField }');
    await page.locator('.graphiql-query-editor .squiggly-error').first().waitFor({ state: 'attached', timeout: 15_000 });
  }, 60_000);

  test('loaded everything from its own origin, with workers and without CSP violations', async () => {
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    expect(foreign).toEqual([]);
    expect(requests.some((u) => u === `${origin}/graphql`)).toBe(true);
    // Monaco's language workers run from our own files (no blob:, no CDN).
    expect(workers.some((u) => /\/explorer\/assets\/graphql\.worker-[A-Z0-9]+\.js$/.test(u))).toBe(true);
    expect(workers.every((u) => u.startsWith(`${origin}/explorer/assets/`))).toBe(true);
    const csp = await page.evaluate('window.__csp');
    expect(csp).toEqual([]);
    expect(problems).toEqual([]);
    // The fetcher's static header reached the server (and Apollo's CSRF check passed).
    expect(graphqlRequests.some((r) => r.headers['apollo-require-preflight'] === 'true')).toBe(true);
    // Every request sent the CSRF header from the dlx_csrf cookie (the gateway refuses cookie requests without it).
    expect(graphqlRequests.every((r) => r.headers['x-dlx-csrf'] === 'test-csrf-token')).toBe(true);
  });
});
