'use client';

import { useEffect, useMemo, useState } from 'react';
import dynamic from 'next/dynamic';
import { useMutation, useQuery } from '@urql/next';
import { Alert, Badge, Button, Card, Code, Grid, Group, NavLink, Progress, ScrollArea, Skeleton, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDatabase, IconFolder, IconRefresh, IconSearch, IconTable } from '@tabler/icons-react';
import { DiscoverConnectionDocument, RunProgressDocument, SourceSnapshotDocument } from '../../lib/documents';
import type { SourceSnapshotQuery } from '../../gql/__generated__/graphql';
import { canInWorkspace } from '../../lib/permissions';
import { KEYBOARD_SCROLL } from '../../lib/theme';
import { useIsClient } from '../../lib/use-is-client';
import { describeRequestError } from '../../lib/user-errors';
import { formatDateTime } from '../format';
import { FINISHED_RUN_STATES, RUN_STATE } from '../status';
import { PageHeader } from '../shell/page-header';
import { useShell } from '../shell/shell-context';

// ECharts only where a chart is shown, outside the first load of every page.
const TopValuesChart = dynamic(() => import('./top-values-chart'), { ssr: false, loading: () => <Skeleton h={140} /> });

type Snapshot = SourceSnapshotQuery['sourceSnapshots']['nodes'][number];
type SourceTable = Snapshot['tables'][number];
const POLL_MS = 1000;

/**
 * One source, as its latest discovery saw it: a searchable tree schema → table → column beside the
 * selected table (row estimate, keys, per-column profile, top values). Discover runs again with
 * its progress shown.
 */
export function SourceBrowser({ workspaceId, connectionId }: { workspaceId: string; connectionId: string }) {
  const isClient = useIsClient();
  const shell = useShell();
  const [result, reexecute] = useQuery({ query: SourceSnapshotDocument, variables: { connectionId }, pause: !isClient, requestPolicy: 'cache-and-network' });
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const conn = result.data?.connection;
  const snapshot = result.data?.sourceSnapshots.nodes[0] ?? null;
  const canDiscover = canInWorkspace(shell.person, workspaceId, 'connections:test') || canInWorkspace(shell.person, workspaceId, 'schemas:write');
  const table = snapshot?.tables.find((t) => t.id === selected) ?? null;
  const crumbs = [
    { label: shell.organization.name, href: '/' },
    { label: conn?.workspace.name ?? 'Workspace', href: `/w/${workspaceId}` },
    { label: 'Data Sources', href: `/w/${workspaceId}/sources` },
    { label: conn?.name ?? 'Source' },
  ];

  if (!result.data) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Data Sources" />
        {result.error ? (
          <Alert color="red" title="The source could not be loaded" role="alert">
            {describeRequestError(result.error)}
          </Alert>
        ) : (
          <Skeleton h={240} aria-label="Loading the source" />
        )}
      </>
    );
  }
  if (!conn) {
    return (
      <>
        <PageHeader crumbs={crumbs} title="Source not found" />
        <Alert color="yellow" role="alert">
          This connection does not exist or belongs to a workspace you cannot see. Pick a source from Data Sources.
        </Alert>
      </>
    );
  }
  return (
    <>
      <PageHeader
        crumbs={crumbs}
        title={conn.name}
        description={
          snapshot ? (
            <>
              Discovery #{snapshot.version} of {formatDateTime(snapshot.createdAt, 'minutes')}: {snapshot.tableCount} table
              {snapshot.tableCount === 1 ? '' : 's'} at <Code>{conn.endpoint}</Code>
            </>
          ) : (
            <>
              Not discovered yet: <Code>{conn.endpoint}</Code>
            </>
          )
        }
        actions={
          canDiscover ? (
            <DiscoverButton
              connectionId={connectionId}
              runId={runId}
              onStarted={setRunId}
              onFinished={() => {
                setRunId(null);
                reexecute({ requestPolicy: 'network-only' });
              }}
              label={snapshot ? 'Discover again' : 'Discover'}
            />
          ) : undefined
        }
      />
      {runId && <DiscoveryProgress runId={runId} />}
      {!snapshot ? (
        <Card withBorder padding="xl" data-testid="empty-state">
          <Text fw={600}>Nothing discovered yet</Text>
          <Text size="sm" c="dimmed">
            {canDiscover
              ? 'Discover reads the schemas, tables, columns, keys and a sample of values of this source. It reads only; nothing is copied yet.'
              : 'An editor of this workspace can run discovery on this source.'}
          </Text>
        </Card>
      ) : (
        <Grid gap="lg">
          <Grid.Col span={{ base: 12, md: 4 }}>
            <Card withBorder padding="sm">
              <TextInput
                aria-label="Search tables and columns"
                placeholder="Search tables and columns"
                leftSection={<IconSearch size={16} aria-hidden />}
                value={search}
                onChange={(e) => setSearch(e.currentTarget.value)}
                mb="xs"
              />
              <ScrollArea.Autosize mah={560} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Tables' }}>
                <SourceTree tables={snapshot.tables} search={search} selected={selected} onSelect={setSelected} />
              </ScrollArea.Autosize>
            </Card>
          </Grid.Col>
          <Grid.Col span={{ base: 12, md: 8 }}>
            {table ? (
              <TableDetail table={table} />
            ) : (
              <Card withBorder padding="xl">
                <Text size="sm" c="dimmed">
                  Pick a table on the left to see its row estimate, keys and the profile of each column.
                </Text>
              </Card>
            )}
          </Grid.Col>
        </Grid>
      )}
    </>
  );
}

function DiscoverButton({
  connectionId,
  runId,
  onStarted,
  onFinished,
  label,
}: {
  connectionId: string;
  runId: string | null;
  onStarted: (id: string) => void;
  onFinished: () => void;
  label: string;
}) {
  const isClient = useIsClient();
  const [{ fetching }, discover] = useMutation(DiscoverConnectionDocument);
  const [run, poll] = useQuery({ query: RunProgressDocument, variables: { id: runId ?? '' }, pause: !isClient || !runId, requestPolicy: 'network-only' });
  const state = run.data?.run?.state;
  useEffect(() => {
    if (!runId || (state && FINISHED_RUN_STATES.has(state))) return;
    const timer = setInterval(() => poll({ requestPolicy: 'network-only' }), POLL_MS);
    return () => clearInterval(timer);
  }, [runId, state, poll]);
  useEffect(() => {
    if (!runId || !state || !FINISHED_RUN_STATES.has(state)) return;
    const r = run.data!.run!;
    if (state === 'SUCCESS') notifications.show({ color: 'teal', title: 'Discovery finished', message: r.summary ?? 'The source was read.' });
    else notifications.show({ color: 'red', title: 'Discovery failed', message: r.error?.message ?? 'See the steps for the reason.', autoClose: false });
    onFinished();
  }, [runId, state, run.data, onFinished]);
  const start = async () => {
    const res = await discover({ id: connectionId });
    const errors = res.data?.discoverConnection.errors ?? [];
    if (res.error || errors.length || !res.data?.discoverConnection.runId) {
      notifications.show({
        color: 'red',
        title: 'Discovery did not start',
        message: res.error ? describeRequestError(res.error) : errors.map((e) => e.message).join(' '),
      });
      return;
    }
    onStarted(res.data.discoverConnection.runId);
  };
  return (
    <Button leftSection={<IconRefresh size={16} />} onClick={start} loading={fetching || runId !== null} data-testid="discover">
      {label}
    </Button>
  );
}

function DiscoveryProgress({ runId }: { runId: string }) {
  const isClient = useIsClient();
  const [run] = useQuery({ query: RunProgressDocument, variables: { id: runId }, pause: !isClient, requestPolicy: 'cache-only' });
  const r = run.data?.run;
  const state = r ? (RUN_STATE[r.state] ?? { color: 'gray', label: r.state }) : { color: 'gray', label: 'Starting' };
  const steps = r?.steps ?? [];
  return (
    <Card withBorder padding="md" mb="lg" data-testid="discovery-progress" aria-live="polite">
      <Group justify="space-between" mb="xs">
        <Text fw={600}>Discovering…</Text>
        <Badge variant="light" color={state.color}>
          {state.label}
        </Badge>
      </Group>
      <Progress value={100} animated striped aria-label="Discovery in progress" />
      {steps.length > 0 && (
        <Text size="sm" c="dimmed" mt="xs">
          {steps[steps.length - 1]!.name}: {steps[steps.length - 1]!.message}
        </Text>
      )}
    </Card>
  );
}

function SourceTree({
  tables,
  search,
  selected,
  onSelect,
}: {
  tables: readonly SourceTable[];
  search: string;
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const needle = search.trim().toLowerCase();
  const bySchema = useMemo(() => {
    const groups = new Map<string, { table: SourceTable; columns: SourceTable['columns'] }[]>();
    for (const t of tables) {
      const tableHit = !needle || t.tableName.toLowerCase().includes(needle) || t.schemaName.toLowerCase().includes(needle);
      const columns = tableHit ? t.columns : t.columns.filter((c) => c.name.toLowerCase().includes(needle));
      if (!tableHit && columns.length === 0) continue;
      const list = groups.get(t.schemaName) ?? [];
      list.push({ table: t, columns: [...columns].sort((a, b) => a.ordinal - b.ordinal) });
      groups.set(t.schemaName, list);
    }
    return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
  }, [tables, needle]);
  if (bySchema.length === 0) {
    return (
      <Text size="sm" c="dimmed" p="xs">
        {tables.length === 0 ? 'Discovery found no tables in this source.' : `Nothing matches “${search}”.`}
      </Text>
    );
  }
  return (
    <nav aria-label="Schemas and tables" data-testid="source-tree">
      {bySchema.map(([schema, list]) => (
        <NavLink component="button" key={schema} label={schema} leftSection={<IconFolder size={16} aria-hidden />} defaultOpened childrenOffset={16}>
          {list.map(({ table, columns }) => (
            <NavLink
              component="button"
              key={table.id}
              label={table.tableName}
              description={table.rowEstimate != null ? `~${Math.round(table.rowEstimate).toLocaleString()} rows` : undefined}
              leftSection={<IconTable size={16} aria-hidden />}
              active={selected === table.id}
              opened={selected === table.id || needle.length > 0}
              onClick={() => onSelect(table.id)}
              childrenOffset={16}
              data-testid="tree-table"
            >
              {columns.map((c) => (
                <NavLink
                  component="button"
                  key={c.name}
                  label={c.name}
                  description={c.type}
                  leftSection={<IconDatabase size={12} aria-hidden />}
                  onClick={() => onSelect(table.id)}
                />
              ))}
            </NavLink>
          ))}
        </NavLink>
      ))}
    </nav>
  );
}

function TableDetail({ table }: { table: SourceTable }) {
  const columns = [...table.columns].sort((a, b) => a.ordinal - b.ordinal);
  const [picked, setPicked] = useState<string | null>(null);
  const withValues = columns.filter((c) => (c.profile?.topValues.length ?? 0) > 0);
  const chartColumn = columns.find((c) => c.name === picked) ?? withValues[0] ?? null;
  return (
    <Stack gap="lg" data-testid="table-detail">
      <Card withBorder padding="lg">
        <Group justify="space-between" align="flex-start">
          <div>
            <Title order={2} size="h3">
              {table.schemaName}.{table.tableName}
            </Title>
            <Text size="sm" c="dimmed">
              {table.kind === 'VIEW' ? 'View' : 'Table'} ·{' '}
              {table.rowEstimate != null ? `about ${Math.round(table.rowEstimate).toLocaleString()} rows` : 'row count unknown'}
              {table.rowEstimateSource === 'STATISTICS' ? ' (from the database statistics)' : table.rowEstimateSource === 'EXACT_COUNT' ? ' (counted)' : ''}
            </Text>
            {table.rowEstimateNote && (
              <Text size="xs" c="dimmed">
                {table.rowEstimateNote}
              </Text>
            )}
          </div>
        </Group>
        <Group gap="lg" mt="sm" align="flex-start">
          <div>
            <Text size="xs" c="dimmed" fw={600}>
              PRIMARY KEY
            </Text>
            <Text size="sm">{table.primaryKey.length ? table.primaryKey.join(', ') : 'none'}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed" fw={600}>
              FOREIGN KEYS
            </Text>
            {table.foreignKeys.length === 0 ? (
              <Text size="sm">none</Text>
            ) : (
              table.foreignKeys.map((fk) => (
                <Text size="sm" key={fk.name}>
                  {fk.columns.join(', ')} → {fk.referencedTable} ({fk.referencedColumns.join(', ')})
                </Text>
              ))
            )}
          </div>
        </Group>
      </Card>
      <Card withBorder padding={0}>
        <Table.ScrollContainer minWidth={620} scrollAreaProps={KEYBOARD_SCROLL}>
          <Table verticalSpacing="xs" highlightOnHover data-testid="column-profiles">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Column</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Nulls</Table.Th>
                <Table.Th>Distinct</Table.Th>
                <Table.Th>Min</Table.Th>
                <Table.Th>Max</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {columns.map((c) => {
                const p = c.profile;
                return (
                  <Table.Tr
                    key={c.name}
                    data-testid="column-row"
                    style={{ cursor: 'pointer' }}
                    onClick={() => setPicked(c.name)}
                    bg={chartColumn?.name === c.name ? 'indigo.0' : undefined}
                  >
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {c.name}
                      </Text>
                      {p?.canonicalType && (
                        <Badge size="xs" variant="light" color="grape">
                          {p.canonicalType}
                        </Badge>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {c.type}
                        {c.nullable ? '' : ' not null'}
                      </Text>
                    </Table.Td>
                    <Table.Td>{p ? `${p.nullCount.toLocaleString()} of ${p.sampled.toLocaleString()}` : '—'}</Table.Td>
                    <Table.Td>{p ? `~${p.distinctEstimate.toLocaleString()}` : '—'}</Table.Td>
                    <Table.Td>
                      <Text size="sm" lineClamp={1} maw={140}>
                        {p?.min ?? '—'}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" lineClamp={1} maw={140}>
                        {p?.max ?? '—'}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Card>
      <Card withBorder padding="lg" data-testid="top-values">
        <Title order={3} size="h4" mb="xs">
          Top values{chartColumn ? ` of ${chartColumn.name}` : ''}
        </Title>
        {chartColumn && chartColumn.profile && chartColumn.profile.topValues.length > 0 ? (
          <TopValuesChart values={chartColumn.profile.topValues} label={`Most frequent values of ${chartColumn.name}`} />
        ) : (
          <Text size="sm" c="dimmed">
            {chartColumn ? 'Discovery kept no frequent values for this column.' : 'No column has a value profile. Click a column to see its values.'}
          </Text>
        )}
      </Card>
    </Stack>
  );
}
