import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { RunState } from '@datalinx/contracts';

/** A run as recorded from the RUNS stream; `id` is the run id the control plane assigned. */
@Entity({ name: 'run' })
@Index('run_ws_created_idx', ['orgId', 'workspaceId', 'createdAt', 'id'])
export class Run {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'workspace_id', type: 'uuid' })
  workspaceId!: string;

  @Column({ name: 'job_id', type: 'uuid' })
  jobId!: string;

  @Column('text')
  kind!: string;

  @Column({ name: 'subject_id', type: 'text' })
  subjectId!: string;

  @Column('text')
  state!: RunState;

  @Column('int')
  attempts!: number;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ type: 'text', nullable: true })
  summary!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The Dagster run that executed this run (pipeline runs), and its page in the Dagster UI. */
  @Column({ name: 'dagster_run_id', type: 'text', nullable: true })
  dagsterRunId!: string | null;

  @Column({ name: 'dagster_run_url', type: 'text', nullable: true })
  dagsterRunUrl!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
