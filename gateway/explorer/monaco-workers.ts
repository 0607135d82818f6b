/**
 * Wires Monaco's web workers to files served by the gateway itself (no CDN, no blob: URLs).
 *
 * GraphiQL 5 edits with monaco-editor and asks `globalThis.MonacoEnvironment.getWorker` for a
 * worker per language label: 'graphql' (monaco-graphql's language service), 'json' (variables,
 * headers, results) and the generic editor worker for everything else. Each worker is bundled
 * as its own classic (IIFE) script by gateway/scripts/build-explorer.mjs, which injects the
 * hashed URLs below at build time.
 */

declare const __DLX_EXPLORER_WORKERS__: { editor: string; json: string; graphql: string };

const workerUrls = __DLX_EXPLORER_WORKERS__;

type MonacoEnvironmentLike = { getWorker(workerId: string, label: string): Worker };

(globalThis as unknown as { MonacoEnvironment: MonacoEnvironmentLike }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    switch (label) {
      case 'graphql':
        return new Worker(workerUrls.graphql, { name: 'graphql' });
      case 'json':
        return new Worker(workerUrls.json, { name: 'json' });
      default:
        return new Worker(workerUrls.editor, { name: label || 'editor' });
    }
  },
};

export {};
