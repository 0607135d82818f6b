'use client';

import { useRouter } from 'next/navigation';
import { Select } from '@mantine/core';
import { useShell } from './shell-context';

/** Picks the workspace the pages act in; the same page in the other workspace when there is one. */
export function WorkspaceSwitcher({ currentId }: { currentId: string | null }) {
  const { workspaces } = useShell();
  const router = useRouter();
  if (workspaces.length === 0) return null;
  return (
    <Select
      aria-label="Workspace"
      placeholder="Pick a workspace"
      size="sm"
      w={{ base: 160, sm: 240 }}
      data={workspaces.map((w) => ({ value: w.id, label: `${w.name} · ${w.environment.toLowerCase()}` }))}
      value={currentId}
      allowDeselect={false}
      searchable={workspaces.length > 8}
      onChange={(id) => {
        if (id && id !== currentId) {
          const section = currentId ? window.location.pathname.split('/')[3] : undefined;
          router.push(section === 'connect' || section === 'sources' || section === 'pipelines' ? `/w/${id}/${section}` : `/w/${id}`);
        }
      }}
      data-testid="workspace-switcher"
    />
  );
}
