'use client';

import { useState, type ReactNode } from 'react';
import { UrqlProvider, cacheExchange, createClient, fetchExchange, ssrExchange } from '@urql/next';

/**
 * One urql client per browser tab, talking to the same-origin proxy (`/api/graphql`).
 * `preferGetMethod: false`: urql would otherwise send queries as GET, which the gateway's CSRF
 * prevention rejects.
 */
export function Providers({ children }: { children: ReactNode }) {
  const [{ client, ssr }] = useState(() => {
    const ssr = ssrExchange({ isClient: typeof window !== 'undefined' });
    const client = createClient({
      url: '/api/graphql',
      preferGetMethod: false,
      exchanges: [cacheExchange, ssr, fetchExchange],
      fetchOptions: { credentials: 'same-origin' },
      suspense: false,
    });
    return { client, ssr };
  });
  return (
    <UrqlProvider client={client} ssr={ssr}>
      {children}
    </UrqlProvider>
  );
}
