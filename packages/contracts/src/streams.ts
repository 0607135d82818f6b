/** Stream layout of ARCHITECTURE.md §6, shared by every publisher and consumer. */
export const STREAMS = {
  JOBS: { name: 'JOBS', subjects: ['jobs.>'], retention: 'workqueue' as const },
  RUNS: { name: 'RUNS', subjects: ['runs.>'], retention: 'limits' as const },
  EVENTS: {
    name: 'EVENTS',
    subjects: ['auth.>', 'workspace.>', 'schema.>', 'mapping.>', 'monitoring.>', 'audit.>'],
    retention: 'limits' as const,
  },
} as const;
export type StreamName = keyof typeof STREAMS;

/**
 * How long RUNS and EVENTS keep a message (JOBS, a work queue, keeps it until acked). Consumers'
 * idempotency ledgers must keep an event id at least this long (monitoring prunes after it).
 */
export const STREAM_MAX_AGE_DAYS = 30;
