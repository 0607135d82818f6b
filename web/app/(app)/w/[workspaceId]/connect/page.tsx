import type { Metadata } from 'next';
import { ConnectionsPage } from '../../../../../components/connect/connections-page';

export const metadata: Metadata = { title: 'Connect' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { workspaceId } = await params;
  return <ConnectionsPage workspaceId={workspaceId} />;
}
