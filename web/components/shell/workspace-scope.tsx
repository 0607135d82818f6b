'use client';

import type { ReactNode } from 'react';
import Link from 'next/link';
import { Alert, Button } from '@mantine/core';
import { rememberWorkspace, setCurrentWorkspaceId } from '../../lib/current-workspace';
import { useShell } from './shell-context';

/**
 * The pages of one workspace: its id goes out with every request (`x-dlx-workspace`); a workspace
 * the person cannot see (or that does not exist) says so instead of showing empty pages.
 */
export function WorkspaceScope({ workspaceId, children }: { workspaceId: string; children: ReactNode }) {
  const { workspaces } = useShell();
  const known = workspaces.some((w) => w.id === workspaceId);
  setCurrentWorkspaceId(known ? workspaceId : null);
  if (known && typeof window !== 'undefined') rememberWorkspace(workspaceId);
  if (!known) {
    return (
      <Alert color="yellow" title="This workspace is not available" role="alert" maw={640}>
        It does not exist, was archived, or you have no access to it. Pick another one in the switcher above, or ask an organization admin for access.
        <div>
          <Button component={Link} href="/settings/workspaces" mt="sm" size="xs" variant="default">
            See all workspaces
          </Button>
        </div>
      </Alert>
    );
  }
  return <>{children}</>;
}
