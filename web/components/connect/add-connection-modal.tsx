'use client';

import { useState } from 'react';
import { useMutation } from '@urql/next';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Alert, Button, Checkbox, Group, Modal, NativeSelect, PasswordInput, SegmentedControl, SimpleGrid, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { CreateConnectionDocument } from '../../lib/documents';
import { describeRequestError, splitUserErrors } from '../../lib/user-errors';

const FIELDS = ['name', 'host', 'port', 'database', 'user', 'password', 'sslMode', 'schema', 'ssl'] as const;
type Kind = 'POSTGRES' | 'MYSQL';

const schema = z.object({
  name: z.string().trim().min(1, 'Name the connection.').max(100, 'At most 100 characters.'),
  host: z.string().trim().min(1, 'Enter the host name or address.'),
  port: z.coerce.number().int('A whole number.').min(1, '1–65535.').max(65535, '1–65535.'),
  database: z.string().trim().min(1, 'Enter the database name.'),
  user: z.string().trim().min(1, 'Enter the user to sign in as.'),
  password: z.string(),
  sslMode: z.enum(['DISABLE', 'PREFER', 'REQUIRE', 'VERIFY_FULL']),
  schema: z.string().trim(),
  ssl: z.boolean(),
});
type Values = z.infer<typeof schema>;
const DEFAULTS: Values = { name: '', host: '', port: 5432, database: '', user: '', password: '', sslMode: 'PREFER', schema: '', ssl: false };

/**
 * Adds a PostgreSQL or MySQL source. The API validates everything again; each of its errors is
 * shown on the field it names (`UserError.field`, e.g. `config.postgres.port`).
 */
export function AddConnectionModal({
  workspaceId,
  opened,
  onClose,
  onCreated,
}: {
  workspaceId: string;
  opened: boolean;
  onClose: () => void;
  onCreated: (id: string) => void;
}) {
  const [kind, setKind] = useState<Kind>('POSTGRES');
  const [problem, setProblem] = useState<string | null>(null);
  const [, create] = useMutation(CreateConnectionDocument);
  const form = useForm<z.input<typeof schema>, unknown, Values>({ resolver: zodResolver(schema), defaultValues: DEFAULTS });
  const { register, formState } = form;
  const close = () => {
    form.reset(DEFAULTS);
    setKind('POSTGRES');
    setProblem(null);
    onClose();
  };
  const onSubmit = form.handleSubmit(async (v) => {
    setProblem(null);
    const base = { host: v.host, port: v.port, database: v.database, user: v.user };
    const res = await create({
      input: {
        workspaceId,
        name: v.name,
        kind: 'SOURCE',
        type: kind,
        ...(kind === 'POSTGRES' ? { postgres: { ...base, sslMode: v.sslMode, schema: v.schema || null } } : { mysql: { ...base, ssl: v.ssl } }),
        ...(v.password ? { secrets: { password: v.password } } : {}),
      },
    });
    if (res.error) return setProblem(describeRequestError(res.error));
    const answer = res.data!.createConnection;
    if (answer.errors.length || !answer.connection) {
      const { byField, general } = splitUserErrors(answer.errors, FIELDS, { secrets: 'password' });
      for (const [field, message] of Object.entries(byField)) form.setError(field as keyof Values, { message });
      if (general.length) setProblem(general.join(' '));
      return;
    }
    notifications.show({ color: 'teal', title: 'Connection added', message: `Test ${answer.connection.name} to check that Datalinx can reach it.` });
    onCreated(answer.connection.id);
    close();
  });

  return (
    <Modal opened={opened} onClose={close} title="Add a connection" size="lg">
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <SegmentedControl
            aria-label="Database type"
            value={kind}
            onChange={(value) => {
              setKind(value as Kind);
              form.setValue('port', value === 'MYSQL' ? 3306 : 5432);
            }}
            data={[
              { value: 'POSTGRES', label: 'PostgreSQL' },
              { value: 'MYSQL', label: 'MySQL / MariaDB' },
            ]}
          />
          {problem && (
            <Alert color="red" role="alert" title="The connection was not added">
              {problem}
            </Alert>
          )}
          <TextInput
            label="Name"
            description="How this source is called in Datalinx."
            data-autofocus
            {...register('name')}
            error={formState.errors.name?.message}
          />
          <SimpleGrid cols={{ base: 1, xs: 3 }}>
            <TextInput label="Host" placeholder="db.internal" {...register('host')} error={formState.errors.host?.message} style={{ gridColumn: 'span 2' }} />
            <TextInput label="Port" inputMode="numeric" {...register('port')} error={formState.errors.port?.message} />
          </SimpleGrid>
          <SimpleGrid cols={{ base: 1, xs: 2 }}>
            <TextInput label="Database" {...register('database')} error={formState.errors.database?.message} />
            <TextInput label="User" autoComplete="off" {...register('user')} error={formState.errors.user?.message} />
          </SimpleGrid>
          <PasswordInput
            label="Password"
            description="Stored encrypted; never shown again."
            autoComplete="new-password"
            {...register('password')}
            error={formState.errors.password?.message}
          />
          {kind === 'POSTGRES' ? (
            <SimpleGrid cols={{ base: 1, xs: 2 }}>
              <NativeSelect
                label="TLS"
                data={[
                  { value: 'PREFER', label: 'Prefer TLS' },
                  { value: 'REQUIRE', label: 'Require TLS' },
                  { value: 'VERIFY_FULL', label: 'Require TLS, verify the certificate' },
                  { value: 'DISABLE', label: 'No TLS' },
                ]}
                {...register('sslMode')}
                error={formState.errors.sslMode?.message}
              />
              <TextInput label="Schema (optional)" placeholder="All schemas" {...register('schema')} error={formState.errors.schema?.message} />
            </SimpleGrid>
          ) : (
            <Checkbox label="Use TLS" {...register('ssl')} />
          )}
          <Text size="xs" c="dimmed">
            Use a read-only user: Datalinx only reads the source.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={formState.isSubmitting}>
              Add connection
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
