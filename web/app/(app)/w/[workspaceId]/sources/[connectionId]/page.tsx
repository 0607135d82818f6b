import type { Metadata } from 'next';
import { SourceBrowser } from '../../../../../../components/sources/source-browser';

export const metadata: Metadata = { title: 'Data Sources' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string; connectionId: string }> }) {
  const { workspaceId, connectionId } = await params;
  return <SourceBrowser workspaceId={workspaceId} connectionId={connectionId} />;
}
