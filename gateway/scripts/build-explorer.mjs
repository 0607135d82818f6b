#!/usr/bin/env node
/**
 * Bundles the GraphiQL explorer (gateway/explorer/) into gateway/explorer-dist/, served by
 * gateway/src/explorer.ts at /explorer. Fully self-hosted: every script, style, font and web
 * worker the page uses is written here, nothing is loaded from a CDN.
 *
 *   node gateway/scripts/build-explorer.mjs [--outdir DIR] [--sourcemap] [--no-minify]
 *
 * Output (all names under assets/ carry a content hash, so they can be cached forever):
 *   index.html                       the page (no inline script or style)
 *   assets/main-HASH.js|.css         the React app (ES module) and all of its CSS
 *   assets/chunk-HASH.js             lazily loaded chunks (monaco, monaco-graphql, ...)
 *   assets/editor.worker-HASH.js     Monaco's generic editor worker   (classic worker script)
 *   assets/json.worker-HASH.js       Monaco's JSON language worker    (variables/headers/result)
 *   assets/graphql.worker-HASH.js    monaco-graphql's language worker (the query editor)
 *   assets/*.gz                      gzip copies of the JS/CSS, sent to clients that accept gzip
 *   manifest.json                    which file is which, with byte sizes
 *
 * Uses only node built-ins and esbuild; the same sources give byte-identical output.
 */
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { constants as zlibConstants, gzipSync } from 'node:zlib';

const gatewayDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node gateway/scripts/build-explorer.mjs [--outdir DIR] [--sourcemap] [--no-minify]';
let opts;
try {
  opts = parseArgs({
    options: {
      outdir: { type: 'string' },
      sourcemap: { type: 'boolean', default: false },
      'no-minify': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (err) {
  console.error(`build-explorer: ${err.message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const srcDir = path.join(gatewayDir, 'explorer');
const outDir = path.resolve(opts.outdir ?? path.join(gatewayDir, 'explorer-dist'));
const assetsDir = path.join(outDir, 'assets');
/** URL prefix the router serves assets/ under; must match gateway/src/explorer.ts. */
const PUBLIC_PATH = '/explorer/assets';
const sourcemap = opts.sourcemap ? 'linked' : false;
const minify = !opts['no-minify'];

/** Options shared by the page and the worker builds. */
const common = {
  absWorkingDir: gatewayDir, // paths in the output are relative to gateway/: same on every checkout
  tsconfig: path.join(srcDir, 'tsconfig.json'), // browser settings, not the gateway's (CommonJS) ones
  bundle: true,
  minify,
  sourcemap,
  target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
  platform: 'browser',
  outdir: assetsDir,
  assetNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  entryNames: '[name]-[hash]',
  publicPath: PUBLIC_PATH,
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: {
    '.ttf': 'file',
    '.woff': 'file',
    '.woff2': 'file',
    '.svg': 'file',
    '.png': 'file',
    '.gif': 'file',
  },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  write: true,
};

/**
 * - graphiql/style.css already carries Monaco's whole stylesheet (with the codicon font inlined),
 *   so the per-widget `import './x.css'` lines inside monaco-editor's ESM sources are dropped
 *   instead of being bundled a second time.
 * - @graphiql/react lazily imports prettier's legacy `prettier/parser-graphql` and
 *   `prettier/parser-babel` (CommonJS/UMD files) and destructures `{ parsers }` from the dynamic
 *   import. Imported from an ES module package, esbuild gives such a CommonJS module Node's
 *   semantics (only `default`), so prettify failed with 'Couldn't resolve parser "graphql"'.
 *   They are redirected to the ES module builds `prettier/plugins/graphql|babel` (the same code,
 *   with named exports), which the other half of those imports loads anyway.
 * - `graphql-ws` is only imported by @graphiql/toolkit when a `subscriptionUrl` is configured,
 *   which the explorer never does; it resolves to a stub that says so.
 */
const explorerPlugin = {
  name: 'datalinx-explorer',
  setup(b) {
    b.onResolve({ filter: /\.css$/ }, (a) => (/[\\/]monaco-editor[\\/]esm[\\/]/.test(a.importer) ? { path: a.path, namespace: 'dlx-empty-css' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'dlx-empty-css' }, () => ({ contents: '', loader: 'css' }));
    b.onResolve({ filter: /^prettier\/parser-(graphql|babel)$/ }, (a) =>
      b.resolve(a.path.replace('/parser-', '/plugins/'), { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir }),
    );
    b.onResolve({ filter: /^graphql-ws$/ }, () => ({ path: 'graphql-ws', namespace: 'dlx-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'dlx-stub' }, () => ({
      contents: "export function createClient() { throw new Error('GraphQL subscriptions over websockets are not enabled in the Datalinx explorer'); }",
      loader: 'js',
    }));
  },
};

/** Output files of one build, keyed by the entry point name ("main", "editor.worker", ...). */
function entryOutputs(metafile) {
  const byEntry = {};
  for (const [file, meta] of Object.entries(metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const name = path.basename(meta.entryPoint).replace(/\.(t|j)sx?$/, '');
    byEntry[name] = { js: file, css: meta.cssBundle };
  }
  return byEntry;
}
const toUrl = (file) => `${PUBLIC_PATH}/${path.basename(file)}`;

const started = process.hrtime.bigint();
rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

// 1. Monaco workers: one self-contained classic script each (Worker(url) without type: 'module').
const workerNames = ['editor.worker', 'json.worker', 'graphql.worker'];
const workers = await build({
  ...common,
  entryPoints: workerNames.map((n) => path.join(srcDir, 'workers', `${n}.ts`)),
  format: 'iife',
});
const workerOut = entryOutputs(workers.metafile);
const workerUrls = {
  editor: toUrl(workerOut['editor.worker'].js),
  json: toUrl(workerOut['json.worker'].js),
  graphql: toUrl(workerOut['graphql.worker'].js),
};

// 2. The page: an ES module with code splitting (monaco loads lazily), CSS gathered in one file.
const page = await build({
  ...common,
  entryPoints: [path.join(srcDir, 'main.tsx')],
  format: 'esm',
  splitting: true,
  jsx: 'automatic',
  define: { ...common.define, __DLX_EXPLORER_WORKERS__: JSON.stringify(workerUrls) },
  plugins: [explorerPlugin],
});
const main = entryOutputs(page.metafile).main;
if (!main?.js || !main.css) throw new Error('build-explorer: esbuild produced no main .js/.css');

// 3. index.html: only external, same-origin files, so the page runs under a strict CSP.
const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <link rel="icon" href="data:," />
    <title>Datalinx GraphQL explorer</title>
    <link rel="stylesheet" href="${toUrl(main.css)}" />
    <link rel="modulepreload" href="${toUrl(main.js)}" />
    <script type="module" src="${toUrl(main.js)}"></script>
  </head>
  <body>
    <div id="graphiql"><noscript>The Datalinx GraphQL explorer needs JavaScript.</noscript></div>
  </body>
</html>
`;
writeFileSync(path.join(outDir, 'index.html'), html);

// 4. Drop the empty CSS files esbuild emits for lazy chunks whose only CSS imports were the
//    Monaco ones removed above; gzip the text assets once here instead of on every request.
for (const name of readdirSync(assetsDir)) {
  const full = path.join(assetsDir, name);
  const size = statSync(full).size;
  if (name.endsWith('.css') && size === 0) rmSync(full);
  else if (/\.(js|css)$/.test(name) && size >= 1024) {
    writeFileSync(`${full}.gz`, gzipSync(readFileSync(full), { level: zlibConstants.Z_BEST_COMPRESSION }));
  }
}

// 5. Report what was written.
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else files.push({ file: path.relative(outDir, full).split(path.sep).join('/'), bytes: statSync(full).size });
  }
})(outDir);
const manifest = {
  index: 'index.html',
  main: { js: toUrl(main.js), css: toUrl(main.css) },
  workers: workerUrls,
  files,
};
writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

const kb = (n) => `${(n / 1024).toFixed(1).padStart(9)} KiB`;
const rel = path.relative(process.cwd(), outDir) || '.';
console.log(`build-explorer: wrote ${rel}/`);
for (const f of files) console.log(`  ${kb(f.bytes)}  ${f.file}`);
const total = files.reduce((s, f) => s + f.bytes, 0);
const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
console.log(`  ${kb(total)}  total, ${files.length} files (+ manifest.json) in ${ms} ms`);
