'use client';

import Link from 'next/link';
import { useQuery } from '@urql/next';
import { Alert, Anchor, Badge, Button, Card, Group, SimpleGrid, Skeleton, Stack, Text } from '@mantine/core';
import { ConnectionsDocument } from '../../lib/documents';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { CONNECTION_STATUS } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

/** Data Sources: pick a source connection to browse what discovery found in it. */
export function SourcesIndex({ workspaceId }: { workspaceId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const [result] = useQuery({ query: ConnectionsDocument, variables: { id: workspaceId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const ws = result.data?.workspace;
  const sources = ws?.connections.filter((c) => c.kind === 'SOURCE') ?? [];
  const crumbs = [{ label: shell.organization.name, href: '/' }, { label: ws?.name ?? 'Workspace', href: `/w/${workspaceId}` }, { label: 'Data Sources' }];
  let body;
  if (!ws && result.error) {
    body = (
      <Alert color="red" title="The sources could not be loaded" role="alert">
        {describeRequestError(result.error)}
      </Alert>
    );
  } else if (!ws) {
    body = <Skeleton h={120} aria-label="Loading sources" />;
  } else if (sources.length === 0) {
    body = (
      <Card withBorder padding="xl" data-testid="empty-state">
        <Stack align="flex-start" gap="xs">
          <Text fw={600}>No sources to browse yet</Text>
          <Text size="sm" c="dimmed">
            Add a source connection and test it; then discover it here to see its schemas, tables and columns.
          </Text>
          <Button component={Link} href={`/w/${workspaceId}/connect`}>
            Go to Connect
          </Button>
        </Stack>
      </Card>
    );
  } else {
    body = (
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
        {sources.map((c) => (
          <Card key={c.id} withBorder padding="lg" data-testid="source-card">
            <Group justify="space-between" wrap="nowrap">
              <Anchor component={Link} href={`/w/${workspaceId}/sources/${c.id}`} fw={600}>
                {c.name}
              </Anchor>
              <Badge variant="light" color={CONNECTION_STATUS[c.status]?.color ?? 'gray'}>
                {CONNECTION_STATUS[c.status]?.label ?? c.status}
              </Badge>
            </Group>
            <Text size="xs" c="dimmed" ff="monospace" mt={4}>
              {c.endpoint}
            </Text>
          </Card>
        ))}
      </SimpleGrid>
    );
  }
  return (
    <>
      <PageHeader crumbs={crumbs} title="Data Sources" description="What discovery found in each source: schemas, tables, columns, keys and value profiles." />
      {body}
    </>
  );
}
