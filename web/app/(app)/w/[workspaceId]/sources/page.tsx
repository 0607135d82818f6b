import type { Metadata } from 'next';
import { SourcesIndex } from '../../../../../components/sources/sources-index';

export const metadata: Metadata = { title: 'Data Sources' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { workspaceId } = await params;
  return <SourcesIndex workspaceId={workspaceId} />;
}
