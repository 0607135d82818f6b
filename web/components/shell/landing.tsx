'use client';

import { useEffect } from 'react';
import { useRouter } from 'next/navigation';
import { Center, Loader } from '@mantine/core';
import { lastWorkspace } from '../../lib/current-workspace';
import { useShell } from './shell-context';

/** `/`: the last workspace opened here, else the first one, else the workspace list to create one. */
export function Landing() {
  const { workspaces } = useShell();
  const router = useRouter();
  useEffect(() => {
    const last = lastWorkspace();
    const target = workspaces.find((w) => w.id === last) ?? workspaces[0];
    router.replace(target ? `/w/${target.id}` : '/settings/workspaces');
  }, [workspaces, router]);
  return (
    <Center py="xl" aria-busy="true">
      <Loader aria-label="Opening your workspace" />
    </Center>
  );
}
