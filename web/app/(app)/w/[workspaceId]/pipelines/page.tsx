import type { Metadata } from 'next';
import { PipelinesPage } from '../../../../../components/pipelines/pipelines-page';

export const metadata: Metadata = { title: 'Pipelines & Runs' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string }> }) {
  const { workspaceId } = await params;
  return <PipelinesPage workspaceId={workspaceId} />;
}
