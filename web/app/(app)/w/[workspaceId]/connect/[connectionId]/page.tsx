import type { Metadata } from 'next';
import { ConnectionPage } from '../../../../../../components/connect/connection-page';

export const metadata: Metadata = { title: 'Connection' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string; connectionId: string }> }) {
  const { workspaceId, connectionId } = await params;
  return <ConnectionPage workspaceId={workspaceId} connectionId={connectionId} />;
}
