'use client';

import { useState } from 'react';
import { Avatar, Group, Menu, Text, UnstyledButton, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconLogout, IconTerminal2, IconHeartbeat } from '@tabler/icons-react';
import { endSession } from '../../lib/session';
import { useShell } from './shell-context';

function initials(name: string): string {
  return (
    name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((p) => p[0]!.toUpperCase())
      .join('') || '?'
  );
}

/** Who is signed in, in which organization; the GraphQL explorer and sign out. */
export function UserMenu() {
  const { user, organization } = useShell();
  const [busy, setBusy] = useState(false);
  const signOut = async () => {
    setBusy(true);
    try {
      await endSession();
      window.location.assign('/login');
    } catch (error) {
      setBusy(false);
      notifications.show({ color: 'red', title: 'Sign-out failed', message: (error as Error).message });
    }
  };
  return (
    <Menu position="bottom-end" width={240} withinPortal>
      <Menu.Target>
        <UnstyledButton data-testid="user-menu">
          <Group gap="xs" wrap="nowrap">
            <Avatar color="indigo" radius="xl" size="sm" aria-hidden>
              {initials(user.displayName)}
            </Avatar>
            <Text size="sm" fw={500} visibleFrom="sm">
              {user.displayName}
            </Text>
            <VisuallyHidden>account menu</VisuallyHidden>
          </Group>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>
          {user.email}
          <br />
          {organization.name} · {user.orgRole.toLowerCase()}
        </Menu.Label>
        <Menu.Item component="a" href="/explorer" leftSection={<IconTerminal2 size={16} aria-hidden />}>
          GraphQL explorer
        </Menu.Item>
        <Menu.Item component="a" href="/status" leftSection={<IconHeartbeat size={16} aria-hidden />}>
          Platform status
        </Menu.Item>
        <Menu.Divider />
        <Menu.Item leftSection={<IconLogout size={16} aria-hidden />} onClick={signOut} disabled={busy} color="red">
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}
