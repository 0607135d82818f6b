'use client';

import { createContext, useContext } from 'react';
import type { ShellQuery } from '../../gql/__generated__/graphql';
import type { Person } from '../../lib/permissions';

export type ShellWorkspace = ShellQuery['workspaces']['nodes'][number];

export interface Shell {
  person: Person;
  user: NonNullable<ShellQuery['me']['user']>;
  organization: NonNullable<ShellQuery['me']['organization']>;
  workspaces: readonly ShellWorkspace[];
  /** Fetches the shell's query again (after a workspace was created or renamed). */
  refresh: () => void;
}

export const ShellContext = createContext<Shell | null>(null);

/** The signed-in person, their organization and workspaces; only inside the signed-in layout. */
export function useShell(): Shell {
  const shell = useContext(ShellContext);
  if (!shell) throw new Error('useShell() outside the signed-in layout');
  return shell;
}
