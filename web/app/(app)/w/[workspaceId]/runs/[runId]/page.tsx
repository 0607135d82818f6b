import type { Metadata } from 'next';
import { RunPage } from '../../../../../../components/pipelines/run-page';

export const metadata: Metadata = { title: 'Run' };

export default async function Page({ params }: { params: Promise<{ workspaceId: string; runId: string }> }) {
  const { workspaceId, runId } = await params;
  return <RunPage workspaceId={workspaceId} runId={runId} />;
}
