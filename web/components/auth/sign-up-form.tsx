'use client';

import { useEffect, useMemo, useState } from 'react';
import { useMutation } from '@urql/next';
import { Controller, useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import {
  Alert,
  Anchor,
  Button,
  Group,
  List,
  NativeSelect,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  ThemeIcon,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { IconCheck, IconX } from '@tabler/icons-react';
import { LoginDocument, SignUpDocument } from '../../lib/documents';
import { startSession } from '../../lib/session';
import { NEW_ORG_PASSWORD_RULES, passwordMeetsRules, slugify } from '../../lib/password-rules';
import { describeRequestError, splitUserErrors } from '../../lib/user-errors';

const FIELDS = ['organizationName', 'slug', 'region', 'timeZone', 'displayName', 'email', 'password'] as const;

const schema = z.object({
  organizationName: z.string().trim().min(1, 'Name your organization.').max(200, 'At most 200 characters.'),
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, '2–63 lowercase letters, digits or dashes, starting with a letter or digit.'),
  region: z.enum(['eu', 'us']),
  timeZone: z.string().min(1, 'Pick a time zone.'),
  displayName: z.string().trim().min(1, 'Enter your name.').max(200, 'At most 200 characters.'),
  email: z.string().trim().email('This is not an e-mail address.'),
  password: z.string().refine(passwordMeetsRules, 'The password does not meet every rule below.'),
});
type Values = z.infer<typeof schema>;

/** IANA zones the browser knows, with UTC (some engines list only Etc/UTC or leave it out). */
function timeZones(): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    // an old engine: UTC and the browser's own zone below
  }
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
}

/**
 * Sign up: creates the organization (name, immutable slug, region, time zone) and its first
 * ADMIN, then signs in with the same credentials. Password rules are checked live; every error
 * the API returns lands on its field.
 */
export function SignUpForm() {
  const [problem, setProblem] = useState<string | null>(null);
  const [slugTouched, setSlugTouched] = useState(false);
  const [, signUp] = useMutation(SignUpDocument);
  const [, login] = useMutation(LoginDocument);
  const zones = useMemo(() => timeZones(), []);
  const form = useForm<Values>({
    resolver: zodResolver(schema),
    mode: 'onTouched',
    defaultValues: { organizationName: '', slug: '', region: 'eu', timeZone: 'UTC', displayName: '', email: '', password: '' },
  });
  const { register, control, setValue, watch, formState } = form;
  const password = watch('password');
  const orgName = watch('organizationName');

  useEffect(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) setValue('timeZone', zone);
  }, [setValue]);
  useEffect(() => {
    if (!slugTouched) setValue('slug', slugify(orgName));
  }, [orgName, slugTouched, setValue]);

  const onSubmit = form.handleSubmit(async (values) => {
    setProblem(null);
    const result = await signUp({ input: values });
    if (result.error) return setProblem(describeRequestError(result.error));
    const answer = result.data!.signUp;
    if (!answer.ok) {
      const { byField, general } = splitUserErrors(answer.errors, FIELDS);
      for (const [field, message] of Object.entries(byField)) form.setError(field as keyof Values, { message });
      if (general.length) setProblem(general.join(' '));
      return;
    }
    const signedIn = await login({ input: { email: values.email, password: values.password } });
    const tokens = signedIn.data?.login;
    if (!tokens?.refreshToken) {
      setProblem('Your organization was created. If this address already had an account, we e-mailed its owner instead. Sign in to continue.');
      return;
    }
    try {
      await startSession(tokens.refreshToken);
      window.location.assign('/');
    } catch (error) {
      setProblem((error as Error).message);
    }
  });

  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack>
        <div>
          <Title order={2} size="h3">
            Create your organization
          </Title>
          <Text size="sm" c="dimmed">
            You become its first admin. You can invite your team afterwards.
          </Text>
        </div>
        {problem && (
          <Alert color="red" title="Sign-up did not finish" role="alert">
            {problem}
          </Alert>
        )}
        <TextInput label="Organization name" {...register('organizationName')} error={formState.errors.organizationName?.message} />
        <TextInput
          label="Slug"
          description="Part of your organization's address. It cannot be changed later."
          {...register('slug', { onChange: () => setSlugTouched(true) })}
          error={formState.errors.slug?.message}
        />
        <SimpleGrid cols={{ base: 1, xs: 2 }}>
          <NativeSelect
            label="Data region"
            data={[
              { value: 'eu', label: 'Europe (eu)' },
              { value: 'us', label: 'United States (us)' },
            ]}
            {...register('region')}
            error={formState.errors.region?.message}
          />
          <Controller
            control={control}
            name="timeZone"
            render={({ field }) => (
              <Select
                label="Time zone"
                searchable
                data={zones.includes(field.value) || !field.value ? zones : [field.value, ...zones]}
                value={field.value}
                onChange={(v) => field.onChange(v ?? '')}
                onBlur={field.onBlur}
                error={formState.errors.timeZone?.message}
                nothingFoundMessage="No such time zone"
              />
            )}
          />
        </SimpleGrid>
        <TextInput label="Your name" autoComplete="name" {...register('displayName')} error={formState.errors.displayName?.message} />
        <TextInput label="Work e-mail" type="email" autoComplete="email" {...register('email')} error={formState.errors.email?.message} />
        <PasswordInput label="Password" autoComplete="new-password" {...register('password')} error={formState.errors.password?.message} />
        <List spacing={4} size="sm" aria-label="Password rules" data-testid="password-rules">
          {NEW_ORG_PASSWORD_RULES.map((rule) => {
            const met = rule.test(password);
            return (
              <List.Item
                key={rule.id}
                data-met={met}
                icon={
                  <ThemeIcon color={met ? 'teal' : 'gray'} size={18} radius="xl" aria-hidden>
                    {met ? <IconCheck size={12} /> : <IconX size={12} />}
                  </ThemeIcon>
                }
              >
                <Text span size="sm" c={met ? 'teal.9' : 'gray.7'}>
                  {rule.label}
                  <VisuallyHidden component="span">{met ? ' (met)' : ' (not met yet)'}</VisuallyHidden>
                </Text>
              </List.Item>
            );
          })}
        </List>
        <Button type="submit" loading={formState.isSubmitting}>
          Create organization
        </Button>
        <Group justify="center" gap={4}>
          <Text size="sm">Already have an account?</Text>
          <Anchor href="/login" size="sm">
            Sign in
          </Anchor>
        </Group>
      </Stack>
    </form>
  );
}
