import type { ReactNode } from 'react';
import { WorkspaceScope } from '../../../../components/shell/workspace-scope';

export default async function WorkspaceLayout({ children, params }: { children: ReactNode; params: Promise<{ workspaceId: string }> }) {
  const { workspaceId } = await params;
  return <WorkspaceScope workspaceId={workspaceId}>{children}</WorkspaceScope>;
}
