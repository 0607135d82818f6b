'use client';

import Link from 'next/link';
import { useQuery } from '@urql/next';
import { Alert, Anchor, Badge, Button, Card, Group, List, Progress, SimpleGrid, Skeleton, Stack, Table, Text, ThemeIcon, Title } from '@mantine/core';
import { IconCheck, IconCircleDashed } from '@tabler/icons-react';
import { WorkspaceHomeDocument } from '../../lib/documents';
import { KEYBOARD_SCROLL } from '../../lib/theme';
import type { WorkspaceHomeQuery } from '../../gql/__generated__/graphql';
import { canInWorkspace } from '../../lib/permissions';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { CONNECTION_STATUS, RUN_KIND, RUN_STATE, formatBytes } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

type Home = NonNullable<WorkspaceHomeQuery['workspace']>;
type Runs = WorkspaceHomeQuery['runs']['nodes'];

/** A workspace's home: what to do next, recent runs and quota use — one request. */
export function WorkspaceHome({ workspaceId }: { workspaceId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const [result, reexecute] = useQuery({ query: WorkspaceHomeDocument, variables: { id: workspaceId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const ws = result.data?.workspace;
  const crumbs = [{ label: shell.organization.name, href: '/' }, { label: ws?.name ?? 'Workspace' }];

  if (!result.data && result.error) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Home" />
        <Alert color="red" title="This workspace could not be loaded" role="alert">
          {describeRequestError(result.error)}{' '}
          <Anchor component="button" onClick={() => reexecute({ requestPolicy: 'network-only' })}>
            Try again
          </Anchor>
        </Alert>
      </>
    );
  }
  if (!ws || !result.data) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Home" />
        <Stack aria-busy="true">
          <Skeleton h={120} />
          <Skeleton h={200} />
        </Stack>
      </>
    );
  }
  const runs = result.data.runs.nodes;
  return (
    <>
      <PageHeader crumbs={crumbs} title={ws.name} description={ws.description || `A ${ws.environment.toLowerCase()} workspace.`} />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <NextSteps ws={ws} runs={runs} canWrite={canInWorkspace(shell.person, workspaceId, 'connections:write')} />
        <Quotas ws={ws} />
      </SimpleGrid>
      <RecentRuns runs={runs} workspaceId={workspaceId} />
    </>
  );
}

function NextSteps({ ws, runs, canWrite }: { ws: Home; runs: Runs; canWrite: boolean }) {
  const connected = ws.connections.length > 0;
  const tested = ws.connections.some((c) => c.status === 'HEALTHY');
  const discovered = runs.some((r) => r.kind === 'source.discover' && r.state === 'SUCCESS');
  const synced = runs.some((r) => r.kind === 'source.sync' && r.state === 'SUCCESS');
  const steps = [
    { done: connected, label: 'Connect a source', detail: 'PostgreSQL or MySQL: host, database and a read-only user.', href: `/w/${ws.id}/connect` },
    { done: tested, label: 'Test the connection', detail: 'See each step: reachable, signed in, schema readable.', href: `/w/${ws.id}/connect` },
    { done: discovered, label: 'Discover its tables', detail: 'Schemas, tables, columns, keys and row counts.', href: `/w/${ws.id}/sources` },
    { done: synced, label: 'Sync it into the warehouse', detail: 'Load the source tables the pipelines build on.', href: `/w/${ws.id}/connect` },
  ];
  const next = steps.find((s) => !s.done);
  return (
    <Card withBorder padding="lg" data-testid="next-steps">
      <Title order={2} size="h4" mb="sm">
        {next ? 'What to do next' : 'All set up'}
      </Title>
      <List spacing="sm" center>
        {steps.map((s) => (
          <List.Item
            key={s.label}
            icon={
              <ThemeIcon color={s.done ? 'teal' : 'gray'} variant={s.done ? 'filled' : 'light'} size={22} radius="xl" aria-hidden>
                {s.done ? <IconCheck size={14} /> : <IconCircleDashed size={14} />}
              </ThemeIcon>
            }
          >
            <Text size="sm" fw={s === next ? 600 : 400} td={s.done ? 'line-through' : undefined} c={s.done ? 'dimmed' : undefined}>
              {s.label}
              <Text span size="sm" c="dimmed" fw={400} td="none">
                {s.done ? ' — done' : ` — ${s.detail}`}
              </Text>
            </Text>
          </List.Item>
        ))}
      </List>
      {next && canWrite && (
        <Button component={Link} href={next.href} mt="md">
          {next.label}
        </Button>
      )}
      {next && !canWrite && (
        <Text size="sm" c="dimmed" mt="md">
          You can look but not change this workspace; an editor sets up its connections.
        </Text>
      )}
      {connected && (
        <Group gap="xs" mt="md">
          {ws.connections.map((c) => (
            <Badge key={c.id} variant="light" color={CONNECTION_STATUS[c.status]?.color ?? 'gray'}>
              {c.name}: {CONNECTION_STATUS[c.status]?.label ?? c.status}
            </Badge>
          ))}
        </Group>
      )}
    </Card>
  );
}

function Quotas({ ws }: { ws: Home }) {
  const q = ws.quotas;
  const rows = [
    { label: 'Storage', usage: q.storageBytes, format: formatBytes },
    { label: 'Concurrent runs', usage: q.concurrentRuns, format: (n: number) => n.toLocaleString() },
    { label: 'Rows per run', usage: q.rowsPerRun, format: (n: number) => n.toLocaleString() },
    { label: 'API requests per minute', usage: q.apiRequestsPerMinute, format: (n: number) => n.toLocaleString() },
  ];
  return (
    <Card withBorder padding="lg" data-testid="quotas">
      <Title order={2} size="h4" mb="sm">
        Quotas
      </Title>
      <Stack gap="sm">
        {rows.map(({ label, usage, format }) => {
          const pct = usage.used != null && usage.limit > 0 ? Math.min(100, (usage.used / usage.limit) * 100) : null;
          return (
            <div key={label}>
              <Group justify="space-between" gap="xs">
                <Text size="sm">{label}</Text>
                <Text size="sm" c="dimmed">
                  {usage.used != null ? `${format(usage.used)} of ${format(usage.limit)}` : `limit ${format(usage.limit)}`}
                </Text>
              </Group>
              {pct !== null && (
                <Progress
                  value={pct}
                  color={pct > 90 ? 'red' : pct > 70 ? 'orange' : 'indigo'}
                  size="sm"
                  mt={4}
                  aria-label={`${label}: ${Math.round(pct)}% used`}
                />
              )}
            </div>
          );
        })}
      </Stack>
    </Card>
  );
}

function RecentRuns({ runs, workspaceId }: { runs: Runs; workspaceId: string }) {
  return (
    <Card withBorder padding="lg" mt="lg" data-testid="recent-runs">
      <Title order={2} size="h4" mb="sm">
        Recent runs
      </Title>
      {runs.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing has run here yet. Testing a connection, discovering a source and running a pipeline all show up here, newest first.{' '}
          <Anchor component={Link} href={`/w/${workspaceId}/connect`}>
            Go to Connect
          </Anchor>
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={520} scrollAreaProps={KEYBOARD_SCROLL}>
          <Table verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>What</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Summary</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runs.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td>
                    <Anchor component={Link} href={`/w/${workspaceId}/runs/${r.id}`} size="sm">
                      {RUN_KIND[r.kind] ?? r.kind}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={RUN_STATE[r.state]?.color ?? 'gray'}>
                      {RUN_STATE[r.state]?.label ?? r.state}
                    </Badge>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(r.createdAt, 'minutes')}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" lineClamp={1}>
                      {r.summary ?? '—'}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Card>
  );
}
