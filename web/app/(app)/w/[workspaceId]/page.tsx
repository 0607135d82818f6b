import type { Metadata } from 'next';
import { WorkspaceHome } from '../../../../components/home/workspace-home';

export const metadata: Metadata = { title: 'Home' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { workspaceId } = await params;
  return <WorkspaceHome workspaceId={workspaceId} />;
}
