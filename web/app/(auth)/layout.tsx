import type { ReactNode } from 'react';
import { Anchor, Box, Center, Group, Paper, Text, Title } from '@mantine/core';

/** Signed-out pages: one centered card with the product name above it. */
export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <Box component="main" mih="100vh" bg="gray.0" py={48} px="md">
      <Center>
        <Box w="100%" maw={480}>
          <Group justify="center" mb="lg">
            <Title order={1} size="h2" c="indigo.8">
              Datalinx
            </Title>
          </Group>
          <Paper withBorder shadow="sm" p="xl" radius="md">
            {children}
          </Paper>
          <Text ta="center" size="sm" c="dimmed" mt="md">
            <Anchor href="/status" c="dimmed" underline="always">
              Platform status
            </Anchor>
          </Text>
        </Box>
      </Center>
    </Box>
  );
}
