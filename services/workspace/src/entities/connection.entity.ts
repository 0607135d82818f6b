import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ConnectionConfig, ConnectionType } from '@datalinx/contracts';
import type { WorkspaceSealed } from '../secrets/keyring';

export type ConnectionStatusValue = 'UNTESTED' | 'TESTING' | 'HEALTHY' | 'FAILING';
export type ConnectionKindValue = 'SOURCE' | 'DESTINATION';

@Entity({ name: 'connection' })
export class Connection {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column('text')
  name!: string;

  @Column('text')
  kind!: ConnectionKindValue;

  @Column('text')
  type!: ConnectionType;

  @Column('jsonb')
  config!: ConnectionConfig;

  /**
   * The secrets, sealed; never leaves this service in clear. Current rows: the JSON of
   * `connectionSecrets` under the workspace data key (`kid: 'ws'`, AAD `connection:<id>`).
   * Older rows: the connection string under the master key (no `kid`, AAD = the id).
   */
  @Column({ name: 'secret_sealed', type: 'jsonb', nullable: true, select: false })
  secretSealed!: WorkspaceSealed | null;

  @Column({ name: 'secret_updated_at', type: 'timestamptz', nullable: true })
  secretUpdatedAt!: Date | null;

  @Column('text')
  status!: ConnectionStatusValue;

  /** The status before the current test began (TESTING): tells a HEALTHY → FAILING transition. */
  @Column({ name: 'status_before_test', type: 'text', nullable: true })
  statusBeforeTest!: ConnectionStatusValue | null;

  @Column({ name: 'last_tested_at', type: 'timestamptz', nullable: true })
  lastTestedAt!: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @Column({ name: 'last_test_run_id', type: 'uuid', nullable: true })
  lastTestRunId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
