'use client';

import { useState } from 'react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMutation, useQuery } from '@urql/next';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import cronstrue from 'cronstrue';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Modal,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlayerPlay, IconPlus } from '@tabler/icons-react';
import { CreatePipelineDocument, PipelinesDocument, RunPipelineDocument } from '../../lib/documents';
import type { PipelinesQuery } from '../../gql/__generated__/graphql';
import { canInWorkspace } from '../../lib/permissions';
import { KEYBOARD_SCROLL } from '../../lib/theme';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError, splitUserErrors } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { RUN_KIND, RUN_STATE } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

type Data = PipelinesQuery;
type Pipeline = Data['pipelines']['nodes'][number];

/** A cron expression in words, or why it is not one. */
export function describeCron(expr: string): { ok: boolean; text: string } {
  try {
    return { ok: true, text: cronstrue.toString(expr, { use24HourTimeFormat: true }) };
  } catch (error) {
    return { ok: false, text: String(error).replace(/^Error: /, '') };
  }
}

/** Pipelines & Runs: the workspace's pipelines (run now, schedule in words) and its latest runs — one request. */
export function PipelinesPage({ workspaceId }: { workspaceId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const router = useRouter();
  const [result, reexecute] = useQuery({ query: PipelinesDocument, variables: { workspaceId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const [, runPipeline] = useMutation(RunPipelineDocument);
  const [creating, setCreating] = useState(false);
  const [starting, setStarting] = useState<string | null>(null);
  const canWrite = canInWorkspace(shell.person, workspaceId, 'pipelines:write');
  const canRun = canInWorkspace(shell.person, workspaceId, 'pipelines:run');
  const data = result.data;
  const crumbs = [
    { label: shell.organization.name, href: '/' },
    { label: data?.workspace?.name ?? 'Workspace', href: `/w/${workspaceId}` },
    { label: 'Pipelines & Runs' },
  ];

  const runNow = async (p: Pipeline) => {
    setStarting(p.id);
    const res = await runPipeline({ id: p.id });
    setStarting(null);
    const errors = res.data?.runPipeline.errors ?? [];
    if (res.error || errors.length || !res.data?.runPipeline.runId) {
      notifications.show({
        color: 'red',
        title: `${p.name} did not start`,
        message: res.error ? describeRequestError(res.error) : errors.map((e) => e.message).join(' '),
        autoClose: false,
      });
      return;
    }
    router.push(`/w/${workspaceId}/runs/${res.data.runPipeline.runId}`);
  };

  if (!data) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Pipelines & Runs" />
        {result.error ? (
          <Alert color="red" title="The pipelines could not be loaded" role="alert">
            {describeRequestError(result.error)}
          </Alert>
        ) : (
          <Skeleton h={200} aria-label="Loading pipelines" />
        )}
      </>
    );
  }
  const pipelines = data.pipelines.nodes;
  const sources = data.workspace?.connections.filter((c) => c.kind === 'SOURCE') ?? [];
  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title="Pipelines & Runs"
        description="A pipeline loads its sources into the warehouse and builds the mapped models, by hand or on a schedule."
        actions={
          canWrite && pipelines.length > 0 ? (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
              New pipeline
            </Button>
          ) : undefined
        }
      />
      {pipelines.length === 0 ? (
        <Card withBorder padding="xl" data-testid="empty-state">
          <Stack align="flex-start" gap="xs">
            <Text fw={600}>No pipelines yet</Text>
            <Text size="sm" c="dimmed">
              {sources.length === 0
                ? 'A pipeline reads from source connections: add one under Connect first.'
                : canWrite
                  ? 'Create one to load your sources into the warehouse, then run it now or on a schedule.'
                  : 'An editor of this workspace can create pipelines.'}
            </Text>
            {canWrite && sources.length > 0 && (
              <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
                Create a pipeline
              </Button>
            )}
            {sources.length === 0 && (
              <Button component={Link} href={`/w/${workspaceId}/connect`} variant="default">
                Go to Connect
              </Button>
            )}
          </Stack>
        </Card>
      ) : (
        <Card withBorder padding={0}>
          <Table.ScrollContainer minWidth={640} scrollAreaProps={KEYBOARD_SCROLL}>
            <Table verticalSpacing="sm" horizontalSpacing="md">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Pipeline</Table.Th>
                  <Table.Th>Sources</Table.Th>
                  <Table.Th>Schedule</Table.Th>
                  {canRun && (
                    <Table.Th>
                      <VisuallyHidden>Actions</VisuallyHidden>
                    </Table.Th>
                  )}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {pipelines.map((p) => (
                  <Table.Tr key={p.id} data-testid="pipeline-row">
                    <Table.Td>
                      <Text fw={500}>{p.name}</Text>
                      {p.description && (
                        <Text size="xs" c="dimmed" lineClamp={1}>
                          {p.description}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{p.definition.sources.map((s) => s.connection?.name ?? 'deleted connection').join(', ')}</Text>
                    </Table.Td>
                    <Table.Td>
                      {p.schedule ? (
                        <>
                          <Text size="sm">{describeCron(p.schedule).text}</Text>
                          <Text size="xs" c="dimmed">
                            {p.timeZone}
                            {p.enabled && p.nextRunAt ? ` · next ${formatDateTime(p.nextRunAt, 'minutes')}` : ''}
                            {!p.enabled ? ' · paused' : ''}
                          </Text>
                        </>
                      ) : (
                        <Text size="sm" c="dimmed">
                          By hand
                        </Text>
                      )}
                    </Table.Td>
                    {canRun && (
                      <Table.Td ta="right">
                        <Button
                          size="xs"
                          variant="light"
                          leftSection={<IconPlayerPlay size={14} />}
                          loading={starting === p.id}
                          onClick={() => runNow(p)}
                          aria-label={`Run now: ${p.name}`}
                        >
                          Run now
                        </Button>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      )}
      <Card withBorder padding="lg" mt="lg" data-testid="runs">
        <Title order={2} size="h4" mb="sm">
          Latest runs
        </Title>
        {data.runs.nodes.length === 0 ? (
          <Text size="sm" c="dimmed">
            No runs yet. Runs of pipelines, connection tests and discoveries appear here, newest first.
          </Text>
        ) : (
          <Table.ScrollContainer minWidth={520} scrollAreaProps={KEYBOARD_SCROLL}>
            <Table verticalSpacing="xs">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>State</Table.Th>
                  <Table.Th>Queued</Table.Th>
                  <Table.Th>Summary</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.runs.nodes.map((r) => (
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
      <CreatePipelineModal
        workspaceId={workspaceId}
        sources={sources}
        opened={creating}
        onClose={() => setCreating(false)}
        onCreated={() => reexecute({ requestPolicy: 'network-only' })}
      />
    </>
  );
}

const createSchema = z.object({
  name: z.string().trim().min(1, 'Name the pipeline.').max(100, 'At most 100 characters.'),
  description: z.string().max(2000, 'At most 2000 characters.'),
  sourceIds: z.array(z.string()).min(1, 'Pick at least one source.'),
  schedule: z
    .string()
    .trim()
    .refine((v) => v === '' || describeCron(v).ok, 'Not a cron expression: five fields, e.g. 0 6 * * * for 06:00 every day.'),
  timeZone: z.string().trim().min(1, 'Pick a time zone, e.g. UTC or Europe/Berlin.'),
});
type CreateValues = z.infer<typeof createSchema>;

function CreatePipelineModal({
  workspaceId,
  sources,
  opened,
  onClose,
  onCreated,
}: {
  workspaceId: string;
  sources: NonNullable<Data['workspace']>['connections'];
  opened: boolean;
  onClose: () => void;
  onCreated: () => void;
}) {
  const [, create] = useMutation(CreatePipelineDocument);
  const [problem, setProblem] = useState<string | null>(null);
  const defaults: CreateValues = { name: '', description: '', sourceIds: [], schedule: '', timeZone: 'UTC' };
  const form = useForm<CreateValues>({ resolver: zodResolver(createSchema), defaultValues: defaults });
  const schedule = form.watch('schedule');
  const cron = schedule.trim() ? describeCron(schedule.trim()) : null;
  const close = () => {
    form.reset(defaults);
    setProblem(null);
    onClose();
  };
  const onSubmit = form.handleSubmit(async (v) => {
    setProblem(null);
    const res = await create({
      input: {
        workspaceId,
        name: v.name,
        description: v.description || null,
        definition: { sources: v.sourceIds.map((connectionId) => ({ connectionId })) },
        schedule: v.schedule || null,
        timeZone: v.timeZone,
      },
    });
    if (res.error) return setProblem(describeRequestError(res.error));
    const answer = res.data!.createPipeline;
    if (answer.errors.length || !answer.pipeline) {
      const { byField, general } = splitUserErrors(answer.errors, ['name', 'description', 'schedule', 'timeZone'], { 'definition.sources': 'sourceIds' });
      for (const [field, message] of Object.entries(byField)) form.setError(field as keyof CreateValues, { message });
      if (general.length) setProblem(general.join(' '));
      return;
    }
    notifications.show({ color: 'teal', title: 'Pipeline created', message: `Run ${answer.pipeline.name} now, or let its schedule start it.` });
    onCreated();
    close();
  });
  return (
    <Modal opened={opened} onClose={close} title="New pipeline" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          {problem && (
            <Alert color="red" role="alert" title="The pipeline was not created">
              {problem}
            </Alert>
          )}
          <TextInput label="Name" data-autofocus {...form.register('name')} error={form.formState.errors.name?.message} />
          <Textarea label="Description (optional)" autosize minRows={2} {...form.register('description')} error={form.formState.errors.description?.message} />
          <Controller
            control={form.control}
            name="sourceIds"
            render={({ field }) => (
              <Checkbox.Group
                label="Sources"
                description="Every discovered table of each source is loaded."
                value={field.value}
                onChange={field.onChange}
                error={form.formState.errors.sourceIds?.message}
              >
                <Stack gap={6} mt={6}>
                  {sources.map((c) => (
                    <Checkbox key={c.id} value={c.id} label={c.name} />
                  ))}
                </Stack>
              </Checkbox.Group>
            )}
          />
          <Group grow align="flex-start">
            <TextInput
              label="Schedule (cron, optional)"
              placeholder="0 6 * * *"
              {...form.register('schedule')}
              error={form.formState.errors.schedule?.message}
              description={cron ? (cron.ok ? cron.text : 'Not a cron expression yet') : 'Empty: runs only by hand'}
            />
            <TextInput label="Time zone" {...form.register('timeZone')} error={form.formState.errors.timeZone?.message} />
          </Group>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={form.formState.isSubmitting}>
              Create pipeline
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
