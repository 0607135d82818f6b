import { Column, Entity, PrimaryColumn } from 'typeorm';

export type StepStatusValue = 'SUCCESS' | 'FAILURE' | 'SKIPPED';

/** One step of a run; one row per (run, seq) whatever how many attempts re-ran it. */
@Entity({ name: 'run_step' })
export class RunStep {
  @PrimaryColumn({ name: 'run_id', type: 'uuid' })
  runId!: string;

  @PrimaryColumn('int')
  seq!: number;

  @Column('text')
  name!: string;

  @Column('text')
  status!: StepStatusValue;

  @Column('text')
  message!: string;

  @Column({ name: 'duration_ms', type: 'int' })
  durationMs!: number;

  @Column('int')
  attempt!: number;

  @Column({ type: 'timestamptz' })
  at!: Date;
}
