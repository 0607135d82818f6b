import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The transactional outbox: a service writes its event (or job) here in the same transaction as
 * the change it describes; the relay publishes it to JetStream with msgID = id and marks it sent.
 * The table lives in each service's own schema (the DataSource's default schema).
 */
@Entity({ name: 'outbox' })
@Index('outbox_pending_idx', ['seq'], { where: 'sent_at IS NULL' })
export class OutboxEvent {
  @PrimaryColumn('uuid')
  id!: string;

  /** Commit order within and across transactions (created_at is the same for one transaction). */
  @Column({ type: 'bigint', insert: false, update: false })
  seq!: string;

  @Column('text')
  subject!: string;

  @Column('jsonb')
  payload!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;
}

/** DDL for a service's initial migration (kept here so every service creates the same table). */
export function outboxTableSql(schema: string): { up: string[]; down: string[] } {
  return {
    up: [
      `CREATE TABLE "${schema}".outbox (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        subject text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        last_error text
      )`,
      `CREATE INDEX outbox_pending_idx ON "${schema}".outbox (seq) WHERE sent_at IS NULL`,
    ],
    down: [`DROP TABLE "${schema}".outbox`],
  };
}
