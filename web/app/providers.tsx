'use client';

import { useState, type ReactNode } from 'react';
import { UrqlProvider, cacheExchange, createClient, fetchExchange, mapExchange, ssrExchange } from '@urql/next';
import { MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { cssVariablesResolver, theme } from '../lib/theme';
import { sessionHeaders } from '../lib/session';
import { currentWorkspaceId } from '../lib/current-workspace';

const SIGNED_OUT_CODES = new Set(['UNAUTHENTICATED', 'SESSION_EXPIRED', 'SESSION_REVOKED', 'SESSION_INVALID']);
const PUBLIC_PATHS = ['/login', '/signup', '/status'];

/**
 * One urql client per browser tab, talking to the same-origin proxy (`/api/graphql`) with the
 * session cookie, the CSRF header and the current workspace. `preferGetMethod: false`: urql would
 * otherwise send queries as GET, which the gateway's CSRF prevention rejects. A refused session
 * (HTTP 401) sends the person to the sign-in page.
 */
export function Providers({ children }: { children: ReactNode }) {
  const [{ client, ssr }] = useState(() => {
    const ssr = ssrExchange({ isClient: typeof window !== 'undefined' });
    const client = createClient({
      url: '/api/graphql',
      preferGetMethod: false,
      exchanges: [
        mapExchange({
          onError(error) {
            const status = (error.response as Response | undefined)?.status;
            const refused = status === 401 || error.graphQLErrors.some((e) => SIGNED_OUT_CODES.has(String(e.extensions?.code)));
            if (refused && typeof window !== 'undefined' && !PUBLIC_PATHS.some((p) => window.location.pathname.startsWith(p))) {
              const next = encodeURIComponent(window.location.pathname + window.location.search);
              window.location.assign(`/login?next=${next}`);
            }
          },
        }),
        cacheExchange,
        ssr,
        fetchExchange,
      ],
      fetchOptions: () => ({ credentials: 'same-origin', headers: sessionHeaders(currentWorkspaceId()) }),
      suspense: false,
    });
    return { client, ssr };
  });
  return (
    <MantineProvider theme={theme} cssVariablesResolver={cssVariablesResolver}>
      <Notifications position="bottom-right" />
      <UrqlProvider client={client} ssr={ssr}>
        {children}
      </UrqlProvider>
    </MantineProvider>
  );
}
