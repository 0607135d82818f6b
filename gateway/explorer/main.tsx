/**
 * Datalinx GraphQL explorer: GraphiQL 5 (Monaco editors) with the query-builder ("explorer")
 * plugin, the doc explorer and history, talking to the gateway's /graphql on the same origin.
 *
 * Bundled by gateway/scripts/build-explorer.mjs into gateway/explorer-dist/ and served by
 * gateway/src/explorer.ts at /explorer. Everything it loads comes from the gateway itself.
 */
// Must run before GraphiQL loads monaco, so it is the first import.
import './monaco-workers';

import { createRoot } from 'react-dom/client';
import { GraphiQL, HISTORY_PLUGIN } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { explorerPlugin } from '@graphiql/plugin-explorer';

import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './explorer.css';

/** A cookie of this origin readable by scripts (the CSRF cookie; the session cookie itself is httpOnly). */
function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  headers: {
    // Apollo Server's CSRF prevention accepts requests carrying this header (it forces a CORS
    // preflight for any cross-site caller); GraphiQL also sends JSON, which does the same.
    'apollo-require-preflight': 'true',
  },
  // Signed in as the user: the gateway's httpOnly `dlx_session` cookie goes along (the endpoint
  // is same-origin, so 'include' only makes that explicit), and with it the CSRF header the
  // gateway requires of every cookie request: the `dlx_csrf` cookie's value, read at each request
  // (it changes when the user signs in again).
  fetch: (input, init) => {
    const csrf = readCookie('dlx_csrf');
    const headers = new Headers(init?.headers);
    if (csrf && !headers.has('x-dlx-csrf')) headers.set('x-dlx-csrf', csrf);
    return fetch(input, { ...init, headers, credentials: 'include' });
  },
});

const explorer = explorerPlugin();

const DEFAULT_QUERY = `# Welcome to the Datalinx GraphQL explorer.
#
# Build a query with the Explorer (left), browse types in Docs, then press
# Ctrl+Enter (or the run button) to execute it against /graphql as yourself.

query {
  __typename
}
`;

function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      plugins={[explorer, HISTORY_PLUGIN]}
      defaultQuery={DEFAULT_QUERY}
      // Never write headers (they may hold a bearer token or API key) to localStorage.
      shouldPersistHeaders={false}
    />
  );
}

const container = document.getElementById('graphiql');
if (!container) throw new Error('explorer: #graphiql container missing from index.html');
createRoot(container).render(<App />);
