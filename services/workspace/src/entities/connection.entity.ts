import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Sealed } from '@datalinx/common';

export type ConnectionStatusValue = 'UNTESTED' | 'TESTING' | 'HEALTHY' | 'FAILING';

/** Non-secret connection settings; the password only exists inside `secretSealed`. */
export interface PostgresConfig {
  host: string;
  port: number;
  database: string;
  user: string;
}

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
  kind!: 'SOURCE' | 'DESTINATION';

  @Column('text')
  type!: 'POSTGRES';

  @Column('jsonb')
  config!: PostgresConfig;

  /** AES-256-GCM sealed connection string (AAD = connection id). Never leaves this service in clear. */
  @Column({ name: 'secret_sealed', type: 'jsonb', nullable: true, select: false })
  secretSealed!: Sealed | null;

  @Column({ name: 'secret_updated_at', type: 'timestamptz', nullable: true })
  secretUpdatedAt!: Date | null;

  @Column('text')
  status!: ConnectionStatusValue;

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
