import { z } from 'zod';
import { commonEnv, databaseEnv, natsEnv, pem, port } from '@datalinx/common';
import { STREAM_MAX_AGE_DAYS } from '@datalinx/contracts';

export const envSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  MONITORING_PORT: port(4005),
  DLX_ASSERTION_PUBLIC_KEY: pem('DLX_ASSERTION_PUBLIC_KEY'),
  /** Durable consumer name on stream RUNS; every monitoring instance shares it (work is split). */
  RUNS_CONSUMER_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('monitoring-runs'),
  /** Messages handled at once per instance. */
  RUNS_CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  RUNS_CONSUMER_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30000),
  /** Deliveries before an event is given up (with the nak backoff, 20 ≈ 15 min of database outage). */
  RUNS_CONSUMER_MAX_DELIVER: z.coerce.number().int().min(1).default(20),
  /** Durable consumer name on stream EVENTS (filter `audit.>`); every monitoring instance shares it. */
  AUDIT_CONSUMER_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
    .default('monitoring-audit'),
  /** Audit events handled at once per instance. */
  AUDIT_CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  AUDIT_CONSUMER_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30000),
  /** Deliveries before an audit event is given up (database outage); as for RUNS, 20 ≈ 15 min. */
  AUDIT_CONSUMER_MAX_DELIVER: z.coerce.number().int().min(1).default(20),
  /**
   * Days the consumers' idempotency ledger keeps an event id. At least 31: RUNS and EVENTS keep
   * events 30 days, and an id must outlive every delivery of its event.
   */
  CONSUMED_EVENT_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(STREAM_MAX_AGE_DAYS + 1)
    .max(3650)
    .default(STREAM_MAX_AGE_DAYS + 1),
});
export type Env = z.infer<typeof envSchema>;
