import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AuditActorType, AuditDetails, AuditOutcome } from '@datalinx/contracts';

/** One stored audit event (`monitoring.audit_log`); `id` is the event id. Append-only. */
@Entity({ name: 'audit_log' })
export class AuditEntry {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'org_id', type: 'uuid' })
  orgId!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz', precision: 3 })
  occurredAt!: Date;

  @Column({ name: 'actor_type', type: 'text' })
  actorType!: AuditActorType;

  @Column({ name: 'actor_id', type: 'text', nullable: true })
  actorId!: string | null;

  @Column({ name: 'actor_email', type: 'text', nullable: true })
  actorEmail!: string | null;

  @Column('text')
  action!: string;

  @Column({ name: 'target_type', type: 'text', nullable: true })
  targetType!: string | null;

  @Column({ name: 'target_id', type: 'text', nullable: true })
  targetId!: string | null;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;

  @Column('text')
  outcome!: AuditOutcome;

  @Column('jsonb')
  details!: AuditDetails;

  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}
