'use client';

import { useEffect } from 'react';
import { useMutation, useQuery } from '@urql/next';
import { Alert, Badge, Button, Card, Code, Group, SimpleGrid, Skeleton, Stack, Text, Timeline, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCheck, IconPlayerPlay, IconPlayerSkipForward, IconX } from '@tabler/icons-react';
import { ConnectionDetailDocument, TestConnectionDocument } from '../../lib/documents';
import type { ConnectionDetailQuery } from '../../gql/__generated__/graphql';
import { canInWorkspace } from '../../lib/permissions';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { CONNECTION_STATUS, FINISHED_RUN_STATES, RUN_STATE } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

type Conn = NonNullable<ConnectionDetailQuery['connection']>;
const POLL_MS = 1000;

/** One connection: where it points, its health, and the steps of its last test, live while it runs. */
export function ConnectionPage({ workspaceId, connectionId }: { workspaceId: string; connectionId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const [result, reexecute] = useQuery({
    query: ConnectionDetailDocument,
    variables: { id: connectionId },
    pause: !isClient,
    requestPolicy: 'cache-and-network',
  });
  const [{ fetching: starting }, testConnection] = useMutation(TestConnectionDocument);
  const c = result.data?.connection;
  const running = c != null && (c.status === 'TESTING' || (c.lastTestRun != null && !FINISHED_RUN_STATES.has(c.lastTestRun.state)));

  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => reexecute({ requestPolicy: 'network-only' }), POLL_MS);
    return () => clearInterval(timer);
  }, [running, reexecute]);

  const crumbs = [
    { label: shell.organization.name, href: '/' },
    { label: c?.workspace.name ?? 'Workspace', href: `/w/${workspaceId}` },
    { label: 'Connect', href: `/w/${workspaceId}/connect` },
    { label: c?.name ?? 'Connection' },
  ];

  if (!result.data) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Connection" />
        {result.error ? (
          <Alert color="red" title="The connection could not be loaded" role="alert">
            {describeRequestError(result.error)}
          </Alert>
        ) : (
          <Skeleton h={200} aria-label="Loading the connection" />
        )}
      </>
    );
  }
  if (!c) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Connection not found" />
        <Alert color="yellow" role="alert">
          This connection does not exist (it may have been deleted) or belongs to a workspace you cannot see. Go back to Connect to pick another one.
        </Alert>
      </>
    );
  }

  const canTest = canInWorkspace(shell.person, workspaceId, 'connections:test');
  const status = CONNECTION_STATUS[c.status] ?? { color: 'gray', label: c.status };
  const test = async () => {
    const res = await testConnection({ id: c.id });
    const errors = res.data?.testConnection.errors ?? [];
    if (res.error || errors.length) {
      notifications.show({
        color: 'red',
        title: 'The test did not start',
        message: res.error ? describeRequestError(res.error) : errors.map((e) => e.message).join(' '),
      });
      return;
    }
    reexecute({ requestPolicy: 'network-only' });
  };

  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title={c.name}
        description={
          <>
            {c.type === 'POSTGRES' ? 'PostgreSQL' : c.type === 'MYSQL' ? 'MySQL' : c.type} {c.kind.toLowerCase()} at <Code>{c.endpoint}</Code>
          </>
        }
        actions={
          canTest ? (
            <Button leftSection={<IconPlayerPlay size={16} />} onClick={test} loading={starting || running} data-testid="test-connection">
              {running ? 'Testing…' : 'Test connection'}
            </Button>
          ) : undefined
        }
      />
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Card withBorder padding="lg">
          <Group justify="space-between" mb="sm">
            <Title order={2} size="h4">
              Health
            </Title>
            <Badge color={status.color} variant="light" size="lg" data-testid="connection-status">
              {status.label}
            </Badge>
          </Group>
          <Text size="sm">
            {c.lastTestedAt ? `Last tested ${formatDateTime(c.lastTestedAt, 'minutes')}.` : 'Never tested. Run a test to check that Datalinx can reach it.'}
          </Text>
          {c.status === 'FAILING' && c.lastError && (
            <Alert color="red" mt="sm" title="Why it fails">
              {c.lastError}
            </Alert>
          )}
        </Card>
        <Settings c={c} />
      </SimpleGrid>
      <TestRun c={c} running={running} />
    </>
  );
}

function Settings({ c }: { c: Conn }) {
  const cfg = c.config;
  const rows: [string, string][] = [];
  if (cfg.__typename === 'PostgresConnectionConfig' || cfg.__typename === 'MysqlConnectionConfig') {
    rows.push(['Host', `${cfg.host}:${cfg.port}`], ['Database', cfg.database], ['User', cfg.user]);
  }
  if (cfg.__typename === 'PostgresConnectionConfig') rows.push(['TLS', cfg.sslMode.toLowerCase().replace('_', '-')], ['Schema', cfg.schema ?? 'all']);
  rows.push(['Password', c.secretSet ? 'stored (encrypted)' : 'none']);
  return (
    <Card withBorder padding="lg">
      <Title order={2} size="h4" mb="sm">
        Settings
      </Title>
      <Stack gap={4}>
        {rows.map(([k, v]) => (
          <Group key={k} gap="xs" wrap="nowrap">
            <Text size="sm" c="dimmed" w={90}>
              {k}
            </Text>
            <Text size="sm" style={{ wordBreak: 'break-all' }}>
              {v}
            </Text>
          </Group>
        ))}
      </Stack>
    </Card>
  );
}

function TestRun({ c, running }: { c: Conn; running: boolean }) {
  const run = c.lastTestRun;
  if (!run) return null;
  const state = RUN_STATE[run.state] ?? { color: 'gray', label: run.state };
  const steps = [...run.steps].sort((a, b) => a.seq - b.seq);
  return (
    <Card withBorder padding="lg" mt="lg" data-testid="test-run" data-state={run.state}>
      <Group justify="space-between" mb="md">
        <Title order={2} size="h4">
          Last test
        </Title>
        <Group gap="xs">
          <Text size="sm" c="dimmed">
            {formatDateTime(run.createdAt, 'seconds')}
          </Text>
          <Badge color={state.color} variant="light">
            {state.label}
          </Badge>
        </Group>
      </Group>
      {steps.length === 0 && <Text size="sm">{running ? 'Waiting for a worker to pick the test up…' : 'The test reported no steps.'}</Text>}
      {steps.length > 0 && (
        <Timeline bulletSize={24} lineWidth={2} active={steps.length - 1} aria-label="Test steps">
          {steps.map((s) => (
            <Timeline.Item
              key={s.seq}
              data-testid="test-step"
              data-status={s.status}
              color={s.status === 'SUCCESS' ? 'teal' : s.status === 'FAILURE' ? 'red' : 'gray'}
              bullet={s.status === 'SUCCESS' ? <IconCheck size={14} /> : s.status === 'FAILURE' ? <IconX size={14} /> : <IconPlayerSkipForward size={14} />}
              title={
                <Group gap="xs">
                  <Text fw={600} size="sm">
                    {s.name}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {s.durationMs} ms
                  </Text>
                </Group>
              }
            >
              <Text size="sm" c={s.status === 'FAILURE' ? 'red.8' : 'dimmed'}>
                {s.message}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      {run.error && (
        <Alert color="red" mt="md" title={run.error.code}>
          {run.error.message}
        </Alert>
      )}
    </Card>
  );
}
