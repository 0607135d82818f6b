import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type WorkspaceRoleValue = 'EDITOR' | 'VIEWER';

/** A user's role in one workspace (the workspace itself lives in the workspace service). */
@Entity({ name: 'workspace_grant' })
export class WorkspaceGrant {
  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @PrimaryColumn({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column('text')
  role!: WorkspaceRoleValue;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
