'use client';

import { useEffect } from 'react';
import { useQuery } from '@urql/next';
import { Alert, Badge, Card, Group, Progress, SimpleGrid, Skeleton, Text, Timeline, Title } from '@mantine/core';
import { IconCheck, IconPlayerSkipForward, IconX } from '@tabler/icons-react';
import { RunDocument } from '../../lib/documents';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { FINISHED_RUN_STATES, RUN_KIND, RUN_STATE } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

const POLL_MS = 1500;

function duration(from: string | null | undefined, to: string | null | undefined): string {
  if (!from) return '—';
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One run, live: state, timings and each step as the data plane reports it. */
export function RunPage({ workspaceId, runId }: { workspaceId: string; runId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const [result, reexecute] = useQuery({ query: RunDocument, variables: { id: runId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const run = result.data?.run;
  const live = run != null && !FINISHED_RUN_STATES.has(run.state);
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => reexecute({ requestPolicy: 'network-only' }), POLL_MS);
    return () => clearInterval(timer);
  }, [live, reexecute]);
  const workspaceName = shell.workspaces.find((w) => w.id === workspaceId)?.name ?? 'Workspace';
  const crumbs = [
    { label: shell.organization.name, href: '/' },
    { label: workspaceName, href: `/w/${workspaceId}` },
    { label: 'Pipelines & Runs', href: `/w/${workspaceId}/pipelines` },
    { label: 'Run' },
  ];
  if (!result.data) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Run" />
        {result.error ? (
          <Alert color="red" title="The run could not be loaded" role="alert">
            {describeRequestError(result.error)}
          </Alert>
        ) : (
          <Skeleton h={200} aria-label="Loading the run" />
        )}
      </>
    );
  }
  if (!run) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Run not found" />
        <Alert color="yellow" role="alert">
          This run does not exist or belongs to a workspace you cannot see.
        </Alert>
      </>
    );
  }
  const state = RUN_STATE[run.state] ?? { color: 'gray', label: run.state };
  const steps = [...run.steps].sort((a, b) => a.seq - b.seq);
  return (
    <>
      <PageHeader crumbs={crumbs} title={RUN_KIND[run.kind] ?? run.kind} description={run.summary ?? `Run ${run.id}`} />
      <Card withBorder padding="lg" data-testid="run-summary" data-state={run.state}>
        <Group justify="space-between" mb="sm">
          <Title order={2} size="h4">
            Progress
          </Title>
          <Badge color={state.color} variant="light" size="lg" data-testid="run-state">
            {state.label}
          </Badge>
        </Group>
        <Progress
          value={FINISHED_RUN_STATES.has(run.state) ? 100 : run.state === 'QUEUED' ? 5 : 50}
          animated={live}
          striped={live}
          color={run.state === 'FAILURE' ? 'red' : run.state === 'SUCCESS' ? 'teal' : 'indigo'}
          aria-label={`Run ${state.label.toLowerCase()}`}
        />
        <SimpleGrid cols={{ base: 2, sm: 4 }} mt="md">
          <Fact label="Queued" value={formatDateTime(run.createdAt)} />
          <Fact label="Started" value={run.startedAt ? formatDateTime(run.startedAt) : 'not yet'} />
          <Fact label="Took" value={duration(run.startedAt, run.finishedAt)} />
          <Fact label="Attempts" value={String(run.attempts)} />
        </SimpleGrid>
        {run.state === 'QUEUED' && (
          <Text size="sm" c="dimmed" mt="sm">
            Waiting for a worker of the data plane to pick the run up. If it stays queued, check that the workers run (npm start starts them).
          </Text>
        )}
        {run.error && (
          <Alert color="red" mt="md" title={run.error.code}>
            {run.error.message}
          </Alert>
        )}
      </Card>
      <Card withBorder padding="lg" mt="lg">
        <Title order={2} size="h4" mb="md">
          Steps
        </Title>
        {steps.length === 0 ? (
          <Text size="sm" c="dimmed">
            No step has reported yet.
          </Text>
        ) : (
          <Timeline bulletSize={24} lineWidth={2} active={steps.length - 1} aria-label="Run steps">
            {steps.map((s) => (
              <Timeline.Item
                key={`${s.seq}-${s.attempt}`}
                data-testid="run-step"
                color={s.status === 'SUCCESS' ? 'teal' : s.status === 'FAILURE' ? 'red' : 'gray'}
                bullet={s.status === 'SUCCESS' ? <IconCheck size={14} /> : s.status === 'FAILURE' ? <IconX size={14} /> : <IconPlayerSkipForward size={14} />}
                title={
                  <Group gap="xs">
                    <Text fw={600} size="sm">
                      {s.name}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {s.durationMs} ms{s.attempt > 1 ? ` · attempt ${s.attempt}` : ''}
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
      </Card>
    </>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600}>
        {label.toUpperCase()}
      </Text>
      <Text size="sm">{value}</Text>
    </div>
  );
}
