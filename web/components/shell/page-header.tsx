import type { ReactNode } from 'react';
import Link from 'next/link';
import { Anchor, Breadcrumbs, Group, Stack, Text, Title } from '@mantine/core';

export interface Crumb {
  label: string;
  href?: string;
}

/** A page's breadcrumbs, title, one-line description and main actions. */
export function PageHeader({ crumbs, title, description, actions }: { crumbs: Crumb[]; title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <Stack gap={6} mb="lg">
      <Breadcrumbs aria-label="Breadcrumbs" separatorMargin={6}>
        {crumbs.map((c, i) =>
          c.href ? (
            <Anchor key={i} component={Link} href={c.href} size="sm">
              {c.label}
            </Anchor>
          ) : (
            <Text key={i} size="sm" c="dimmed" aria-current="page">
              {c.label}
            </Text>
          ),
        )}
      </Breadcrumbs>
      <Group justify="space-between" align="flex-start" gap="sm">
        <div style={{ minWidth: 0, flex: '1 1 320px' }}>
          <Title order={1} size="h2">
            {title}
          </Title>
          {description && (
            <Text c="dimmed" size="sm" mt={4}>
              {description}
            </Text>
          )}
        </div>
        {actions && <Group gap="sm">{actions}</Group>}
      </Group>
    </Stack>
  );
}
