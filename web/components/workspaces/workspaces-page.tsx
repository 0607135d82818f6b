'use client';

import { useState } from 'react';
import Link from 'next/link';
import { useMutation, useQuery } from '@urql/next';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  NativeSelect,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Textarea,
  VisuallyHidden,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPencil, IconPlus } from '@tabler/icons-react';
import { CreateWorkspaceDocument, UpdateWorkspaceDocument, WorkspacesDocument } from '../../lib/documents';
import { KEYBOARD_SCROLL } from '../../lib/theme';
import type { WorkspacesQuery } from '../../gql/__generated__/graphql';
import { canInOrg } from '../../lib/permissions';
import { slugify } from '../../lib/password-rules';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError, splitUserErrors } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

type Workspace = WorkspacesQuery['workspaces']['nodes'][number];
const ENVIRONMENTS = ['DEV', 'STAGING', 'PROD'] as const;

/** Settings → Workspaces: every workspace the person may read; org admins create and rename them. */
export function WorkspacesPage() {
  const isClient = useIsClient();
  const shell = useShell();
  const [result, reexecute] = useQuery({ query: WorkspacesDocument, pause: !isClient, requestPolicy: 'cache-and-network' });
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<Workspace | null>(null);
  const canManage = canInOrg(shell.person, 'workspaces:create');
  const reload = () => {
    reexecute({ requestPolicy: 'network-only' });
    shell.refresh();
  };

  const list = result.data?.workspaces.nodes;
  let body;
  if (!list && result.error) {
    body = (
      <Alert color="red" title="The workspaces could not be loaded" role="alert">
        {describeRequestError(result.error)}
      </Alert>
    );
  } else if (!list) {
    body = <Skeleton h={160} aria-label="Loading workspaces" />;
  } else if (list.length === 0) {
    body = (
      <Card withBorder padding="xl" data-testid="empty-state">
        <Stack align="flex-start" gap="xs">
          <Text fw={600}>No workspaces yet</Text>
          <Text size="sm" c="dimmed">
            A workspace holds the connections, schemas, mappings and pipelines of one environment (dev, staging or prod).{' '}
            {canManage ? 'Create your first one to start connecting sources.' : 'Ask an organization admin to create one and give you access.'}
          </Text>
          {canManage && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
              Create a workspace
            </Button>
          )}
        </Stack>
      </Card>
    );
  } else {
    body = (
      <Card withBorder padding={0}>
        <Table.ScrollContainer minWidth={560} scrollAreaProps={KEYBOARD_SCROLL}>
          <Table verticalSpacing="sm" horizontalSpacing="md" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Environment</Table.Th>
                <Table.Th>Created</Table.Th>
                {canManage && (
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.map((w) => (
                <Table.Tr key={w.id} data-testid="workspace-row">
                  <Table.Td>
                    <Anchor component={Link} href={`/w/${w.id}`} fw={500}>
                      {w.name}
                    </Anchor>
                    <Text size="xs" c="dimmed">
                      {w.slug}
                      {w.description ? ` — ${w.description}` : ''}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Group gap={6}>
                      <Badge variant="light" color={w.environment === 'PROD' ? 'red' : w.environment === 'STAGING' ? 'grape' : 'blue'}>
                        {w.environment.toLowerCase()}
                      </Badge>
                      {w.archivedAt && (
                        <Badge variant="outline" color="gray">
                          archived
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{formatDateTime(w.createdAt, 'minutes')}</Text>
                  </Table.Td>
                  {canManage && (
                    <Table.Td ta="right">
                      <Button size="xs" variant="subtle" leftSection={<IconPencil size={14} />} onClick={() => setRenaming(w)} aria-label={`Rename ${w.name}`}>
                        Rename
                      </Button>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
    );
  }

  return (
    <>
      <PageHeader
        crumbs={[{ label: shell.organization.name, href: '/' }, { label: 'Settings' }, { label: 'Workspaces' }]}
        title="Workspaces"
        description="Each workspace is an isolated environment with its own connections, pipelines and runs."
        actions={
          canManage && list && list.length > 0 ? (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>
              New workspace
            </Button>
          ) : undefined
        }
      />
      {body}
      <CreateWorkspaceModal opened={creating} onClose={() => setCreating(false)} onCreated={reload} />
      <RenameWorkspaceModal workspace={renaming} onClose={() => setRenaming(null)} onRenamed={reload} />
    </>
  );
}

const createSchema = z.object({
  name: z.string().trim().min(1, 'Name the workspace.').max(100, 'At most 100 characters.'),
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, '2–63 lowercase letters, digits or dashes.'),
  environment: z.enum(ENVIRONMENTS),
});

function CreateWorkspaceModal({ opened, onClose, onCreated }: { opened: boolean; onClose: () => void; onCreated: () => void }) {
  const [, create] = useMutation(CreateWorkspaceDocument);
  const [problem, setProblem] = useState<string | null>(null);
  const [slugTouched, setSlugTouched] = useState(false);
  const form = useForm<z.infer<typeof createSchema>>({ resolver: zodResolver(createSchema), defaultValues: { name: '', slug: '', environment: 'DEV' } });
  const close = () => {
    form.reset();
    setSlugTouched(false);
    setProblem(null);
    onClose();
  };
  const onSubmit = form.handleSubmit(async (input) => {
    setProblem(null);
    const result = await create({ input });
    if (result.error) return setProblem(describeRequestError(result.error));
    const answer = result.data!.createWorkspace;
    if (answer.errors.length || !answer.workspace) {
      const { byField, general } = splitUserErrors(answer.errors, ['name', 'slug', 'environment']);
      for (const [field, message] of Object.entries(byField)) form.setError(field as 'name', { message });
      if (general.length) setProblem(general.join(' '));
      return;
    }
    notifications.show({ color: 'teal', title: 'Workspace created', message: `${answer.workspace.name} is ready. Connect a source next.` });
    onCreated();
    close();
  });
  return (
    <Modal opened={opened} onClose={close} title="New workspace">
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          {problem && (
            <Alert color="red" role="alert">
              {problem}
            </Alert>
          )}
          <TextInput
            label="Name"
            data-autofocus
            {...form.register('name', { onChange: (e) => !slugTouched && form.setValue('slug', slugify(e.target.value)) })}
            error={form.formState.errors.name?.message}
          />
          <TextInput
            label="Slug"
            description="Unique in your organization."
            {...form.register('slug', { onChange: () => setSlugTouched(true) })}
            error={form.formState.errors.slug?.message}
          />
          <NativeSelect
            label="Environment"
            data={[
              { value: 'DEV', label: 'Development' },
              { value: 'STAGING', label: 'Staging' },
              { value: 'PROD', label: 'Production' },
            ]}
            {...form.register('environment')}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={form.formState.isSubmitting}>
              Create workspace
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

const renameSchema = z.object({
  name: z.string().trim().min(1, 'Name the workspace.').max(100, 'At most 100 characters.'),
  description: z.string().max(2000, 'At most 2000 characters.'),
});

function RenameWorkspaceModal({ workspace, onClose, onRenamed }: { workspace: Workspace | null; onClose: () => void; onRenamed: () => void }) {
  const [, update] = useMutation(UpdateWorkspaceDocument);
  const [problem, setProblem] = useState<string | null>(null);
  const form = useForm<z.infer<typeof renameSchema>>({
    resolver: zodResolver(renameSchema),
    values: { name: workspace?.name ?? '', description: workspace?.description ?? '' },
  });
  const onSubmit = form.handleSubmit(async (input) => {
    if (!workspace) return;
    setProblem(null);
    const result = await update({ id: workspace.id, input });
    if (result.error) return setProblem(describeRequestError(result.error));
    const answer = result.data!.updateWorkspace;
    if (answer.errors.length) {
      const { byField, general } = splitUserErrors(answer.errors, ['name', 'description']);
      for (const [field, message] of Object.entries(byField)) form.setError(field as 'name', { message });
      if (general.length) setProblem(general.join(' '));
      return;
    }
    notifications.show({ color: 'teal', title: 'Workspace renamed', message: `It is now called ${input.name}.` });
    onRenamed();
    onClose();
  });
  return (
    <Modal opened={workspace !== null} onClose={onClose} title={workspace ? `Rename ${workspace.name}` : 'Rename'}>
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          {problem && (
            <Alert color="red" role="alert">
              {problem}
            </Alert>
          )}
          <TextInput label="Name" data-autofocus {...form.register('name')} error={form.formState.errors.name?.message} />
          <Textarea label="Description" autosize minRows={2} {...form.register('description')} error={form.formState.errors.description?.message} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={form.formState.isSubmitting}>
              Save
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
