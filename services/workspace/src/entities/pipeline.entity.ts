import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PipelineDefinitionV1 } from '@datalinx/contracts';

export type PipelineTrigger = 'SCHEDULE' | 'MANUAL';

/** A pipeline of one workspace (migration Pipelines1764900000000). */
@Entity({ name: 'pipeline' })
export class Pipeline {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column('text')
  name!: string;

  @Column('text')
  description!: string;

  /** Validated with `pipelineDefinitionV1` before every write; the job carries a snapshot of it. */
  @Column('jsonb')
  definition!: PipelineDefinitionV1;

  /** 5-field cron in `timeZone`; null = manual runs only. */
  @Column({ type: 'text', nullable: true })
  schedule!: string | null;

  @Column({ name: 'time_zone', type: 'text' })
  timeZone!: string;

  @Column('boolean')
  enabled!: boolean;

  /** The next cron slot the scheduler fires; null when disabled or unscheduled. */
  @Column({ name: 'next_run_at', type: 'timestamptz', precision: 3, nullable: true })
  nextRunAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz', precision: 3 })
  updatedAt!: Date;
}

/** One dispatched run: the ledger that makes every scheduled slot fire once (UNIQUE pipeline_id, scheduled_for). */
@Entity({ name: 'pipeline_run' })
export class PipelineRun {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column({ name: 'pipeline_id', type: 'uuid' })
  pipelineId!: string;

  @Column('text')
  trigger!: PipelineTrigger;

  @Column({ name: 'scheduled_for', type: 'timestamptz', precision: 3, nullable: true })
  scheduledFor!: Date | null;

  @Column({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column({ name: 'requested_by', type: 'text' })
  requestedBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt!: Date;
}
