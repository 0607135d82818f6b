import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Ids of RUNS events already applied: the idempotency key of the run-events consumer. */
@Entity({ name: 'consumed_event' })
export class ConsumedEvent {
  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ name: 'consumed_at', type: 'timestamptz' })
  consumedAt!: Date;
}
