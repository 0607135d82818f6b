'use client';

import { useState } from 'react';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMutation, useQuery } from '@urql/next';
import { Alert, Anchor, Badge, Button, Card, Group, Modal, Skeleton, Stack, Table, Text, TextInput, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlayerPlay, IconPlus, IconTrash } from '@tabler/icons-react';
import { ConnectionsDocument, DeleteConnectionDocument, TestConnectionDocument } from '../../lib/documents';
import { KEYBOARD_SCROLL } from '../../lib/theme';
import type { ConnectionsQuery } from '../../gql/__generated__/graphql';
import { canInWorkspace } from '../../lib/permissions';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { CONNECTION_STATUS } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';
import { AddConnectionModal } from './add-connection-modal';

type Connection = NonNullable<ConnectionsQuery['workspace']>['connections'][number];

/** Connect: the workspace's connections with their health; add, test and delete them. */
export function ConnectionsPage({ workspaceId }: { workspaceId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const router = useRouter();
  const [result, reexecute] = useQuery({ query: ConnectionsDocument, variables: { id: workspaceId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const [, testConnection] = useMutation(TestConnectionDocument);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<Connection | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const canWrite = canInWorkspace(shell.person, workspaceId, 'connections:write');
  const canTest = canInWorkspace(shell.person, workspaceId, 'connections:test');
  const ws = result.data?.workspace;
  const crumbs = [{ label: shell.organization.name, href: '/' }, { label: ws?.name ?? 'Workspace', href: `/w/${workspaceId}` }, { label: 'Connect' }];
  const reload = () => reexecute({ requestPolicy: 'network-only' });

  const test = async (c: Connection) => {
    setTesting(c.id);
    const res = await testConnection({ id: c.id });
    setTesting(null);
    const errors = res.data?.testConnection.errors ?? [];
    if (res.error || errors.length) {
      notifications.show({
        color: 'red',
        title: `Testing ${c.name} did not start`,
        message: res.error ? describeRequestError(res.error) : errors.map((e) => e.message).join(' '),
      });
      return;
    }
    router.push(`/w/${workspaceId}/connect/${c.id}`);
  };

  let body;
  if (!ws && result.error) {
    body = (
      <Alert color="red" title="The connections could not be loaded" role="alert">
        {describeRequestError(result.error)}
      </Alert>
    );
  } else if (!ws) {
    body = <Skeleton h={160} aria-label="Loading connections" />;
  } else if (ws.connections.length === 0) {
    body = (
      <Card withBorder padding="xl" data-testid="empty-state">
        <Stack align="flex-start" gap="xs">
          <Text fw={600}>No connections yet</Text>
          <Text size="sm" c="dimmed">
            A connection tells Datalinx how to reach a source database. Add one, test it, then discover its tables.
            {!canWrite && ' Only editors of this workspace can add connections.'}
          </Text>
          {canWrite && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setAdding(true)}>
              Add a connection
            </Button>
          )}
        </Stack>
      </Card>
    );
  } else {
    body = (
      <Card withBorder padding={0}>
        <Table.ScrollContainer minWidth={640} scrollAreaProps={KEYBOARD_SCROLL}>
          <Table verticalSpacing="sm" horizontalSpacing="md" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Health</Table.Th>
                <Table.Th>Last tested</Table.Th>
                {(canWrite || canTest) && (
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {ws.connections.map((c) => {
                const status = CONNECTION_STATUS[c.status] ?? { color: 'gray', label: c.status };
                return (
                  <Table.Tr key={c.id} data-testid="connection-row">
                    <Table.Td>
                      <Anchor component={Link} href={`/w/${workspaceId}/connect/${c.id}`} fw={500}>
                        {c.name}
                      </Anchor>
                      <Text size="xs" c="dimmed" ff="monospace">
                        {c.endpoint}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{c.type === 'POSTGRES' ? 'PostgreSQL' : c.type === 'MYSQL' ? 'MySQL' : c.type}</Text>
                      <Text size="xs" c="dimmed">
                        {c.kind.toLowerCase()}
                      </Text>
                    </Table.Td>
                    <Table.Td style={{ whiteSpace: 'nowrap' }}>
                      <Badge variant="light" color={status.color}>
                        {status.label}
                      </Badge>
                      {c.status === 'FAILING' && c.lastError && (
                        <Text size="xs" c="red.8" lineClamp={2} maw={260}>
                          {c.lastError}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{c.lastTestedAt ? formatDateTime(c.lastTestedAt, 'minutes') : 'Never'}</Text>
                    </Table.Td>
                    {(canWrite || canTest) && (
                      <Table.Td>
                        <Group gap={4} justify="flex-end" wrap="nowrap">
                          {canTest && (
                            <Button
                              size="xs"
                              variant="light"
                              leftSection={<IconPlayerPlay size={14} />}
                              loading={testing === c.id}
                              onClick={() => test(c)}
                              aria-label={`Test ${c.name}`}
                            >
                              Test
                            </Button>
                          )}
                          {canWrite && (
                            <Button
                              size="xs"
                              variant="subtle"
                              color="red"
                              leftSection={<IconTrash size={14} />}
                              onClick={() => setDeleting(c)}
                              aria-label={`Delete ${c.name}`}
                            >
                              Delete
                            </Button>
                          )}
                        </Group>
                      </Table.Td>
                    )}
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
    );
  }

  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title="Connect"
        description="Sources Datalinx reads from, with the result of their last test."
        actions={
          canWrite && ws && ws.connections.length > 0 ? (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setAdding(true)}>
              Add connection
            </Button>
          ) : undefined
        }
      />
      {body}
      <AddConnectionModal
        workspaceId={workspaceId}
        opened={adding}
        onClose={() => setAdding(false)}
        onCreated={(id) => {
          reload();
          router.push(`/w/${workspaceId}/connect/${id}`);
        }}
      />
      <DeleteConnectionModal connection={deleting} onClose={() => setDeleting(null)} onDeleted={reload} />
    </>
  );
}

function DeleteConnectionModal({ connection, onClose, onDeleted }: { connection: Connection | null; onClose: () => void; onDeleted: () => void }) {
  const [{ fetching }, remove] = useMutation(DeleteConnectionDocument);
  const [typed, setTyped] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const close = () => {
    setTyped('');
    setProblem(null);
    onClose();
  };
  const confirm = async () => {
    if (!connection) return;
    const res = await remove({ id: connection.id });
    const errors = res.data?.deleteConnection.errors ?? [];
    if (res.error || errors.length) {
      setProblem(res.error ? describeRequestError(res.error) : errors.map((e) => e.message).join(' '));
      return;
    }
    notifications.show({ color: 'teal', title: 'Connection deleted', message: `${connection.name} is gone, with its stored secret.` });
    onDeleted();
    close();
  };
  return (
    <Modal opened={connection !== null} onClose={close} title={connection ? `Delete ${connection.name}?` : 'Delete'}>
      <Stack>
        <Text size="sm">Its stored secret is deleted too. Pipelines that read from it will fail until they use another connection. This cannot be undone.</Text>
        {problem && (
          <Alert color="red" role="alert">
            {problem}
          </Alert>
        )}
        <TextInput label={`Type ${connection?.name ?? ''} to confirm`} value={typed} onChange={(e) => setTyped(e.currentTarget.value)} data-autofocus />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button color="red" disabled={typed !== connection?.name} loading={fetching} onClick={confirm}>
            Delete connection
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
