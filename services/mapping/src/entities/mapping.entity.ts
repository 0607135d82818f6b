import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { MappingSpec } from '../spec';

/** How a workspace's sources fill one target table. Tenant columns: org_id, workspace_id. */
@Entity({ name: 'mapping' })
@Index('mapping_org_ws_created_idx', ['orgId', 'workspaceId', 'createdAt', 'id'])
export class Mapping {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column('text')
  name!: string;

  @Column({ name: 'target_table', type: 'text' })
  targetTable!: string;

  /** The TargetTable it fills; null for a mapping recorded by table name that no target schema version named yet. */
  @Column({ name: 'target_table_id', type: 'uuid', nullable: true })
  targetTableId!: string | null;

  /** The current definition (see spec.ts); every change is also a row of mapping_version. */
  @Column({ type: 'jsonb' })
  spec!: MappingSpec;

  @Column('int', { default: 1 })
  version!: number;

  /** Millisecond precision, so a keyset cursor (a JS Date) names a row exactly. */
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}
