'use client';

import { useCallback, useEffect, useMemo, type ReactNode } from 'react';
import Link from 'next/link';
import { useParams, usePathname, useRouter } from 'next/navigation';
import { useQuery } from '@urql/next';
import { useDisclosure } from '@mantine/hooks';
import { Alert, AppShell, Burger, Button, Center, Group, Loader, NavLink, Stack, Text, Title } from '@mantine/core';
import { IconDatabaseSearch, IconHome, IconPlugConnected, IconRoute, IconSettings } from '@tabler/icons-react';
import { ShellDocument } from '../../lib/documents';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import type { Person } from '../../lib/permissions';
import { ShellContext, type Shell } from './shell-context';
import { WorkspaceSwitcher } from './workspace-switcher';
import { UserMenu } from './user-menu';

/**
 * The signed-in frame: top bar (workspace switcher, user menu), side navigation by the product's
 * sections, and the route guard: a signed-out visitor is sent to /login and comes back here after.
 */
export function AppFrame({ children }: { children: ReactNode }) {
  const isClient = useIsClient();
  const router = useRouter();
  const pathname = usePathname();
  const params = useParams<{ workspaceId?: string }>();
  const [opened, { toggle, close }] = useDisclosure(false);
  const [result, reexecute] = useQuery({ query: ShellDocument, pause: !isClient });
  const refresh = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const me = result.data?.me;
  const signedOut = me !== undefined && (me.kind !== 'USER' || !me.user || !me.organization);

  useEffect(() => {
    if (signedOut) router.replace(`/login?next=${encodeURIComponent(pathname)}`);
  }, [signedOut, router, pathname]);
  useEffect(close, [pathname, close]);

  const shell = useMemo<Shell | null>(() => {
    if (!me?.user || !me.organization || !result.data) return null;
    const person: Person = { orgRole: me.user.orgRole, workspaceGrants: me.user.workspaceGrants };
    return { person, user: me.user, organization: me.organization, workspaces: result.data.workspaces.nodes, refresh };
  }, [me, result.data, refresh]);

  if (!shell) {
    if (result.error && !result.data) {
      return (
        <Center mih="100vh" p="md">
          <Alert color="red" title="Datalinx could not load your account" role="alert" maw={560}>
            <Stack>
              <Text size="sm">{describeRequestError(result.error)}</Text>
              <Group>
                <Button size="xs" onClick={refresh}>
                  Try again
                </Button>
                <Button size="xs" variant="default" component="a" href="/status">
                  Platform status
                </Button>
              </Group>
            </Stack>
          </Alert>
        </Center>
      );
    }
    return (
      <Center mih="100vh" aria-busy="true">
        <Loader aria-label="Loading" />
      </Center>
    );
  }

  const workspaceId = params.workspaceId ?? null;
  const nav = workspaceId
    ? [
        { href: `/w/${workspaceId}`, label: 'Home', icon: IconHome, exact: true },
        { href: `/w/${workspaceId}/connect`, label: 'Connect', icon: IconPlugConnected, exact: false },
        { href: `/w/${workspaceId}/sources`, label: 'Data Sources', icon: IconDatabaseSearch, exact: false },
        { href: `/w/${workspaceId}/pipelines`, label: 'Pipelines & Runs', icon: IconRoute, exact: false },
      ]
    : [];

  return (
    <ShellContext.Provider value={shell}>
      <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'md', collapsed: { mobile: !opened } }} padding="lg">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" wrap="nowrap">
            <Group gap="sm" wrap="nowrap">
              <Burger opened={opened} onClick={toggle} hiddenFrom="md" size="sm" aria-label="Toggle navigation" />
              <Title order={2} size="h4" c="indigo.8">
                <Link href="/" style={{ color: 'inherit', textDecoration: 'none' }}>
                  Datalinx
                </Link>
              </Title>
              <WorkspaceSwitcher currentId={workspaceId} />
            </Group>
            <UserMenu />
          </Group>
        </AppShell.Header>
        <AppShell.Navbar p="xs" aria-label="Sections">
          <Stack gap={2}>
            {nav.map((item) => {
              const active = item.exact
                ? pathname === item.href
                : pathname.startsWith(item.href) || (item.label === 'Pipelines & Runs' && pathname.startsWith(`/w/${workspaceId}/runs`));
              return (
                <NavLink
                  key={item.href}
                  component={Link}
                  href={item.href}
                  label={item.label}
                  leftSection={<item.icon size={18} aria-hidden />}
                  active={active}
                  aria-current={active ? 'page' : undefined}
                />
              );
            })}
            <NavLink
              component={Link}
              href="/settings/workspaces"
              label="Settings"
              leftSection={<IconSettings size={18} aria-hidden />}
              active={pathname.startsWith('/settings')}
              aria-current={pathname.startsWith('/settings') ? 'page' : undefined}
            />
          </Stack>
        </AppShell.Navbar>
        <AppShell.Main bg="gray.0">{children}</AppShell.Main>
      </AppShell>
    </ShellContext.Provider>
  );
}
