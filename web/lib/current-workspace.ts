/**
 * The workspace the page acts in (from the URL), sent as `x-dlx-workspace` so the gateway counts
 * API requests against it. Module state: one tab shows one workspace at a time.
 */
let current: string | null = null;

export function setCurrentWorkspaceId(id: string | null): void {
  current = id;
}

export function currentWorkspaceId(): string | null {
  return current;
}

const LAST_KEY = 'dlx.lastWorkspace';

/** The last workspace opened in this browser (an id, not a secret), to land there after sign-in. */
export function rememberWorkspace(id: string): void {
  try {
    window.localStorage.setItem(LAST_KEY, id);
  } catch {
    // storage disabled: the workspace list is the fallback
  }
}

export function lastWorkspace(): string | null {
  try {
    return window.localStorage.getItem(LAST_KEY);
  } catch {
    return null;
  }
}
