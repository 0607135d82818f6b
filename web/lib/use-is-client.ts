import { useSyncExternalStore } from 'react';

const subscribeNothing = () => () => {};

/**
 * True only after hydration. Queries run in the browser (through the same-origin proxy with the
 * session cookie); the server and the first client render show the loading state, so hydration
 * always matches.
 */
export function useIsClient(): boolean {
  return useSyncExternalStore(
    subscribeNothing,
    () => true,
    () => false,
  );
}
