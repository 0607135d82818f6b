'use client';

import { useState } from 'react';
import { useSearchParams } from 'next/navigation';
import { useMutation } from '@urql/next';
import { useForm } from 'react-hook-form';
import { zodResolver } from '@hookform/resolvers/zod';
import { z } from 'zod';
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { CompleteMfaLoginDocument, LoginDocument } from '../../lib/documents';
import { startSession } from '../../lib/session';
import { describeRequestError } from '../../lib/user-errors';

const credentials = z.object({
  email: z.string().trim().min(1, 'Enter your e-mail address.').email('This is not an e-mail address.'),
  password: z.string().min(1, 'Enter your password.'),
});
const mfa = z.object({ code: z.string().trim().min(6, 'Enter the 6-digit code from your app, or a backup code.') });

/** Where to go after signing in: only a path of this app (never another origin). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/**
 * Sign in: e-mail + password, then the second factor when the account has one. The refresh token
 * of the answer goes straight to `/api/auth/session`, which sets the session cookies.
 */
export function LoginForm() {
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const [challenge, setChallenge] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [, login] = useMutation(LoginDocument);
  const [, completeMfa] = useMutation(CompleteMfaLoginDocument);
  const form = useForm<z.infer<typeof credentials>>({ resolver: zodResolver(credentials), defaultValues: { email: '', password: '' } });
  const mfaForm = useForm<z.infer<typeof mfa>>({ resolver: zodResolver(mfa), defaultValues: { code: '' } });

  const finish = async (refreshToken: string) => {
    await startSession(refreshToken);
    window.location.assign(next);
  };

  const onCredentials = form.handleSubmit(async (values) => {
    setProblem(null);
    const result = await login({ input: values });
    if (result.error) return setProblem(describeRequestError(result.error));
    const answer = result.data!.login;
    if (answer.errors.length > 0) return setProblem(answer.errors.map((e) => e.message).join(' '));
    if (answer.mfaRequired && answer.challengeToken) {
      setChallenge(answer.challengeToken);
      return;
    }
    if (answer.mfaEnrollmentRequired) {
      return setProblem(
        'Your organization requires two-factor authentication for admins and your account has none yet. Ask another admin to turn the rule off for you, then set it up in your profile.',
      );
    }
    if (answer.passwordChangeRequired) {
      return setProblem('Your password has expired. Reset it with “Forgot your password?” from the e-mail link, then sign in again.');
    }
    if (!answer.refreshToken) return setProblem('The sign-in gave no session. Try again.');
    try {
      await finish(answer.refreshToken);
    } catch (error) {
      setProblem((error as Error).message);
    }
  });

  const onCode = mfaForm.handleSubmit(async ({ code }) => {
    setProblem(null);
    const result = await completeMfa({ challengeToken: challenge!, code });
    if (result.error) return setProblem(describeRequestError(result.error));
    const answer = result.data!.completeMfaLogin;
    if (answer.errors.length > 0) {
      if (answer.errors.some((e) => e.code === 'MFA_CHALLENGE_INVALID')) setChallenge(null);
      return mfaForm.setError('code', { message: answer.errors.map((e) => e.message).join(' ') });
    }
    if (!answer.refreshToken) return setProblem('The sign-in gave no session. Try again.');
    try {
      await finish(answer.refreshToken);
    } catch (error) {
      setProblem((error as Error).message);
    }
  });

  if (challenge) {
    return (
      <form onSubmit={onCode} noValidate>
        <Stack>
          <Title order={2} size="h3">
            Two-factor authentication
          </Title>
          <Text size="sm" c="dimmed">
            Enter the code your authenticator app shows for Datalinx, or one of your backup codes.
          </Text>
          {problem && (
            <Alert color="red" title="Sign-in failed" role="alert">
              {problem}
            </Alert>
          )}
          <TextInput
            label="Code"
            autoComplete="one-time-code"
            inputMode="numeric"
            autoFocus
            {...mfaForm.register('code')}
            error={mfaForm.formState.errors.code?.message}
          />
          <Button type="submit" loading={mfaForm.formState.isSubmitting}>
            Verify and sign in
          </Button>
          <Anchor component="button" type="button" size="sm" onClick={() => setChallenge(null)}>
            Use another account
          </Anchor>
        </Stack>
      </form>
    );
  }

  return (
    <form onSubmit={onCredentials} noValidate>
      <Stack>
        <Title order={2} size="h3">
          Sign in
        </Title>
        {problem && (
          <Alert color="red" title="Sign-in failed" role="alert">
            {problem}
          </Alert>
        )}
        <TextInput label="E-mail" type="email" autoComplete="username" {...form.register('email')} error={form.formState.errors.email?.message} />
        <PasswordInput label="Password" autoComplete="current-password" {...form.register('password')} error={form.formState.errors.password?.message} />
        <Button type="submit" loading={form.formState.isSubmitting}>
          Sign in
        </Button>
        <Text size="sm" ta="center">
          New to Datalinx? <Anchor href="/signup">Create an organization</Anchor>
        </Text>
      </Stack>
    </form>
  );
}
